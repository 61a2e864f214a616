"""Numbers from metadata cells (CSV fields, header comments, HDF5 ids), where a blank, malformed or
non-finite value means "not recorded" rather than an error."""

from __future__ import annotations

import math


def as_float(value) -> float | None:
    """The finite number `value` spells ("56", "56.0", 56), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_int(value) -> int | None:
    """A whole number, also when written as a float ("15709.0": pandas writes id columns so), else None."""
    number = as_float(value)
    return int(number) if number is not None and number == int(number) else None
