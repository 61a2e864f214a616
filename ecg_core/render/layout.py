"""Printout layouts as data: which lead each panel shows, which record time window, and where on the page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ecg_core.records import LEADS


@dataclass(frozen=True)
class Panel:
    """One lead's trace on one row of the page."""

    lead: str
    row: int  # 0 = top row
    t_start: float  # record seconds shown, [t_start, t_end)
    t_end: float
    paper_start: float  # seconds of paper from the left edge of the trace area to where t_start is drawn
    rhythm: bool = False  # a long strip of one lead, as opposed to a short column panel


@dataclass(frozen=True)
class Layout:
    name: str
    n_rows: int
    paper_seconds: float  # width of the trace area, in seconds of paper
    panels: tuple[Panel, ...]


# Row-major grid of the standard printout: each column is one consecutive 2.5 s window.
STANDARD_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
STANDARD_SECONDS = 10.0


@lru_cache(maxsize=None)
def standard_3x4(rhythm_lead: str = "II") -> Layout:
    """3 rows x 4 columns of 2.5 s each, plus a full-width 10 s rhythm strip as the 4th row."""
    if rhythm_lead not in LEADS:
        raise ValueError(f"rhythm_lead must be one of {', '.join(LEADS)}; got {rhythm_lead!r}")
    column_s = STANDARD_SECONDS / len(STANDARD_COLUMNS[0])
    panels = [
        Panel(lead, row, col * column_s, (col + 1) * column_s, col * column_s)
        for row, leads in enumerate(STANDARD_COLUMNS)
        for col, lead in enumerate(leads)
    ]
    panels.append(Panel(rhythm_lead, len(STANDARD_COLUMNS), 0.0, STANDARD_SECONDS, 0.0, rhythm=True))
    return Layout(f"3x4+{rhythm_lead}", len(STANDARD_COLUMNS) + 1, STANDARD_SECONDS, tuple(panels))
