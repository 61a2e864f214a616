"""What every benchmark shares: the repository's real files, read as data from tests/fixtures, and its ending:
the figures saved under benchmarks/results/ and printed as the last line, one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
REALDATA = REPO / "tests" / "fixtures" / "realdata"  # real recordings and PTB-XL metadata
LLAMA32_VISION = REPO / "tests" / "fixtures" / "llama32-vision"  # the real files but the weights, tokenizer xz-packed


def llama_files() -> Path:
    """The real Llama 3.2 11B Vision Instruct files but the weights (tokenizer, template, processor), written out
    once as a model folder under .cache/ (git-ignored)."""
    # Imported here, not above: torch comes with it, and a benchmark without a model (ingest measures its peak
    # memory) must not carry it.
    from ecg_core.model.shrunk import unpack_real_files

    return unpack_real_files(LLAMA32_VISION, REPO / ".cache" / "llama32-vision")


def save_and_print(name: str, figures: dict, quick: bool = False) -> None:
    """Save under benchmarks/results/<name>.json (a `--quick` run's under <name>_quick.json, apart from the full
    run's figures) and print them as one JSON line."""
    name += "_quick" if quick else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
