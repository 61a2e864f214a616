"""WFDB reader: PhysioNet `.hea` + `.dat`, and PhysioNet/CinC 2020/2021 `.hea` + `.mat` (key `val`).

Both are read by `wfdb.rdrecord`, which applies the header's gain and baseline (a CinC `.mat` is a
MATLAB v4 file whose header says `16x1+24`: format 16 after a 24-byte preamble, raw ADC counts) and
accepts TAB- as well as space-delimited headers (GE MUSE exports). Before reading, the signal files are
checked against the header (present, long enough), so a bad input becomes a `Rejected` with a specific
reason instead of a confusing numpy error. `#Dx:` SNOMED-CT codes become labels: the PTB-XL SCP code
where one means the same (superclasses follow from those), else the CinC abbreviation, else
`SNOMED:<code>`; unmapped codes are listed in `extra["unknown_codes"]`. The header's base date and
time, when it has them, become `extra["recorded_at"]` (each window's own start), the date a printout's
header shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath

import numpy as np
import wfdb

from ecg_core.labels import SCP_STATEMENTS, SNOMED, SNOMED_TO_SCP, SUPERCLASSES, superclasses_of
from ecg_core.record_store import Rejected
from ecg_core.records import LEADS, ECGRecord
from ecg_core.sources.canonical import (
    CANONICAL_FS,
    WINDOW_SECONDS,
    normalise_lead_name,
    resample,
    to_canonical_leads,
    unit_to_mv,
    windows,
)
from ecg_core.sources.reader import Input, check_record_id
from ecg_core.sources.values import as_float
from ecg_core.sources.wfdb_header import check_signal_files

_COLON = re.compile(r"^\s*<?\s*([^:<>]+?)\s*>?\s*:\s*(.*?)\s*$")  # "Age: 59", "<age>: 51"
_SPACE = re.compile(r"^\s*(\w+)\s+(.*?)\s*$")  # MUSE: "age 71", "sex FEMALE", "mrn 0747"
_PATIENT_KEYS = ("patient_id", "patient id", "patient", "mrn")
# Unmapped CinC abbreviations that would read as a different PTB-XL code or a superclass (AMI = acute MI
# in CinC but anterior MI in PTB-XL; MI, CD) are stored as SNOMED:<code> instead.
_AMBIGUOUS = set(SCP_STATEMENTS) | set(SUPERCLASSES)
# Relative rms of III - (II - I) above which a note flags the record (real recordings: < 2 %).
EINTHOVEN_TOLERANCE = 0.1


class WFDBSource:
    """Reads every WFDB record (`.hea` + `.dat`/`.mat`) under a root; `name` is the dataset name."""

    def __init__(self, name: str = "wfdb", fs: float = CANONICAL_FS, window_seconds: float = WINDOW_SECONDS):
        self.name, self.fs, self.window_seconds = name, fs, window_seconds

    def inputs(self, root: Path) -> Iterator[Input]:
        root = Path(root)
        for header in sorted(root.rglob("*.hea")):
            key = header.relative_to(root).with_suffix("").as_posix()
            yield Input(key=key, files=(header, *_signal_files(header)))

    def read(self, item: Input) -> Iterator[ECGRecord | Rejected]:
        header = Path(item.files[0])
        name = header.stem if header.suffix == ".hea" else header.name
        problem = check_record_id(name)
        if problem is None and (PurePosixPath(item.key).is_absolute() or ".." in PurePosixPath(item.key).parts):
            problem = f"input key {item.key!r} contains path characters"
        if problem:
            yield Rejected(name, problem)
            return
        try:
            rec = _read_record(header)
            canon, notes = _standard_leads(rec)
        except ValueError as err:
            yield Rejected(name, str(err))
            return
        yield from self._records(item, name, rec, canon, notes)

    def _records(
        self, item: Input, name: str, rec: wfdb.Record, canon: np.ndarray, notes: list[str]
    ) -> Iterator[ECGRecord]:
        """One record per window of the resampled recording, with the header's labels and demographics."""
        meta = _parse_comments(rec.comments or [])
        labels, scp, unknown, unmapped = _labels(meta["dx"])
        fs_original = float(rec.fs)
        parts = self._windows(canon, fs_original, notes)
        superclasses = superclasses_of(scp)
        for i, part in enumerate(parts):
            extra = {
                "source_file": item.key,
                "fs_original": fs_original,
                "notes": list(notes),
                "snomed_codes": list(meta["dx"]),
                "unknown_codes": list(unknown),  # not in the SNOMED table: kept as SNOMED:<code> labels
                "unmapped_codes": list(unmapped),  # known SNOMED, no PTB-XL SCP counterpart
            }
            if len(parts) > 1:
                extra["window"] = i
                extra["window_start_s"] = i * self.window_seconds
            if rec.base_datetime is not None:  # printed in the rendered page's header
                start = rec.base_datetime + timedelta(seconds=i * self.window_seconds)
                extra["recorded_at"] = start.isoformat(sep=" ", timespec="seconds")
            yield ECGRecord(
                record_id=f"{name}_w{i}" if len(parts) > 1 else name,
                patient_id=meta["patient_id"] or name,
                dataset=self.name,
                signal=np.ascontiguousarray(part, dtype=np.float32),
                fs=self.fs,
                labels=dict(labels),
                superclasses=list(superclasses),
                report=meta["report"],
                age=meta["age"],
                sex=meta["sex"],
                extra=extra,
            )

    def _windows(self, canon: np.ndarray, fs_original: float, notes: list[str]) -> list[np.ndarray]:
        """The recording at the source's rate, cut into windows; notes say what was done."""
        canon = resample(canon, fs_original, self.fs)
        if fs_original != self.fs:
            notes.append(f"resampled {fs_original:g} -> {self.fs:g} Hz")
        parts = windows(canon, self.fs, self.window_seconds)
        if len(parts) > 1:
            n_tail = canon.shape[1] - len(parts) * parts[0].shape[1]
            notes.append(
                f"{canon.shape[1] / self.fs:.1f} s cut into {len(parts)} windows of {self.window_seconds:g} s"
                + (f" (last {n_tail / self.fs:.2f} s dropped)" if n_tail else "")
            )
        return parts


def _read_record(header_path: Path) -> wfdb.Record:
    """The record in physical units, once its header and signal files check out; ValueError says why not."""
    name = header_path.name
    if not header_path.exists():
        raise ValueError(f"header file {name!r} is missing")
    try:
        hdr = wfdb.rdheader(str(header_path.with_suffix("")))
    except Exception as err:  # a malformed header fails anywhere in wfdb's parser, with any error type
        raise ValueError(f"unreadable header {name!r}: {type(err).__name__}: {err}") from None
    if isinstance(hdr, wfdb.MultiRecord) or getattr(hdr, "seg_name", None):
        raise ValueError("multi-segment WFDB records are not supported")
    if not hdr.n_sig or not hdr.file_name:
        raise ValueError(f"header {name!r} declares no signals")
    if not hdr.fs or hdr.fs <= 0:
        raise ValueError(f"header {name!r} has invalid sampling frequency {hdr.fs}")
    problem = check_signal_files(hdr, header_path.parent)
    if problem:
        raise ValueError(problem)
    return wfdb.rdrecord(str(header_path.with_suffix("")), physical=True)


def _standard_leads(rec: wfdb.Record) -> tuple[np.ndarray, list[str]]:
    """[12, N] in mV in LEADS order, and notes on dropped leads and inconsistent limb-lead gains.
    A lead in an unknown unit is an error only when it is one of the 12 (it is dropped otherwise)."""
    signal = np.asarray(rec.p_signal, dtype=np.float64).T  # [n_sig, N], physical units
    for row, unit in enumerate(rec.units or ["mV"] * rec.n_sig):
        try:
            signal[row] *= unit_to_mv(unit or "mV")
        except ValueError:
            if rec.sig_name[row] and _is_standard(rec.sig_name[row]):
                raise ValueError(f"lead {rec.sig_name[row]} has unknown unit {unit!r}") from None
    canon, dropped = to_canonical_leads(signal, list(rec.sig_name))
    notes = [f"dropped non-standard lead(s) {', '.join(dropped)}"] if dropped else []
    einthoven = _einthoven_error(canon)
    if einthoven > EINTHOVEN_TOLERANCE:
        notes.append(
            f"Einthoven check failed: III - (II - I) is {einthoven:.0%} of III (rms); lead gains inconsistent?"
        )
    return canon, notes


def _einthoven_error(canon: np.ndarray) -> float:
    i, ii, iii = canon[0], canon[1], canon[2]
    scale = float(np.sqrt(np.mean(iii**2)))
    return float(np.sqrt(np.mean((iii - (ii - i)) ** 2)) / scale) if scale > 0 else 0.0


def _is_standard(lead: str) -> bool:
    return normalise_lead_name(lead) in LEADS


def _signal_files(header: Path) -> list[Path]:
    """The signal files a header names (present or not, so a missing one shows in the fingerprint)."""
    try:
        hdr = wfdb.rdheader(str(header.with_suffix("")))
        names = list(dict.fromkeys(getattr(hdr, "file_name", None) or []))
    except Exception:
        names = [header.with_suffix(s).name for s in (".dat", ".mat") if header.with_suffix(s).exists()]
    return [header.parent / n for n in names if n and "/" not in n and "\\" not in n]


def _parse_comments(comments: list[str]) -> dict:
    """Age, sex, `#Dx` codes, patient id and free-text diagnosis from WFDB header comments."""
    out = {"age": None, "sex": None, "dx": [], "patient_id": None, "report": ""}
    report: list[str] = []
    in_diagnoses = False
    for line in comments:
        m = _COLON.match(line) or _SPACE.match(line)
        if in_diagnoses and line.strip() and not (m and m.group(1).strip().lower() in ("age", "sex")):
            report.append(line.strip())  # LUDB: the lines after "<diagnoses>:" are the statements
            continue
        if not m:
            continue
        key, value = m.group(1).strip().lower(), m.group(2).strip()
        if key == "age":
            age = as_float(value.split()[0]) if value else None  # "59", "59 years", "NaN"
            out["age"] = age if age is not None and 0 <= age < 130 else None
        elif key in ("sex", "gender"):
            v = value.lower()
            out["sex"] = "M" if v.startswith("m") else "F" if v.startswith("f") else None
        elif key == "dx":
            out["dx"] = [c.strip() for c in re.split(r"[,\s]+", value) if c.strip()]
        elif key in _PATIENT_KEYS and value and check_record_id(value) is None:
            out["patient_id"] = value
        elif key in ("diagnosis", "diagnoses"):
            if value:
                report.append(value)
            else:
                in_diagnoses = True
    out["report"] = " ".join(report)
    return out


def _labels(codes: list[str]) -> tuple[dict[str, float], dict[str, float], list[str], list[str]]:
    """SNOMED codes -> (labels, the SCP-mapped subset, codes not in SNOMED, known codes without SCP)."""
    labels: dict[str, float] = {}
    scp: dict[str, float] = {}
    unknown: list[str] = []
    unmapped: list[str] = []
    for code in codes:
        if code in SNOMED_TO_SCP:
            labels[SNOMED_TO_SCP[code]] = scp[SNOMED_TO_SCP[code]] = 100.0
            continue
        (unmapped if code in SNOMED else unknown).append(code)
        abbr = SNOMED.get(code, (None,))[0]
        labels[abbr if abbr and abbr not in _AMBIGUOUS else f"SNOMED:{code}"] = 100.0
    return labels, scp, unknown, unmapped
