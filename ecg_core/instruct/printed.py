"""Instruction samples on freshly printed synthetic ECGs, without a store: for benchmarks and tests that need
real pages and the paper's two questions (superclasses, report) but not the pipeline around them."""

from __future__ import annotations

from pathlib import Path

from ecg_core import layout
from ecg_core.instruct.build import build_samples
from ecg_core.render import PrintSettings, encode, render_ecg
from ecg_core.render.encode import EXTENSIONS
from ecg_core.synth import synthesize_records


def printed_samples(
    root: str | Path, n_records: int, *, dpi: float = 100.0, fs: float = 500.0, seed: int = 0
) -> list[dict]:
    """Print `n_records` synthetic ECGs as 3x4+1 pages under root as in a store (A4 landscape: 1169 x 827 px at 100 dpi)
    and return their open-style superclass and report samples, image paths relative to `root`."""
    root = Path(root)
    records = synthesize_records(n_records, seed=seed, fs=fs)
    images = {}
    for record in records:
        data, fmt = encode(render_ecg(record.signal, record.fs, PrintSettings(layout="3x4+1", dpi=dpi)))
        key = layout.image_key(record.dataset, record.record_id, 0, EXTENSIONS[fmt])
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
        images[record.record_id] = [key]
    samples = build_samples(records, ["abnormality_detection", "report_generation"], images).samples
    return [s for s in samples if s["style"] == "open"]
