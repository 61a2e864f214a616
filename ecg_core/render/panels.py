"""Printout layouts as data: which lead each panel shows, which record time window, and which row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ecg_core.records import LEADS


@dataclass(frozen=True)
class Panel:
    """One lead's trace on one row of the page."""

    lead: str
    row: int  # 0 = top row
    t_start: float  # record seconds shown, [t_start, t_end)
    t_end: float
    paper_start: float  # seconds of paper from the left edge of the trace area to where t_start is drawn
    rhythm: bool = False  # a strip of one lead across the page, as opposed to a column panel


@dataclass(frozen=True)
class Layout:
    name: str
    n_rows: int
    paper_seconds: float  # width of the trace area, in seconds of paper
    panels: tuple[Panel, ...]


# Column-major lead groups: the 3x4 grid reads down each column, each column a consecutive window.
GRID_3X4: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III"),
    ("aVR", "aVL", "aVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
GRID_6X2: tuple[tuple[str, ...], ...] = (LEADS[:6], LEADS[6:])
GRID_12X1: tuple[tuple[str, ...], ...] = (LEADS,)
GRIDS = {"3x4": GRID_3X4, "6x2": GRID_6X2, "12x1": GRID_12X1}


@cache
def layout(name: str, paper_seconds: float, strips: tuple[str, ...] = ()) -> Layout:
    """A grid of columns, each its own consecutive window of paper_seconds / n_columns, then one
    full-width rhythm strip per lead in `strips`. `name` is the grid part ("3x4", "6x2", "12x1");
    settings validate names and leads before they get here."""
    columns = GRIDS[name.partition("+")[0]]
    column_s = paper_seconds / len(columns)
    panels = [
        Panel(lead, row, col * column_s, (col + 1) * column_s, col * column_s)
        for col, leads in enumerate(columns)
        for row, lead in enumerate(leads)
    ]
    n_grid_rows = len(columns[0])
    panels += [Panel(lead, n_grid_rows + k, 0.0, paper_seconds, 0.0, rhythm=True) for k, lead in enumerate(strips)]
    return Layout(name, n_grid_rows + len(strips), paper_seconds, tuple(panels))
