"""CODE-15% reader (Ribeiro et al., Zenodo 10.5281/zenodo.4916206), the folder as published.

Layout: `exams.csv` (exam_id, age, is_male, nn_predicted_age, 1dAVb, RBBB, LBBB, SB, ST, AF, patient_id,
death, timey, normal_ecg, trace_file) and `exams_part0.hdf5` ... `exams_part17.hdf5`, each holding
`tracings` float32 [N, 4096, 12] (400 Hz, leads I, II, III, aVR, aVL, aVF, V1-V6) and `exam_id` [N].

One input per HDF5 part (files = the part and `exams.csv`). `read()` streams the part a block of rows at a
time (never the whole [N, 4096, 12] array) and looks up only the part's exams in `exams.csv` (streamed).

Units: the tracings are taken as millivolts (typical R waves ~1). The Zenodo/GitHub text says "10^-4 V",
but the stored values are mV-scale, and the PhysioNet Challenge 2025 conversion script writes them to WFDB
with `units="mV"` unchanged; `scale_to_mv` exists in case a copy differs.

Padding: 10 s exams (4000 samples) and 7 s exams (2800) are zero-padded symmetrically to 4096. The
all-zero rows at both ends are stripped; when the remaining signal fits in the centred 4000/2800 window,
exactly that window is kept (so a signal that happens to start at 0 mV in all leads is not clipped).
Signals are then resampled 400 -> 500 Hz (4000 -> 5000, 2800 -> 3500 samples).

Labels: the six CODE-15 abnormalities and `normal_ecg` with value True become `{name: 100.0}` (CODE-15
vocabulary); `extra["scp_codes"]` has the PTB-XL SCP equivalents (1dAVb->1AVB, RBBB->CRBBB, LBBB->CLBBB,
SB->SBRAD, ST->STACH, AF->AFIB, normal_ecg->NORM); superclasses: CD for the three conduction blocks,
NORM for normal_ecg, none for the rhythm labels. `split` is left None: the record writer assigns it by
patient (`split_of_patient(patient_id)`), so a patient's exams never land in two splits.

Rows of a part whose exam_id is 0 and whose tracing is all zeros (filler rows some parts end with) are
skipped silently; every other problem is a `Rejected` with a reason.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ecg_core.record_store import Rejected
from ecg_core.records import LEADS, ECGRecord
from ecg_core.sources.canonical import CANONICAL_FS, resample
from ecg_core.sources.reader import Input, check_record_id
from ecg_core.sources.values import as_float, as_int

EXAMS_CSV = "exams.csv"
FS = 400.0
N_PADDED = 4096
EXAM_LENGTHS = (2800, 4000)  # 7 s and 10 s at 400 Hz, shortest first
CODE15_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LABEL_COLUMNS = ("1dAVb", "RBBB", "LBBB", "SB", "ST", "AF", "normal_ecg")
# CODE-15 label -> (PTB-XL SCP code, superclass or None for rhythm statements)
LABEL_TO_SCP = {
    "1dAVb": ("1AVB", "CD"),
    "RBBB": ("CRBBB", "CD"),
    "LBBB": ("CLBBB", "CD"),
    "SB": ("SBRAD", None),
    "ST": ("STACH", None),
    "AF": ("AFIB", None),
    "normal_ecg": ("NORM", "NORM"),
}
_SUPERCLASS_ORDER = ("NORM", "MI", "STTC", "CD", "HYP")
_PART = re.compile(r"^exams_part(\d+)\.hdf5$")
_BLOCK = 64  # rows read from HDF5 at a time (64 x 4096 x 12 float32 = 12.6 MB)

assert CODE15_LEADS == LEADS  # CODE-15 already stores the canonical order


def _truthy(value: str | None) -> bool:
    return str(value).strip().lower() in ("true", "1", "1.0", "yes")


def active_window(trace: np.ndarray) -> tuple[int, int] | None:
    """[start, stop) of the recorded samples in a zero-padded [4096, 12] tracing; None if all zeros."""
    nonzero = np.flatnonzero(np.any(trace != 0, axis=1))
    if nonzero.size == 0:
        return None
    first, last = int(nonzero[0]), int(nonzero[-1])
    n = trace.shape[0]
    for length in EXAM_LENGTHS:
        start = (n - length) // 2
        if length <= n and first >= start and last < start + length:
            return start, start + length
    return first, last + 1


class Code15Source:
    """Reads the CODE-15% HDF5 parts under a root; records `code15-<exam_id>`, patients `code15-p<id>`."""

    name = "code15"

    def __init__(self, fs: float = CANONICAL_FS, scale_to_mv: float = 1.0):
        self.fs, self.scale_to_mv = fs, scale_to_mv

    def inputs(self, root: Path) -> Iterator[Input]:
        root = Path(root)
        parts = [(int(m.group(1)), p) for p in root.glob("exams_part*.hdf5") if (m := _PART.match(p.name))]
        for _, part in sorted(parts):
            yield Input(key=part.name, files=(part, root / EXAMS_CSV))

    def read(self, item: Input) -> Iterator[ECGRecord | Rejected]:
        part = Path(item.files[0])
        file_id = f"code15-{part.stem}"
        if check_record_id(file_id):
            yield Rejected("code15-input", f"input file name {part.name!r} is unsafe")
            return
        yield from self._read_part(item, part, file_id)

    def _read_part(self, item: Input, part: Path, file_id: str) -> Iterator[ECGRecord | Rejected]:
        import h5py

        exams_csv = Path(item.files[1]) if len(item.files) > 1 else part.parent / EXAMS_CSV
        if not part.exists():
            yield Rejected(file_id, f"HDF5 file {part.name!r} is missing")
            return
        if not exams_csv.exists():
            yield Rejected(file_id, f"metadata file {exams_csv.name!r} is missing next to {part.name!r}")
            return
        try:
            h5 = h5py.File(part, "r")
        except Exception as err:
            yield Rejected(
                file_id, f"unreadable HDF5 file {part.name!r} (corrupt or not HDF5): {type(err).__name__}: {err}"
            )
            return
        with h5:
            for ds in ("tracings", "exam_id"):
                if ds not in h5 or not isinstance(h5[ds], h5py.Dataset):
                    yield Rejected(
                        file_id,
                        f"HDF5 file {part.name!r} has no {ds!r} dataset (has: {', '.join(h5.keys()) or 'nothing'})",
                    )
                    return
            tracings, ids_ds = h5["tracings"], h5["exam_id"]
            if tracings.ndim != 3 or tracings.shape[2] != len(LEADS):
                yield Rejected(
                    file_id, f"'tracings' in {part.name!r} has shape {tracings.shape}, expected [N, {N_PADDED}, 12]"
                )
                return
            exam_ids = np.asarray(ids_ds[()]).reshape(-1)
            if exam_ids.shape[0] != tracings.shape[0]:
                yield Rejected(file_id, f"{part.name!r}: {exam_ids.shape[0]} exam ids for {tracings.shape[0]} tracings")
                return
            ids = [as_int(v) for v in exam_ids]
            meta = _exam_rows(exams_csv, {i for i in ids if i is not None})
            for start in range(0, len(ids), _BLOCK):
                block = np.asarray(tracings[start : start + _BLOCK], dtype=np.float32)
                for offset, trace in enumerate(block):
                    row = start + offset
                    yield from self._exam(part, row, ids[row], trace, meta)

    def _exam(
        self, part: Path, row: int, exam_id: int | None, trace: np.ndarray, meta: dict
    ) -> Iterator[ECGRecord | Rejected]:
        if exam_id is None:
            yield Rejected(
                f"code15-{part.stem}-row{row}", f"{part.name!r} row {row}: exam_id {exam_id!r} is not an integer"
            )
            return
        record_id = f"code15-{exam_id}"
        window = active_window(trace)
        if exam_id == 0 and window is None and 0 not in meta:
            return  # filler row at the end of a part
        if exam_id not in meta:
            yield Rejected(record_id, f"exam_id {exam_id} ({part.name!r} row {row}) is not in {EXAMS_CSV}")
            return
        if window is None:
            yield Rejected(record_id, f"tracing is all zeros ({part.name!r} row {row})")
            return
        raw = trace[window[0] : window[1]].T  # [12, n] at 400 Hz
        bad = ~np.isfinite(raw)
        if bad.any():
            leads = [LEADS[i] for i in np.flatnonzero(bad.any(axis=1))]
            yield Rejected(record_id, f"NaN/inf samples in lead(s) {', '.join(leads)}")
            return
        m = meta[exam_id]
        notes = []
        n_raw = raw.shape[1]
        if n_raw not in EXAM_LENGTHS:
            notes.append(f"unexpected recorded length {n_raw} samples at 400 Hz after stripping zero padding")
        signal = resample(raw.astype(np.float64) * self.scale_to_mv, FS, self.fs)
        notes.append(
            f"stripped zero padding [{window[0]}, {window[1]}) of {trace.shape[0]}; resampled {FS:g} -> {self.fs:g} Hz"
        )
        labels = {name: 100.0 for name in LABEL_COLUMNS if _truthy(m.get(name))}
        scp = {LABEL_TO_SCP[name][0]: 100.0 for name in labels}
        supers = {LABEL_TO_SCP[name][1] for name in labels} - {None}
        sex = None
        if m.get("is_male", "").strip():
            sex = "M" if _truthy(m["is_male"]) else "F"
        patient = as_int(m.get("patient_id"))
        extra = {
            "source_file": part.name,
            "exam_id": exam_id,
            "hdf5_row": row,
            "fs_original": FS,
            "n_samples_original": n_raw,
            "scp_codes": scp,
            "notes": notes,
        }
        for key in ("nn_predicted_age", "timey"):
            if (v := as_float(m.get(key))) is not None:
                extra[key] = v
        if m.get("death", "").strip():
            extra["death"] = _truthy(m["death"])
        yield ECGRecord(
            record_id=record_id,
            patient_id=f"code15-p{patient}" if patient is not None else record_id,
            dataset=self.name,
            signal=np.ascontiguousarray(signal, dtype=np.float32),
            fs=self.fs,
            labels=labels,
            superclasses=[s for s in _SUPERCLASS_ORDER if s in supers],
            report="",
            age=as_float(m.get("age")),
            sex=sex,
            split=None,
            extra=extra,
        )


def _exam_rows(exams_csv: Path, wanted: set[int]) -> dict[int, dict[str, str]]:
    """The exams.csv rows of the wanted exam ids (streamed: the 345k-row file is never held whole)."""
    out: dict[int, dict[str, str]] = {}
    keep = ("exam_id", "age", "is_male", "nn_predicted_age", "patient_id", "death", "timey", *LABEL_COLUMNS)
    with open(exams_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"exam_id", "patient_id"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{exams_csv.name} lacks column(s) {', '.join(sorted(missing))}")
        for row in reader:
            exam_id = as_int(row.get("exam_id"))
            if exam_id in wanted:
                out[exam_id] = {k: (row.get(k) or "") for k in keep}
    return out
