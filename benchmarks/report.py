"""Shared ending of every benchmark: save the figures under benchmarks/results/ and print them as the
last line, one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# The real Llama 3.2 11B Vision Instruct files but the weights (tokenizer, template, processor), beside the project.
LLAMA_FILES = Path(__file__).resolve().parents[2] / "shared" / "llama32-vision"


def save_and_print(name: str, figures: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
