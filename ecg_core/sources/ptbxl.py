"""PTB-XL reader: the PhysioNet folder as published (`ptbxl_database.csv`, `scp_statements.csv`,
`records100/`, `records500/`).

One input per database row (key = the row's `filename_hr` or `filename_lr`). The CSV is streamed and each
input carries only the few metadata columns the reader needs (no signals), so listing all 21,799 rows is
cheap; signals are read one record at a time in `read()`.

Labels follow the PTB-XL benchmark (Wagner et al. 2020, Strodthoff et al. 2021): `scp_codes` (a Python-dict
string, code -> likelihood) is kept as is in `labels`; superclasses/subclasses aggregate every *diagnostic*
statement of the folder's own `scp_statements.csv` whatever its likelihood (`diagnostic_class`,
`diagnostic_subclass`). The official split comes from `strat_fold` (1-8 train, 9 val, 10 test).
`recording_date` becomes `extra["recorded_at"]`, the date a printout's header shows.

Signals are NOT resampled: the two published rates (100 Hz `records100`, 500 Hz `records500`) are the
benchmark's inputs, and downstream stages read `record.fs`; choose one with `sampling_rate`.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import numpy as np

from ecg_core.errors import MissingInput
from ecg_core.labels import SUPERCLASSES
from ecg_core.ptbxl_reports.translate import report_language
from ecg_core.record_store import Rejected
from ecg_core.records import ECGRecord
from ecg_core.sources.canonical import to_canonical_leads
from ecg_core.sources.reader import Input, check_record_id
from ecg_core.sources.values import as_float, as_int
from ecg_core.sources.wfdb_header import open_record, read_millivolts

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"
_QUALITY_COLUMNS = (
    "heart_axis",
    "baseline_drift",
    "static_noise",
    "burst_noise",
    "electrodes_problems",
    "extra_beats",
    "pacemaker",
)
# The columns an input carries from its database row (everything else stays on disk).
ROW_COLUMNS = (
    "ecg_id",
    "patient_id",
    "age",
    "sex",
    "report",
    "scp_codes",
    "strat_fold",
    "filename_lr",
    "filename_hr",
    "recording_date",
    *_QUALITY_COLUMNS,
)
FOLD_SPLITS = {**{f: "train" for f in range(1, 9)}, 9: "val", 10: "test"}
# PTB-XL stores the age of patients older than 89 as 300 (HIPAA); we store 90 and say so in a note.
AGE_OVER_89 = 300


def _flag(value: str | None) -> bool:
    return as_float(value) == 1.0


def read_scp_statements(path: Path | str) -> dict[str, dict]:
    """`scp_statements.csv` -> {code: {description, diagnostic, form, rhythm, diagnostic_class, diagnostic_subclass}}."""
    out: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        first = reader.fieldnames[0] if reader.fieldnames else ""
        code_col = "abbreviation" if "abbreviation" in (reader.fieldnames or []) else first  # pandas index column: ""
        for row in reader:
            code = (row.get(code_col) or "").strip()
            if not code:
                continue
            diagnostic = _flag(row.get("diagnostic"))
            out[code] = {
                "description": (row.get("description") or "").strip(),
                "diagnostic": diagnostic,
                "form": _flag(row.get("form")),
                "rhythm": _flag(row.get("rhythm")),
                "diagnostic_class": (row.get("diagnostic_class") or "").strip() or None if diagnostic else None,
                "diagnostic_subclass": (row.get("diagnostic_subclass") or "").strip() or None if diagnostic else None,
            }
    return out


def parse_scp_codes(text: str) -> dict[str, float]:
    """The `scp_codes` column ("{'NORM': 100.0, 'SR': 0.0}") -> dict; ValueError saying what is wrong."""
    try:
        value = ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
        raise ValueError(f"malformed scp_codes {text!r}: {type(err).__name__}") from None
    if not isinstance(value, dict):
        raise ValueError(f"scp_codes is not a dict: {text!r}")
    out: dict[str, float] = {}
    for code, likelihood in value.items():
        if not isinstance(code, str) or not code.strip():
            raise ValueError(f"scp_codes has a non-string code {code!r}")
        if isinstance(likelihood, bool) or not isinstance(likelihood, (int, float)) or not math.isfinite(likelihood):
            raise ValueError(f"scp_codes has a non-numeric likelihood for {code!r}: {likelihood!r}")
        out[code.strip()] = float(likelihood)
    return out


def superclasses_for(scp_codes: dict[str, float], statements: dict[str, dict]) -> list[str]:
    """PTB-XL benchmark superclasses (any likelihood counts), in the order NORM, MI, STTC, CD, HYP."""
    present = {statements[c]["diagnostic_class"] for c in scp_codes if c in statements and statements[c]["diagnostic"]}
    return [s for s in SUPERCLASSES if s in present] + sorted(present - set(SUPERCLASSES) - {None})


def subclasses_for(scp_codes: dict[str, float], statements: dict[str, dict]) -> list[str]:
    """PTB-XL benchmark diagnostic subclasses (any likelihood counts), sorted."""
    return sorted(
        {statements[c]["diagnostic_subclass"] for c in scp_codes if c in statements and statements[c]["diagnostic"]}
        - {None}
    )


@lru_cache(maxsize=8)
def _statements_cached(path: str, mtime_ns: int) -> dict[str, dict]:
    return read_scp_statements(path)


def _statements_of(root: Path) -> dict[str, dict]:
    path = root / STATEMENTS_CSV
    try:
        return _statements_cached(str(path), path.stat().st_mtime_ns)
    except OSError as err:
        raise ValueError(f"{STATEMENTS_CSV} unreadable: {err}") from None


def _unsafe_path(rel: str) -> bool:
    p = PurePosixPath(rel)
    return not rel or "\\" in rel or p.is_absolute() or ".." in p.parts or any(":" in part for part in p.parts)


@dataclass(frozen=True)
class PTBXLInput(Input):
    """An Input that also carries its database row (a few short strings) and the statement table's digest.

    The fingerprint covers the row and the statement table too, so a corrected label in a new PTB-XL
    release re-reads exactly the records whose rows changed."""

    root: Path | None = None
    row: tuple[tuple[str, str], ...] = ()
    statements_digest: str = ""

    def fingerprint(self) -> str:
        h = hashlib.sha256(super().fingerprint().encode())
        h.update(json.dumps(self.row).encode())
        h.update(self.statements_digest.encode())
        return h.hexdigest()[:16]


class PTBXLSource:
    """PTB-XL at its native 500 Hz (`records500`, `filename_hr`) or 100 Hz (`records100`, `filename_lr`)."""

    name = "ptbxl"

    def __init__(self, sampling_rate: int = 500):
        if sampling_rate not in (100, 500):
            raise ValueError(f"PTB-XL is published at 100 or 500 Hz, not {sampling_rate}")
        self.sampling_rate = sampling_rate
        self.filename_column = "filename_hr" if sampling_rate == 500 else "filename_lr"

    # -- listing ---------------------------------------------------------------------------------------
    def inputs(self, root: Path) -> Iterator[Input]:
        root = Path(root)
        database = root / DATABASE_CSV
        if not database.exists():
            raise MissingInput(f"{database} not found: expected the PTB-XL folder as published by PhysioNet")
        statements = root / STATEMENTS_CSV
        digest = hashlib.sha256(statements.read_bytes()).hexdigest()[:16] if statements.exists() else "missing"
        with open(database, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):  # line 1 is the header
                kept = tuple((c, (row.get(c) or "")) for c in ROW_COLUMNS)
                rel = (row.get(self.filename_column) or "").strip()
                if not rel:
                    key = f"row-{(row.get('ecg_id') or '').strip() or n}"
                    files: tuple[Path, ...] = ()
                elif _unsafe_path(rel):
                    key, files = rel, ()  # never stat outside the root; read() rejects it
                else:
                    key, files = rel, (root / f"{rel}.hea", root / f"{rel}.dat")
                yield PTBXLInput(key=key, files=files, root=root, row=kept, statements_digest=digest)

    # -- reading ---------------------------------------------------------------------------------------
    def read(self, item: Input) -> Iterator[ECGRecord | Rejected]:
        row = dict(getattr(item, "row", ()) or ())
        root = getattr(item, "root", None)
        if not row:  # a plain Input (key + files): find its row in the database next to records*/
            root, row = self._find_row(item)
        ecg_id = (row.get("ecg_id") or "").strip()
        if not re.fullmatch(r"\d+", ecg_id):
            record_id = f"ptbxl-{ecg_id}" if ecg_id else f"ptbxl-{item.key}"
            yield Rejected(_printable(record_id), f"ecg_id {ecg_id!r} is not a positive integer")
            return
        record_id = f"ptbxl-{int(ecg_id)}"
        try:
            yield self._record(row, record_id, Path(root) if root else None)
        except ValueError as err:
            yield Rejected(record_id, str(err))

    def _find_row(self, item: Input) -> tuple[Path | None, dict]:
        if not item.files:
            return None, {}
        rel = PurePosixPath(item.key)
        root = Path(item.files[0]).parents[len(rel.parts) - 1] if len(rel.parts) >= 1 else None
        if root is None or not (root / DATABASE_CSV).exists():
            return root, {}
        with open(root / DATABASE_CSV, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if (row.get(self.filename_column) or "").strip() == item.key:
                    return root, {c: row.get(c) or "" for c in ROW_COLUMNS}
        return root, {}

    def _record(self, row: dict, record_id: str, root: Path | None) -> ECGRecord:
        """The record of one database row, metadata first (cheap), then the signal; ValueError says why not."""
        rel = self._signal_path(row, root)
        scp = parse_scp_codes(row.get("scp_codes", ""))
        fold = _fold(row)
        statements = _statements_of(root)
        notes: list[str] = []
        patient_id, age, sex = _demographics(row, record_id, notes)
        signal, fs = self._signal(root, rel, notes)
        return ECGRecord(
            record_id=record_id,
            patient_id=patient_id,
            dataset=self.name,
            signal=signal,
            fs=fs,
            labels=scp,
            superclasses=superclasses_for(scp, statements),
            report=row.get("report") or "",
            age=age,
            sex=sex,
            split=FOLD_SPLITS[fold],
            extra=_extra(row, rel, scp, fold, statements, notes),
        )

    def _signal_path(self, row: dict, root: Path | None) -> str:
        """The row's record path for this sampling rate, relative to the root."""
        rel = (row.get(self.filename_column) or "").strip()
        if not rel:
            raise ValueError(f"database row has no {self.filename_column}")
        if _unsafe_path(rel):
            raise ValueError(f"{self.filename_column} {rel!r} contains path characters")
        if root is None:
            raise ValueError("PTB-XL folder (root) unknown for this input")
        return rel

    def _signal(self, root: Path, rel: str, notes: list[str]) -> tuple[np.ndarray, float]:
        """[12, N] in mV and its rate; the files are checked against the header first, for a specific reason."""
        hea = root / f"{rel}.hea"
        hdr = open_record(hea)
        if round(float(hdr.fs)) != self.sampling_rate:
            raise ValueError(f"header {rel}.hea says {hdr.fs:g} Hz, expected {self.sampling_rate} Hz")
        canon, dropped = to_canonical_leads(read_millivolts(hdr, hea), hdr.sig_name)
        if dropped:
            notes.append(f"dropped non-standard lead(s) {', '.join(dropped)}")
        return np.ascontiguousarray(canon, dtype=np.float32), float(hdr.fs)


def _fold(row: dict) -> int:
    fold_text = (row.get("strat_fold") or "").strip()
    fold = as_int(fold_text)
    if fold not in FOLD_SPLITS:
        raise ValueError(f"unknown strat_fold {fold_text!r} (expected 1-10)")
    return fold


def _demographics(row: dict, record_id: str, notes: list[str]) -> tuple[str, float | None, str | None]:
    """(patient id, age, sex) of a database row; what had to be replaced or dropped goes to notes."""
    patient = as_int(row.get("patient_id"))
    if patient is None or patient < 0:
        patient_id = record_id
        notes.append(f"patient_id {row.get('patient_id')!r} unusable: the record is its own patient")
    else:
        patient_id = f"ptbxl-p{patient}"
    age = as_float(row.get("age"))
    if age == AGE_OVER_89:
        age = 90.0
        notes.append("age stored as 300 in PTB-XL (patient older than 89): recorded as 90")
    elif age is not None and not 0 <= age < 130:
        notes.append(f"implausible age {age:g} dropped")
        age = None
    return patient_id, age, {0: "M", 1: "F"}.get(as_int(row.get("sex")))


def _extra(row: dict, rel: str, scp: dict[str, float], fold: int, statements: dict, notes: list[str]) -> dict:
    report = row.get("report") or ""
    extra = {
        "source_file": rel,
        "ecg_id": int(row["ecg_id"]),
        "strat_fold": fold,
        "subclasses": subclasses_for(scp, statements),
        "form_statements": [c for c in scp if c in statements and statements[c]["form"]],
        "rhythm_statements": [c for c in scp if c in statements and statements[c]["rhythm"]],
        "unknown_codes": [c for c in scp if c not in statements],
        "report_language": report_language(report) if report.strip() else "",
        "notes": notes,
    }
    if (row.get("recording_date") or "").strip():
        extra["recorded_at"] = row["recording_date"].strip()  # printed in the rendered page's header
    for col in _QUALITY_COLUMNS:  # PTB-XL annotations of axis and signal quality, where present
        value = (row.get(col) or "").strip()
        if value:
            extra[col] = value
    return extra


def _printable(record_id: str) -> str:
    return record_id if check_record_id(record_id) is None else repr(record_id)[1:-1]
