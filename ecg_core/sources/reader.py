"""What every reader implements: list its inputs, then read one input into records or rejects.

An *input* is the unit a fingerprint covers (a WFDB record = header + signal file, an HDF5 part, a JSON
file): the ingest layer fingerprints each input and asks the reader to read only new or changed ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ecg_core.record_store import Rejected
from ecg_core.records import ECGRecord

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Input:
    key: str  # stable identity within the source, e.g. "records500/06000/06000_hr"
    files: tuple[Path, ...]  # the files the input is read from (their size and mtime make the fingerprint)

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.key.encode())
        for f in self.files:
            # A missing file still fingerprints (as missing), so the reader gets to reject it with a reason
            # and a later run notices when it appears.
            try:
                stat = f.stat()
                state = f"{stat.st_size}:{stat.st_mtime_ns}"
            except FileNotFoundError:
                state = "missing"
            h.update(f"{f.name}:{state}".encode())
        return h.hexdigest()[:16]


class Source(Protocol):
    name: str  # the dataset name records are stored under: records/<name>/

    def inputs(self, root: Path) -> Iterator[Input]: ...

    def read(self, item: Input) -> Iterator[ECGRecord | Rejected]: ...


def check_record_id(record_id: str) -> str | None:
    """None when the id is safe as a store key component, else the reason it is not."""
    if not _SAFE_ID.fullmatch(record_id) or ".." in record_id:
        return f"record id {record_id!r} contains path or unsafe characters"
    return None
