"""MIMIC-IV-ECG reader (PhysioNet, credentialed access), the folder as published.

Layout: `record_list.csv` (subject_id, study_id, file_name, ecg_time, path), `machine_measurements.csv`
(subject_id, study_id, cart_id, ecg_time, report_0 ... report_17, bandwidth, filtering, rr_interval,
p_onset, p_end, qrs_onset, qrs_end, t_end, p_axis, qrs_axis, t_axis) and WFDB records
`files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.{hea,dat}` (500 Hz, 10 s, leads I, II, III, aVR, aVF, aVL,
V1-V6: aVF comes before aVL; leads are reordered by name).

One input per `record_list.csv` row (key = its `path`, files = the `.hea` and `.dat`); subject and study
ids are read back from the path. The machine report is the non-empty `report_N` fields joined as
sentences ("Sinus rhythm. Normal ECG."). Measurements go to `extra["measurements"]` in ms / degrees:
rr_ms, pr_ms (qrs_onset - p_onset), qrs_ms (qrs_end - qrs_onset), qt_ms (t_end - qrs_onset),
heart_rate_bpm (60000 / rr), p_axis, qrs_axis, t_axis; a field MIMIC marks as not measured (29999, or
empty) gives None. The study's `ecg_time` becomes `extra["recorded_at"]`, the date a printout's header
shows. `extra["credentialed"] = True`: these records must never be sent to external services.

The dataset has no labels (labels = {}, superclasses = []). `split` is left None: the record writer
assigns it by patient (`split_of_patient("mimic-p<subject_id>")`).

`machine_measurements.csv` (800k rows) is streamed once per source instance and root into compact arrays
(study ids, a float32 measurement matrix, joined report strings), not kept as CSV rows.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ecg_core.record_store import Rejected
from ecg_core.records import ECGRecord
from ecg_core.sources.canonical import CANONICAL_FS, resample, to_canonical_leads
from ecg_core.sources.reader import Input, check_record_id
from ecg_core.sources.values import as_float
from ecg_core.sources.wfdb_header import open_record, read_millivolts

RECORD_LIST_CSV = "record_list.csv"
MEASUREMENTS_CSV = "machine_measurements.csv"
N_REPORT_FIELDS = 18
MEASUREMENT_COLUMNS = (
    "rr_interval",
    "p_onset",
    "p_end",
    "qrs_onset",
    "qrs_end",
    "t_end",
    "p_axis",
    "qrs_axis",
    "t_axis",
)
MISSING_VALUE = 29999  # MIMIC-IV-ECG's "not measured" marker
_PATH = re.compile(r"(?:^|/)p(\d+)/s(\d+)/(\d+)$")


def join_report(lines: list[str]) -> str:
    """Non-empty report lines as sentences: ['Sinus rhythm', 'Normal ECG'] -> 'Sinus rhythm. Normal ECG.'"""
    parts = [s.strip().rstrip(".").strip() for s in lines if s and s.strip()]
    parts = [p for p in parts if p]
    return ". ".join(parts) + "." if parts else ""


def _measured(raw: str | None) -> float:
    """A machine field, NaN where MIMIC did not measure it (empty, or the 29999 marker)."""
    value = as_float(raw)
    return np.nan if value is None or abs(value) >= MISSING_VALUE else value


def measurements_of(values: dict[str, float]) -> dict[str, float | None]:
    """Intervals (ms) and axes (degrees) from the raw machine fields; None where an input is missing."""

    def get(name: str) -> float | None:
        v = values.get(name, np.nan)
        return None if v is None or np.isnan(v) else float(v)

    def diff(a: str, b: str) -> float | None:
        x, y = get(a), get(b)
        return None if x is None or y is None or x - y <= 0 else x - y

    rr = get("rr_interval")
    return {
        "rr_ms": rr,
        "heart_rate_bpm": round(60000.0 / rr, 1) if rr else None,
        "pr_ms": diff("qrs_onset", "p_onset"),
        "qrs_ms": diff("qrs_end", "qrs_onset"),
        "qt_ms": diff("t_end", "qrs_onset"),
        "p_axis": get("p_axis"),
        "qrs_axis": get("qrs_axis"),
        "t_axis": get("t_axis"),
    }


@dataclass
class _Measurements:
    study_ids: np.ndarray  # int64, sorted
    values: np.ndarray  # float32 [N, len(MEASUREMENT_COLUMNS)], NaN = missing
    reports: list[str]
    other: list[tuple[str, str, str, str]]  # cart_id, ecg_time, bandwidth, filtering (interned)

    def lookup(self, study_id: int) -> int | None:
        i = int(np.searchsorted(self.study_ids, study_id))
        return i if i < len(self.study_ids) and self.study_ids[i] == study_id else None


def load_measurements(path: Path) -> _Measurements:
    ids, values, reports, other = [], [], [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if "study_id" not in (reader.fieldnames or ()):
            raise ValueError(f"{path.name} has no study_id column")
        for row in reader:
            try:
                study = int(row["study_id"])
            except (TypeError, ValueError):
                continue
            ids.append(study)
            values.append([_measured(row.get(c)) for c in MEASUREMENT_COLUMNS])
            reports.append(join_report([row.get(f"report_{i}") or "" for i in range(N_REPORT_FIELDS)]))
            other.append(
                tuple(sys.intern((row.get(c) or "").strip()) for c in ("cart_id", "ecg_time", "bandwidth", "filtering"))
            )
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    return _Measurements(
        study_ids=np.asarray(ids, dtype=np.int64)[order],
        values=np.asarray(values, dtype=np.float32).reshape(-1, len(MEASUREMENT_COLUMNS))[order],
        reports=[reports[i] for i in order],
        other=[other[i] for i in order],
    )


class MimicSource:
    """Reads MIMIC-IV-ECG; records `mimic-<study_id>`, patients `mimic-p<subject_id>`, all credentialed."""

    name = "mimic-iv-ecg"

    def __init__(self, fs: float = CANONICAL_FS):
        self.fs = fs
        self._measurements: dict[Path, _Measurements | str] = {}  # root -> table, or the reason it is unusable

    def inputs(self, root: Path) -> Iterator[Input]:
        root = Path(root)
        with open(root / RECORD_LIST_CSV, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = (row.get("path") or "").strip().strip("/")
                if not key:
                    continue
                yield Input(key=key, files=(root / f"{key}.hea", root / f"{key}.dat"))

    def read(self, item: Input) -> Iterator[ECGRecord | Rejected]:
        key = PurePosixPath(item.key)
        m = _PATH.search(item.key)
        if key.is_absolute() or ".." in key.parts or m is None:
            yield Rejected(
                f"mimic-{_safe(item.key)}", f"record path {item.key!r} is not files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN"
            )
            return
        subject_id, study_id, file_name = int(m.group(1)), int(m.group(2)), m.group(3)
        record_id = f"mimic-{study_id}"
        if (problem := check_record_id(record_id)) is not None:
            yield Rejected(f"mimic-{_safe(item.key)}", problem)
            return
        yield from self._read(item, record_id, subject_id, study_id, file_name)

    def _root(self, item: Input) -> Path:
        header, suffix = str(item.files[0]), f"{item.key}.hea"
        if not header.endswith(suffix):
            return Path(header).parent
        return Path(header[: -len(suffix)] or ".")

    def _table(self, root: Path) -> _Measurements | str:
        if root not in self._measurements:
            path = root / MEASUREMENTS_CSV
            if not path.exists():
                self._measurements[root] = f"{MEASUREMENTS_CSV} not found"
            else:
                try:
                    self._measurements[root] = load_measurements(path)
                except Exception as err:
                    self._measurements[root] = f"unreadable {MEASUREMENTS_CSV}: {type(err).__name__}: {err}"
        return self._measurements[root]

    def _read(
        self, item: Input, record_id: str, subject_id: int, study_id: int, file_name: str
    ) -> Iterator[ECGRecord | Rejected]:
        header = Path(item.files[0])
        try:
            hdr = open_record(header)
            canon, dropped = to_canonical_leads(read_millivolts(hdr, header), hdr.sig_name)
        except ValueError as err:
            yield Rejected(record_id, str(err))
            return
        notes = [f"dropped non-standard lead(s) {', '.join(dropped)}"] if dropped else []
        fs_original = float(hdr.fs)
        if fs_original != self.fs:
            notes.append(f"resampled {fs_original:g} -> {self.fs:g} Hz")
        canon = resample(canon, fs_original, self.fs)
        report, measurements, machine = self._machine_row(item, study_id, notes)
        extra = {
            "credentialed": True,
            "source_file": item.key,
            "subject_id": subject_id,
            "study_id": study_id,
            "file_name": file_name,
            "fs_original": fs_original,
            "measurements": measurements,
            "machine": machine,
            "notes": notes,
        }
        if machine.get("ecg_time"):
            extra["recorded_at"] = machine["ecg_time"]  # printed in the rendered page's header
        yield ECGRecord(
            record_id=record_id,
            patient_id=f"mimic-p{subject_id}",
            dataset=self.name,
            signal=np.ascontiguousarray(canon, dtype=np.float32),
            fs=self.fs,
            labels={},
            superclasses=[],
            report=report,
            age=None,
            sex=None,
            split=None,
            extra=extra,
        )

    def _machine_row(self, item: Input, study_id: int, notes: list[str]) -> tuple[str, dict, dict]:
        """(report, measurements, machine fields) of the study; empty, with a note saying why, if none."""
        table = self._table(self._root(item))
        if isinstance(table, str):
            notes.append(f"no machine measurements: {table}")
            return "", {}, {}
        if (i := table.lookup(study_id)) is None:
            notes.append(f"study {study_id} not in {MEASUREMENTS_CSV}")
            return "", {}, {}
        measurements = measurements_of(dict(zip(MEASUREMENT_COLUMNS, table.values[i].tolist())))
        cart_id, ecg_time, bandwidth, filtering = table.other[i]
        machine = {"cart_id": cart_id, "ecg_time": ecg_time, "bandwidth": bandwidth, "filtering": filtering}
        return table.reports[i], measurements, machine


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80] or "input"
