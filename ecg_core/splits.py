"""Patient-level train/val/test splits: no patient's recordings ever land in two splits."""

from __future__ import annotations

import hashlib

DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def split_of_patient(patient_id: str, fractions: dict[str, float] = DEFAULT_FRACTIONS, seed: int = 0) -> str:
    """Split by a hash of (seed, patient id): stable across runs, shards and machines, no shared state."""
    digest = hashlib.sha256(f"{seed}:{patient_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(fractions.values())
    edge = 0.0
    for name, fraction in fractions.items():
        edge += fraction / total
        if u < edge:
            return name
    return name  # u rounds onto the last edge
