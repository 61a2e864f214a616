"""Shared ending of every benchmark: save the figures under benchmarks/results/ and print them as the
last line, one JSON object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def test_fixtures():
    """The repository's real files (tests/fixtures): a benchmark runs as a script, beside the tests' package."""
    sys.path.append(str(REPO))
    import tests.fixtures

    return tests.fixtures


def llama_files() -> Path:
    """The real Llama 3.2 11B Vision Instruct files but the weights (tokenizer, template, processor): the
    repository's test fixture, written out once as a model folder under .cache/ (git-ignored)."""
    return test_fixtures().llama32_vision_files(REPO / ".cache" / "llama32-vision")


def save_and_print(name: str, figures: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
