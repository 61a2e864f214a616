"""The synthetic generator as a source like the others: one input per (n, seed, fs, seconds) setting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ecg_core.records import ECGRecord
from ecg_core.sources.reader import Input
from ecg_core.synth import synthesize_records


@dataclass
class SyntheticSource:
    n_records: int = 500
    seed: int = 0
    fs: float = 500.0
    seconds: float = 10.0
    name: str = "synthetic"

    def inputs(self, root: Path | None = None) -> Iterator[Input]:
        # No files: the settings are the input, so the same settings are "unchanged" on a re-run.
        yield Input(key=f"n{self.n_records}-seed{self.seed}-fs{self.fs:g}-s{self.seconds:g}", files=())

    def read(self, item: Input) -> Iterator[ECGRecord]:
        yield from synthesize_records(self.n_records, seed=self.seed, fs=self.fs, seconds=self.seconds)
