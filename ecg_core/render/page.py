"""Real-size page geometry: margins, row baselines and the trace area in mm, and the mm -> pixel mapping."""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core.render.layout import Layout, Panel

MM_PER_INCH = 25.4
SIDE_MARGIN_MM = 10.0
# Calibration pulses sit in a zone left of the traces, 0.4 s of paper wide (10 mm at 25 mm/s).
CALIBRATION_ZONE_S = 0.4
CALIBRATION_PULSE_S = 0.2
# Baselines on 5 mm major lines, 45 mm apart: +-2 mV (20 mm) excursions of adjacent rows never meet,
# and the first baseline leaves room above it for the header and a tall R wave.
FIRST_BASELINE_MM = 35.0
ROW_PITCH_MM = 45.0
BELOW_LAST_BASELINE_MM = 30.0  # room for deep S waves plus the speed/gain line
ROW_ABOVE_BASELINE_MM = 25.0  # a row's band for its bounding box: 25 mm up, 20 mm down
ROW_BELOW_BASELINE_MM = ROW_PITCH_MM - ROW_ABOVE_BASELINE_MM


@dataclass(frozen=True)
class Page:
    layout: Layout
    speed_mm_s: float
    gain_mm_mv: float
    px_per_mm: float

    @property
    def calibration_x_mm(self) -> float:
        return SIDE_MARGIN_MM

    @property
    def trace_x_mm(self) -> float:
        return SIDE_MARGIN_MM + CALIBRATION_ZONE_S * self.speed_mm_s

    @property
    def width_mm(self) -> float:
        return self.trace_x_mm + self.layout.paper_seconds * self.speed_mm_s + SIDE_MARGIN_MM

    @property
    def height_mm(self) -> float:
        return self.baseline_mm(self.layout.n_rows - 1) + BELOW_LAST_BASELINE_MM

    @property
    def size_px(self) -> tuple[int, int]:
        return self.px(self.width_mm), self.px(self.height_mm)

    def baseline_mm(self, row: int) -> float:
        return FIRST_BASELINE_MM + row * ROW_PITCH_MM

    def panel_x_mm(self, panel: Panel, t):
        """Where record time t (s, scalar or array) of this panel lands horizontally, in mm."""
        return self.trace_x_mm + (panel.paper_start + t - panel.t_start) * self.speed_mm_s

    def px(self, mm: float) -> int:
        return round(mm * self.px_per_mm)
