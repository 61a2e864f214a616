"""The canonical ECG record every stage speaks, its validation, and its Parquet shard format."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SPLITS = ("train", "val", "test")

# Validation limits. A 12-lead resting ECG is 10 s in every public dataset; 2.5 s is the shortest
# window a printout column shows, so anything shorter cannot be rendered meaningfully.
MIN_SECONDS = 2.5
MAX_SECONDS = 60.0
# Physiological amplitudes stay within about +-5 mV; 15 mV means a unit or gain error (e.g. raw ADC counts).
MAX_ABS_MV = 15.0
# A lead whose peak-to-peak range is below 10 uV carries no signal (disconnected electrode, zero padding).
FLAT_PEAK_TO_PEAK_MV = 0.01


class RecordValidationError(ValueError):
    """A record that cannot enter the pipeline; the message names the record and the reason."""

    def __init__(self, record_id: str, reason: str):
        super().__init__(f"record {record_id!r} rejected: {reason}")
        self.record_id = record_id
        self.reason = reason


@dataclass
class ECGRecord:
    record_id: str
    patient_id: str
    dataset: str
    signal: np.ndarray  # float32 [12, N] in mV, rows in LEADS order
    fs: float  # sampling rate in Hz
    labels: dict[str, float] = field(default_factory=dict)  # code -> likelihood (0-100), dataset vocabulary
    superclasses: list[str] = field(default_factory=list)  # PTB-XL superclasses: NORM, MI, STTC, CD, HYP
    report: str = ""
    age: float | None = None
    sex: str | None = None  # "M" / "F"
    split: str | None = None  # train / val / test
    # Source-specific facts kept with the record: machine measurements (RR/PR/QRS/QT/axes), "credentialed"
    # (data that must not leave the site, e.g. MIMIC-IV-ECG), source file, notes such as dropped leads.
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.signal.shape[-1] / self.fs

    @property
    def credentialed(self) -> bool:
        return self.extra.get("credentialed") is True


def validate(record: ECGRecord) -> ECGRecord:
    """Return the record unchanged, or raise RecordValidationError saying what is wrong with it."""

    def reject(reason: str):
        raise RecordValidationError(record.record_id, reason)

    sig = record.signal
    if not isinstance(sig, np.ndarray) or sig.ndim != 2:
        reject(f"signal must be a 2-D array [12, N], got {getattr(sig, 'shape', type(sig))}")
    if sig.shape[0] != len(LEADS):
        reject(f"expected {len(LEADS)} leads, got {sig.shape[0]}")
    if not record.fs or record.fs <= 0:
        reject(f"invalid sampling rate {record.fs}")
    if not MIN_SECONDS <= record.seconds <= MAX_SECONDS:
        reject(f"length {record.seconds:.2f} s outside [{MIN_SECONDS}, {MAX_SECONDS}] s")
    bad = ~np.isfinite(sig)
    if bad.any():
        leads = [LEADS[i] for i in np.flatnonzero(bad.any(axis=1))]
        reject(f"NaN/inf samples in lead(s) {', '.join(leads)}")
    peak = float(np.abs(sig).max())
    if peak > MAX_ABS_MV:
        reject(f"amplitude {peak:.1f} mV exceeds {MAX_ABS_MV} mV (unit or gain error?)")
    flat = [LEADS[i] for i in np.flatnonzero(np.ptp(sig, axis=1) < FLAT_PEAK_TO_PEAK_MV)]
    if flat:
        reject(f"flat lead(s) {', '.join(flat)}")
    if record.split is not None and record.split not in SPLITS:
        reject(f"unknown split {record.split!r}")
    return record


_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("patient_id", pa.string()),
        ("dataset", pa.string()),
        ("fs", pa.float64()),
        ("n_samples", pa.int64()),
        ("signal", pa.binary()),  # float32 little-endian, row-major [12, n_samples]
        ("labels", pa.string()),  # JSON object code -> likelihood
        ("superclasses", pa.list_(pa.string())),
        ("report", pa.string()),
        ("age", pa.float64()),
        ("sex", pa.string()),
        ("split", pa.string()),
        ("extra", pa.string()),  # JSON object
    ]
)


def _signal_column(records: list[ECGRecord]) -> pa.Array:
    """All signals as one binary column built straight from a single buffer: one copy, no bytes objects."""
    flat = [np.ascontiguousarray(r.signal, dtype="<f4").reshape(-1) for r in records]
    sizes = np.array([0] + [a.nbytes for a in flat], dtype=np.int32)
    data = np.concatenate(flat) if flat else np.zeros(0, dtype="<f4")
    offsets = np.cumsum(sizes, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(records), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def records_to_parquet(records: list[ECGRecord]) -> bytes:
    """Serialise records into one Parquet shard (bytes, ready for the store)."""
    columns = {
        "record_id": [r.record_id for r in records],
        "patient_id": [r.patient_id for r in records],
        "dataset": [r.dataset for r in records],
        "fs": [float(r.fs) for r in records],
        "n_samples": [int(r.signal.shape[1]) for r in records],
        "signal": _signal_column(records),
        "labels": [json.dumps(r.labels, sort_keys=True) for r in records],
        "superclasses": [list(r.superclasses) for r in records],
        "report": [r.report for r in records],
        "age": [r.age for r in records],
        "sex": [r.sex for r in records],
        "split": [r.split for r in records],
        "extra": [json.dumps(r.extra, sort_keys=True) for r in records],
    }
    buf = io.BytesIO()
    pq.write_table(pa.table(columns, schema=_SCHEMA), buf, compression="zstd")
    return buf.getvalue()


def records_from_parquet(data: bytes) -> list[ECGRecord]:
    table = pq.read_table(io.BytesIO(data), schema=_SCHEMA)
    out = []
    for row in table.to_pylist():
        signal = np.frombuffer(row["signal"], dtype="<f4").reshape(len(LEADS), row["n_samples"]).copy()
        out.append(
            ECGRecord(
                record_id=row["record_id"],
                patient_id=row["patient_id"],
                dataset=row["dataset"],
                signal=signal,
                fs=row["fs"],
                labels=json.loads(row["labels"]),
                superclasses=list(row["superclasses"]),
                report=row["report"],
                age=row["age"],
                sex=row["sex"],
                split=row["split"],
                extra=json.loads(row["extra"]),
            )
        )
    return out
