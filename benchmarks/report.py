"""Shared ending of every benchmark: save the figures under benchmarks/results/ and print them as the
last line, one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def save_and_print(name: str, figures: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
