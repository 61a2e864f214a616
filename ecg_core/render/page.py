"""Real-size page geometry: paper size, margins, row baselines and the trace area in mm, and mm -> pixels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ecg_core.render.panels import Layout, Panel, layout
from ecg_core.render.print_settings import PAPER_SIZES_MM, PrintSettings

MM_PER_INCH = 25.4
TRACE_AREA_MM = 250.0  # 10 s at 25 mm/s, as on standard printouts; 5 s at 50 mm/s
CALIBRATION_PULSE_S = 0.2
CALIBRATION_LEAD_MM = 2.5  # baseline drawn before and after the pulse
HEADER_MM = 18.0  # band above the first row: printed header
FOOTER_MM = 12.0  # band below the last row: speed / gain line
ABOVE_BASELINE_SHARE = 0.55  # of a row's height; R waves reach further up than S waves down
NOTE_ABOVE_BOTTOM_MM = 8.0
HEADER_TOP_MM = 4.0
LINE_SPACING_MM = 4.5


@dataclass(frozen=True)
class Page:
    settings: PrintSettings

    @cached_property
    def layout(self) -> Layout:
        s = self.settings
        return layout(s.layout, TRACE_AREA_MM / s.speed_mm_s, s.strips)

    @property
    def speed_mm_s(self) -> float:
        return float(self.settings.speed_mm_s)

    @property
    def gain_mm_mv(self) -> float:
        return float(self.settings.gain_mm_mv)

    @property
    def px_per_mm(self) -> float:
        return self.settings.dpi / MM_PER_INCH

    @property
    def width_mm(self) -> float:
        return PAPER_SIZES_MM[self.settings.paper_size][0]

    @property
    def height_mm(self) -> float:
        return PAPER_SIZES_MM[self.settings.paper_size][1]

    @property
    def size_px(self) -> tuple[int, int]:
        return self.px(self.width_mm), self.px(self.height_mm)

    @property
    def calibration_zone_mm(self) -> float:
        return CALIBRATION_PULSE_S * self.speed_mm_s + 2 * CALIBRATION_LEAD_MM

    @property
    def calibration_x_mm(self) -> float:
        """Left edge of the calibration zone: the zone plus the trace area are centred on the page."""
        return (self.width_mm - TRACE_AREA_MM - self.calibration_zone_mm) / 2

    @property
    def trace_x_mm(self) -> float:
        return self.calibration_x_mm + self.calibration_zone_mm

    @property
    def row_pitch_mm(self) -> float:
        return (self.height_mm - HEADER_MM - FOOTER_MM) / self.layout.n_rows

    def baseline_mm(self, row: int) -> float:
        """Row baselines on whole millimetres, so they sit on grid lines."""
        return float(round(HEADER_MM + (row + ABOVE_BASELINE_SHARE) * self.row_pitch_mm))

    def panel_x_mm(self, panel: Panel, t):
        """Where record time t (s, scalar or array) of this panel lands horizontally, in mm."""
        return self.trace_x_mm + (panel.paper_start + t - panel.t_start) * self.speed_mm_s

    def px(self, mm: float) -> int:
        return round(mm * self.px_per_mm)
