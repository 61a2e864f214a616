"""MimicSource on a MIMIC-IV-ECG-layout folder built in tmp_path from REAL recordings (tests/fixtures/realdata).

Real 500 Hz recordings are written with wfdb.wrsamp under files/pNNNN/pNNNNNNNN/sNNNNNNNN/ in MIMIC's
lead order (aVF before aVL, gain 200/mV as MIMIC stores them), with record_list.csv and
machine_measurements.csv as published.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg_core.record_store import Rejected, read_records, write_records
from ecg_core.records import LEADS, ECGRecord, validate
from ecg_core.sources.mimic import MimicSource, join_report
from ecg_core.sources.reader import Input
from ecg_core.store import open_store
from tests.fixtures import REALDATA

MIMIC_LEADS = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
MM_COLUMNS = [
    "subject_id",
    "study_id",
    "cart_id",
    "ecg_time",
    *[f"report_{i}" for i in range(18)],
    "bandwidth",
    "filtering",
    "rr_interval",
    "p_onset",
    "p_end",
    "qrs_onset",
    "qrs_end",
    "t_end",
    "p_axis",
    "qrs_axis",
    "t_axis",
]
# (source recording, subject, study, report lines, rr, p_onset, p_end, qrs_onset, qrs_end, t_end, axes)
SPEC = [
    ("HR06000", 10000032, 40689238, ["Sinus rhythm", "Normal ECG"], 857, 40, 128, 202, 298, 604, (51, 38, 43)),
    (
        "HR06001",
        10000032,
        44458630,
        ["Sinus rhythm", "Possible inferior infarct - age undetermined", "Borderline ECG"],
        1000,
        30,
        120,
        190,
        282,
        600,
        (60, -10, 40),
    ),
    (
        "E07500",
        10000117,
        45090959,
        ["Atrial fibrillation.", "Left ventricular hypertrophy", "Abnormal ECG"],
        620,
        29999,
        29999,
        236,
        340,
        610,
        (29999, 12, 80),
    ),
    (
        "JS20000",
        10000560,
        41234567,
        ["Sinus tachycardia", "", "Otherwise normal ECG"],
        560,
        20,
        104,
        160,
        246,
        480,
        (45, 70, 55),
    ),
    ("HR06002", 10001725, 42000001, ["Sinus bradycardia"], 1200, 50, 140, 220, 310, 660, (30, 20, 30)),
    ("JS20002", 10001725, 42000002, [], 900, 40, 130, 200, 290, 590, (40, 30, 35)),
]


def real(name: str) -> np.ndarray:
    rec = wfdb.rdrecord(str(REALDATA / "wfdb_dat" / name))
    assert [n.upper() for n in rec.sig_name] == [n.upper() for n in LEADS]
    return rec.p_signal.astype(np.float64)  # [5000, 12] canonical order, mV


def rel_path(subject: int, study: int) -> str:
    return f"files/p{str(subject)[:4]}/p{subject}/s{study}/{study}"


def write_record(root: Path, subject: int, study: int, sig: np.ndarray) -> None:
    folder = root / Path(rel_path(subject, study)).parent
    folder.mkdir(parents=True, exist_ok=True)
    mimic_order = sig[:, [LEADS.index(n) for n in MIMIC_LEADS]]
    wfdb.wrsamp(
        str(study),
        fs=500,
        units=["mV"] * 12,
        sig_name=MIMIC_LEADS,
        p_signal=mimic_order,
        fmt=["16"] * 12,
        adc_gain=[200.0] * 12,
        baseline=[0] * 12,
        write_dir=str(folder),
    )


@pytest.fixture(scope="module")
def mimic(tmp_path_factory):
    root = tmp_path_factory.mktemp("mimic")
    originals, rl_rows, mm_rows = {}, [], []
    for name, subject, study, report, rr, pon, pend, qon, qend, tend, (pa, qa, ta) in SPEC:
        sig = real(name)
        originals[study] = sig
        write_record(root, subject, study, sig)
        rl_rows.append(
            {
                "subject_id": subject,
                "study_id": study,
                "file_name": study,
                "ecg_time": "2180-07-23 08:44:00",
                "path": rel_path(subject, study),
            }
        )
        mm = {c: "" for c in MM_COLUMNS}
        mm.update({f"report_{i}": line for i, line in enumerate(report)})
        mm.update(
            subject_id=subject,
            study_id=study,
            cart_id=6848296,
            ecg_time="2180-07-23 08:44:00",
            bandwidth="0.005-150 Hz",
            filtering="60 Hz notch Baseline filter",
            rr_interval=rr,
            p_onset=pon,
            p_end=pend,
            qrs_onset=qon,
            qrs_end=qend,
            t_end=tend,
            p_axis=pa,
            qrs_axis=qa,
            t_axis=ta,
        )
        mm_rows.append(mm)
    # bad inputs between good ones: a missing .dat, a truncated .dat, a 3-lead record, an unsafe path, and a
    # study with no machine_measurements row (kept, without report)
    bad = {
        "missing_dat": (10002000, 43000001),
        "truncated": (10002001, 43000002),
        "three_leads": (10002002, 43000003),
        "no_measurements": (10002003, 43000004),
    }
    for kind, (subject, study) in bad.items():
        write_record(root, subject, study, real("HR06003"))
        rl_rows.insert(
            2,
            {
                "subject_id": subject,
                "study_id": study,
                "file_name": study,
                "ecg_time": "2181-01-01 10:00:00",
                "path": rel_path(subject, study),
            },
        )
    dat = lambda k: root / f"{rel_path(*bad[k])}.dat"  # noqa: E731
    dat("missing_dat").unlink()
    dat("truncated").write_bytes(dat("truncated").read_bytes()[:5000])
    subject, study = bad["three_leads"]
    folder = (root / rel_path(subject, study)).parent
    wfdb.wrsamp(
        str(study),
        fs=500,
        units=["mV"] * 3,
        sig_name=["I", "II", "III"],
        p_signal=real("HR06003")[:, :3],
        fmt=["16"] * 3,
        adc_gain=[200.0] * 3,
        baseline=[0] * 3,
        write_dir=str(folder),
    )
    for k in ("missing_dat", "truncated", "three_leads"):
        mm = {c: "" for c in MM_COLUMNS}
        mm.update(subject_id=bad[k][0], study_id=bad[k][1], report_0="Sinus rhythm")
        mm_rows.append(mm)
    rl_rows.append({"subject_id": 1, "study_id": 2, "file_name": 2, "ecg_time": "", "path": "../../etc/passwd"})
    for name, rows, cols in [
        ("record_list.csv", rl_rows, ["subject_id", "study_id", "file_name", "ecg_time", "path"]),
        ("machine_measurements.csv", mm_rows, MM_COLUMNS),
    ]:
        with open(root / name, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
    return root, originals, bad


@pytest.fixture(scope="module")
def items(mimic):
    root = mimic[0]
    src = MimicSource()
    return [r for item in src.inputs(root) for r in src.read(item)]


def good(items) -> dict[str, ECGRecord]:
    return {r.record_id: r for r in items if isinstance(r, ECGRecord)}


def test_inputs_one_per_record_list_row(mimic):
    root, _, _ = mimic
    inputs = list(MimicSource().inputs(root))
    assert len(inputs) == len(SPEC) + 4 + 1
    first = inputs[0]
    assert first.key == "files/p1000/p10000032/s40689238/40689238"
    assert first.files == (root / f"{first.key}.hea", root / f"{first.key}.dat")


def test_signal_round_trip_and_lead_order(mimic, items):
    _, originals, _ = mimic
    recs = good(items)
    for study, orig in originals.items():
        rec = validate(recs[f"mimic-{study}"])
        assert rec.signal.shape == (12, 5000) and rec.fs == 500.0
        for lead in ("aVL", "aVF", "II", "V3"):
            got, want = rec.signal[LEADS.index(lead)], orig[:, LEADS.index(lead)]
            assert np.corrcoef(got, want)[0, 1] > 0.99
            assert np.abs(got - want).max() < 0.01  # gain 200/mV: 5 uV quantisation
    # aVL really is aVL (MIMIC stores aVF in column 5, aVL in column 6)
    rec, orig = recs["mimic-40689238"], originals[40689238]
    assert np.corrcoef(rec.signal[LEADS.index("aVL")], orig[:, LEADS.index("aVF")])[0, 1] < 0.9


def test_ids_report_measurements_and_credentialed(items):
    recs = good(items)
    r = recs["mimic-40689238"]
    assert r.patient_id == "mimic-p10000032" and r.dataset == "mimic-iv-ecg"
    assert r.report == "Sinus rhythm. Normal ECG."
    assert r.labels == {} and r.superclasses == [] and r.split is None
    assert r.extra["credentialed"] is True
    assert r.extra["measurements"] == {
        "rr_ms": 857.0,
        "heart_rate_bpm": 70.0,
        "pr_ms": 162.0,
        "qrs_ms": 96.0,
        "qt_ms": 402.0,
        "p_axis": 51.0,
        "qrs_axis": 38.0,
        "t_axis": 43.0,
    }
    assert r.extra["machine"]["bandwidth"] == "0.005-150 Hz"
    assert r.extra["recorded_at"] == "2180-07-23 08:44:00"  # the study's ecg_time, for the printout header
    assert recs["mimic-44458630"].report == (
        "Sinus rhythm. Possible inferior infarct - age undetermined. Borderline ECG."
    )
    af = recs["mimic-45090959"]
    assert af.report == "Atrial fibrillation. Left ventricular hypertrophy. Abnormal ECG."
    assert af.extra["measurements"]["pr_ms"] is None and af.extra["measurements"]["p_axis"] is None  # 29999
    assert af.extra["measurements"]["qrs_ms"] == 104.0
    assert recs["mimic-41234567"].report == "Sinus tachycardia. Otherwise normal ECG."
    assert recs["mimic-42000002"].report == ""
    assert all(r.extra["credentialed"] is True for r in recs.values())


def test_bad_inputs_rejected_with_reasons_good_ones_read(mimic, items):
    _, _, bad = mimic
    rejected = {r.record_id: r.reason for r in items if isinstance(r, Rejected)}
    assert "missing" in rejected[f"mimic-{bad['missing_dat'][1]}"]
    assert "truncated" in rejected[f"mimic-{bad['truncated'][1]}"]
    assert "missing standard lead(s) aVR, aVL, aVF" in rejected[f"mimic-{bad['three_leads'][1]}"]
    (unsafe,) = [reason for rid, reason in rejected.items() if "passwd" in rid]
    assert "is not files/" in unsafe
    assert len(rejected) == 4
    recs = good(items)
    assert len(recs) == len(SPEC) + 1
    kept = recs[f"mimic-{bad['no_measurements'][1]}"]
    assert kept.report == "" and kept.extra["measurements"] == {} and "recorded_at" not in kept.extra
    assert any("not in machine_measurements.csv" in n for n in kept.extra["notes"])


def test_no_subject_in_two_splits(items, tmp_path):
    store = open_store(tmp_path)
    write_records(store, "mimic", good(items).values())  # the record writer assigns each patient's split
    recs = read_records(store, "mimic")
    by_patient: dict[str, set] = {}
    for r in recs:
        by_patient.setdefault(r.patient_id, set()).add(r.split)
    assert all(len(s) == 1 for s in by_patient.values())
    assert len(by_patient["mimic-p10000032"]) == 1 and len(by_patient) == 5


def test_join_report():
    assert join_report(["Sinus rhythm", "Normal ECG"]) == "Sinus rhythm. Normal ECG."
    assert join_report(["", "  ", "Abnormal ECG."]) == "Abnormal ECG."
    assert join_report([]) == ""


def test_missing_measurements_file_keeps_records(tmp_path, mimic):
    root, _, _ = mimic
    key = "files/p1000/p10000032/s40689238/40689238"
    # the same record, read through a root that has no machine_measurements.csv
    (tmp_path / key).parent.mkdir(parents=True)
    for suffix in (".hea", ".dat"):
        (tmp_path / f"{key}{suffix}").write_bytes((root / f"{key}{suffix}").read_bytes())
    item = Input(key=key, files=(tmp_path / f"{key}.hea", tmp_path / f"{key}.dat"))
    (r,) = MimicSource().read(item)
    assert isinstance(r, ECGRecord) and r.report == ""
    assert any("machine_measurements.csv not found" in n for n in r.extra["notes"])
