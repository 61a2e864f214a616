"""Waiting on real processes, servers and files in the ops tests: poll, and fail naming what never happened."""

from __future__ import annotations

import time


def wait_for(condition, timeout: float, what: str, every: float = 0.2) -> float:
    """Seconds until `condition()` held; an assertion naming `what` once `timeout` passed without it."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(every)
    return time.monotonic() - started
