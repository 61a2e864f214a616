"""Code15Source on a CODE-15%-layout folder built in tmp_path from REAL recordings (tests/fixtures/realdata).

Real 500 Hz recordings are resampled to 400 Hz, cut to 10 s or 7 s, zero-padded symmetrically to 4096 and
written as `exams_part0.hdf5` + `exams.csv`, exactly as published; the reader must undo all of it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from ecg_core.ingest import ingest_source
from ecg_core.record_store import Rejected, read_records
from ecg_core.records import LEADS, ECGRecord, validate
from ecg_core.sources.code15 import Code15Source, active_window
from ecg_core.store import open_store
from tests.fixtures import REALDATA

SOURCES = ["HR06000", "HR06001", "HR06002", "HR06003", "E07500", "E07501", "JS20000", "JS20002"]
COLUMNS = [
    "exam_id",
    "age",
    "is_male",
    "nn_predicted_age",
    "1dAVb",
    "RBBB",
    "LBBB",
    "SB",
    "ST",
    "AF",
    "patient_id",
    "death",
    "timey",
    "normal_ecg",
    "trace_file",
]
LABELS = ["1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"]


def real(name: str) -> np.ndarray:
    """[5000, 12] in mV, canonical lead order, 500 Hz."""
    rec = wfdb.rdrecord(str(REALDATA / "wfdb_dat" / name))
    assert [n.upper() for n in rec.sig_name] == [n.upper() for n in LEADS]
    return rec.p_signal.astype(np.float64)


def pad(trace400: np.ndarray) -> np.ndarray:
    n = trace400.shape[0]
    out = np.zeros((4096, 12), dtype=np.float32)
    start = (4096 - n) // 2
    out[start : start + n] = trace400
    return out


def exam_row(exam_id, patient_id, labels=(), normal=False, age=60, male=True, trace_file="exams_part0.hdf5"):
    row = {c: "False" for c in LABELS}
    row.update(dict.fromkeys(labels, "True"))
    row.update(
        exam_id=exam_id,
        age=age,
        is_male=str(male),
        nn_predicted_age=f"{age + 1.5}",
        patient_id=patient_id,
        death="",
        timey="",
        normal_ecg=str(normal),
        trace_file=trace_file,
    )
    return row


@pytest.fixture(scope="module")
def code15(tmp_path_factory):
    root = tmp_path_factory.mktemp("code15")
    originals, traces, ids, rows = {}, [], [], []
    # 8 real exams; patients 501/502 have two exams each; even ones 10 s, odd ones 7 s.
    spec = [  # (labels, normal, patient)
        ((), True, 501),
        (("RBBB",), False, 501),
        (("1dAVb", "SB"), False, 502),
        (("AF",), False, 503),
        (("LBBB",), False, 502),
        (("ST",), False, 504),
        ((), True, 505),
        ((), False, 506),
    ]
    for i, (name, (labels, normal, patient)) in enumerate(zip(SOURCES, spec)):
        sig = real(name)
        seconds = 10 if i % 2 == 0 else 7
        sig = sig[: seconds * 500]
        originals[1000 + i] = sig
        traces.append(pad(resample_poly(sig, 4, 5, axis=0)))
        ids.append(1000 + i)
        rows.append(exam_row(1000 + i, patient, labels, normal, age=40 + i, male=i % 3 != 0))
    # bad rows inside the good part: exam not in exams.csv, NaN samples, all zeros, filler row (exam_id 0)
    traces.append(traces[0].copy())
    ids.append(77777)  # not in CSV
    nan = traces[2].copy()
    nan[2000, 7] = np.nan
    traces.append(nan)
    ids.append(2000)
    rows.append(exam_row(2000, 600))
    traces.append(np.zeros((4096, 12), np.float32))
    ids.append(2001)
    rows.append(exam_row(2001, 601))
    traces.append(np.zeros((4096, 12), np.float32))
    ids.append(0)
    with h5py.File(root / "exams_part0.hdf5", "w") as f:
        f.create_dataset("tracings", data=np.stack(traces), chunks=(1, 4096, 12))
        f.create_dataset("exam_id", data=np.asarray(ids, dtype=np.int64))
    # part1: garbage bytes; part2: no `tracings` dataset; part10 sorts after part2
    (root / "exams_part1.hdf5").write_bytes(b"this is not an HDF5 file\x00\x01" * 100)
    with h5py.File(root / "exams_part2.hdf5", "w") as f:
        f.create_dataset("exam_id", data=np.asarray([3000], dtype=np.int64))
    with h5py.File(root / "exams_part10.hdf5", "w") as f:
        f.create_dataset("tracings", data=traces[3][None])
        f.create_dataset("exam_id", data=np.asarray([3001], dtype=np.int64))
    rows.append(exam_row(3001, 503, ("AF",), trace_file="exams_part10.hdf5"))
    with open(root / "exams.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return root, originals


def read_part(root: Path, part: str) -> list[ECGRecord | Rejected]:
    (item,) = [i for i in Code15Source().inputs(root) if i.key == part]
    return list(Code15Source().read(item))


def by_id(items):
    return {i.record_id: i for i in items}


def test_inputs_one_per_part_in_numeric_order(code15):
    root, _ = code15
    items = list(Code15Source().inputs(root))
    assert [i.key for i in items] == ["exams_part0.hdf5", "exams_part1.hdf5", "exams_part2.hdf5", "exams_part10.hdf5"]
    assert items[0].files == (root / "exams_part0.hdf5", root / "exams.csv")


def test_padding_stripped_resampled_and_amplitude_preserved(code15):
    root, originals = code15
    recs = by_id(read_part(root, "exams_part0.hdf5"))
    for exam_id, orig in originals.items():
        rec = recs[f"code15-{exam_id}"]
        assert isinstance(rec, ECGRecord), rec
        validate(rec)
        assert rec.fs == 500.0 and rec.signal.dtype == np.float32
        assert rec.signal.shape == (12, orig.shape[0])  # 5000 for 10 s, 3500 for 7 s
        assert rec.extra["n_samples_original"] in (4000, 2800)
        for lead in ("II", "V2"):
            got, want = rec.signal[LEADS.index(lead), 50:-50], orig[50:-50, LEADS.index(lead)]
            assert np.corrcoef(got, want)[0, 1] > 0.99
            assert np.std(got) == pytest.approx(np.std(want), rel=0.05)  # units: mV in, mV out
    assert recs["code15-1000"].signal.shape[1] == 5000 and recs["code15-1001"].signal.shape[1] == 3500


def test_labels_superclasses_and_demographics(code15):
    root, _ = code15
    recs = by_id(read_part(root, "exams_part0.hdf5"))
    r = recs["code15-1000"]
    assert r.labels == {"normal_ecg": 100.0} and r.superclasses == ["NORM"]
    assert r.extra["scp_codes"] == {"NORM": 100.0}
    assert r.patient_id == "code15-p501" and r.dataset == "code15" and r.split is None
    assert r.age == 40.0 and r.sex == "F" and r.extra["nn_predicted_age"] == 41.5
    r = recs["code15-1002"]
    assert r.labels == {"1dAVb": 100.0, "SB": 100.0} and r.superclasses == ["CD"]
    assert r.extra["scp_codes"] == {"1AVB": 100.0, "SBRAD": 100.0} and r.sex == "M"
    assert recs["code15-1001"].superclasses == ["CD"] and recs["code15-1001"].extra["scp_codes"] == {"CRBBB": 100.0}
    assert recs["code15-1004"].extra["scp_codes"] == {"CLBBB": 100.0}
    r = recs["code15-1003"]
    assert r.labels == {"AF": 100.0} and r.superclasses == [] and r.extra["scp_codes"] == {"AFIB": 100.0}
    assert recs["code15-1005"].labels == {"ST": 100.0} and recs["code15-1005"].superclasses == []
    assert recs["code15-1007"].labels == {} and recs["code15-1007"].superclasses == []


def test_bad_rows_rejected_with_reasons_and_good_rows_around_them_read(code15):
    root, _ = code15
    items = read_part(root, "exams_part0.hdf5")
    good = [i for i in items if isinstance(i, ECGRecord)]
    bad = {i.record_id: i.reason for i in items if isinstance(i, Rejected)}
    assert len(good) == 8
    assert set(bad) == {"code15-77777", "code15-2000", "code15-2001"}  # filler exam_id 0 skipped silently
    assert "not in exams.csv" in bad["code15-77777"]
    assert "NaN" in bad["code15-2000"] and "V2" in bad["code15-2000"]
    assert "all zeros" in bad["code15-2001"]


def test_corrupt_and_incomplete_files_rejected_once(code15):
    root, _ = code15
    (r,) = read_part(root, "exams_part1.hdf5")
    assert isinstance(r, Rejected) and r.record_id == "code15-exams_part1"
    assert "unreadable HDF5" in r.reason
    (r,) = read_part(root, "exams_part2.hdf5")
    assert isinstance(r, Rejected) and "no 'tracings' dataset" in r.reason
    (r,) = read_part(root, "exams_part10.hdf5")
    assert isinstance(r, ECGRecord) and r.record_id == "code15-3001" and r.patient_id == "code15-p503"


def test_missing_exams_csv_rejects_the_part(tmp_path, code15):
    root, _ = code15
    (tmp_path / "exams_part0.hdf5").write_bytes((root / "exams_part0.hdf5").read_bytes())
    (item,) = Code15Source().inputs(tmp_path)
    (r,) = Code15Source().read(item)
    assert isinstance(r, Rejected) and "exams.csv" in r.reason and "missing" in r.reason


def test_a_reader_failure_rejects_its_input_in_ingest(tmp_path, code15):
    """An exams.csv without patient_id makes the reader raise; ingest quarantines that part, naming it."""
    root, _ = code15
    data = tmp_path / "data"
    data.mkdir()
    (data / "exams_part0.hdf5").write_bytes((root / "exams_part0.hdf5").read_bytes())
    (data / "exams.csv").write_text("exam_id,age\n1000,40\n")
    report = ingest_source(open_store(tmp_path / "store"), Code15Source(), data)
    assert (report.new, report.rejected) == (0, 1)
    [reject] = open_store(tmp_path / "store").get_jsonl("records/code15/quarantine.jsonl")
    assert reject["id"] == "exams_part0.hdf5" and "exams.csv lacks column(s) patient_id" in reject["reason"]


def test_no_patient_in_two_splits(code15, tmp_path):
    root, _ = code15
    store = open_store(tmp_path)
    ingest_source(store, Code15Source(), root)  # the record writer assigns each patient's split
    recs = read_records(store, "code15")
    splits: dict[str, set] = {}
    for r in recs:
        splits.setdefault(r.patient_id, set()).add(r.split)
    assert all(len(s) == 1 for s in splits.values())
    assert len({r.patient_id for r in recs}) == 6


def test_active_window_keeps_a_signal_that_starts_at_zero():
    trace = np.zeros((4096, 12), np.float32)
    trace[48 + 3 : 48 + 4000] = 1.0  # first 3 recorded samples happen to be exactly 0 in every lead
    assert active_window(trace) == (48, 4048)
    assert active_window(np.zeros((4096, 12), np.float32)) is None
