"""Print settings of one ECG printout: layout, paper speed, gain, paper size and colour, resolution.

Every option is checked when the settings are made; a bad value is rejected with the allowed values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecg_core.records import LEADS

LAYOUTS = ("3x4", "3x4+1", "3x4+3", "6x2", "12x1")
# Rhythm strips each layout prints below its grid, unless the settings name others.
DEFAULT_RHYTHM_LEADS = {"3x4": (), "3x4+1": ("II",), "3x4+3": ("II", "V1", "V5"), "6x2": (), "12x1": ()}
SPEEDS_MM_S = (25.0, 50.0)
GAINS_MM_MV = (5.0, 10.0, 20.0)
PAPER_SIZES_MM = {"a4": (297.0, 210.0), "letter": (279.4, 215.9)}  # landscape: width, height
GRIDS = ("red", "orange", "green", "blue", "grey", "none")
MAX_DPI = 600.0  # a 600 dpi A4 page is already 35 Mpx


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


@dataclass(frozen=True)
class PrintSettings:
    layout: str = "3x4+1"
    rhythm_leads: tuple[str, ...] | None = None  # None: the layout's default (II; or II, V1, V5)
    speed_mm_s: float = 25.0  # 25 mm/s shows 10 s across the page, 50 mm/s shows 5 s
    gain_mm_mv: float = 10.0
    paper_size: str = "a4"
    grid: str = "red"  # 1 mm / 5 mm grid colour, or "none" for plain white paper
    monochrome: bool = False  # a black-and-white print or photocopy: every colour turned grey
    dpi: float = 200.0
    header: bool = True  # print the record's id, age, sex and date above the traces

    def __post_init__(self):
        check_choice("layout", self.layout, LAYOUTS)
        check_choice("speed_mm_s", float(self.speed_mm_s), SPEEDS_MM_S)
        check_choice("gain_mm_mv", float(self.gain_mm_mv), GAINS_MM_MV)
        check_choice("paper_size", self.paper_size, tuple(PAPER_SIZES_MM))
        check_choice("grid", self.grid, GRIDS)
        if not (isinstance(self.dpi, (int, float)) and math.isfinite(self.dpi) and 0 < self.dpi <= MAX_DPI):
            raise ValueError(f"dpi must be a number in (0, {MAX_DPI:g}]; got {self.dpi!r}")
        if self.rhythm_leads is not None:
            object.__setattr__(self, "rhythm_leads", tuple(self.rhythm_leads))
            for lead in self.rhythm_leads:
                check_choice("rhythm lead", lead, LEADS)
            wanted = len(DEFAULT_RHYTHM_LEADS[self.layout])
            if len(self.rhythm_leads) != wanted:
                raise ValueError(
                    f"layout {self.layout} prints {wanted} rhythm strip(s); got rhythm_leads {self.rhythm_leads}"
                )

    @property
    def strips(self) -> tuple[str, ...]:
        return DEFAULT_RHYTHM_LEADS[self.layout] if self.rhythm_leads is None else self.rhythm_leads
