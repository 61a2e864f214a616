"""PTBXLSource on a PTB-XL folder built in tmp_path, in the published layout, from the real pieces in
tests/fixtures/realdata: database rows, scp_statements.csv, and WFDB signals of ecg_id 1 and
6000-6009; plus the superclass aggregation over 8,988 real metadata rows."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from ecg_core.image_store import header_lines
from ecg_core.record_store import Rejected
from ecg_core.records import LEADS, ECGRecord, validate
from ecg_core.sources.ptbxl import (
    PTBXLSource,
    parse_scp_codes,
    read_scp_statements,
    report_language,
    subclasses_for,
    superclasses_for,
)
from ecg_core.sources.reader import Input
from tests.fixtures import PTBXL_DATABASE_SUBSET, REALDATA

PTBXL_NAMES = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]  # as in PTB-XL headers
IDS = range(6000, 6010)


def _write(base: Path, d_signal: np.ndarray, fs: int, gain: list[float], baseline: list[int]) -> None:
    base.parent.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        base.name,
        fs=fs,
        units=["mV"] * 12,
        sig_name=PTBXL_NAMES,
        d_signal=d_signal.astype(np.int16).astype(np.int64),
        fmt=["16"] * 12,
        adc_gain=gain,
        baseline=baseline,
        write_dir=str(base.parent),
    )


def _database_rows() -> tuple[list[str], list[dict]]:
    with open(REALDATA / "meta/ptbxl_database_rows.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


@pytest.fixture(scope="module")
def ptbxl_root(tmp_path_factory) -> Path:
    """records500/06000/060xx_hr from wfdb_dat/HR060xx, records100/06000/060xx_lr decimated from them (as
    PTB-XL made its 100 Hz files), records100/00000/00001_lr as published. ecg_id 1 has no 500 Hz file."""
    root = tmp_path_factory.mktemp("ptbxl")
    for i in IDS:
        rec = wfdb.rdrecord(str(REALDATA / f"wfdb_dat/HR0{i}"), physical=False)
        assert rec.sig_name[3] == "aVR" and rec.fs == 500
        gain, baseline = list(rec.adc_gain), list(rec.baseline)
        _write(root / f"records500/06000/0{i}_hr", rec.d_signal, 500, gain, baseline)
        low = np.round(resample_poly(rec.d_signal.astype(float), 1, 5, axis=0))
        _write(root / f"records100/06000/0{i}_lr", low, 100, gain, baseline)
    (root / "records100/00000").mkdir(parents=True)
    for ext in ("hea", "dat"):
        shutil.copy(REALDATA / f"ptbxl/00001_lr.{ext}", root / f"records100/00000/00001_lr.{ext}")
    shutil.copy(REALDATA / "meta/scp_statements.csv", root / "scp_statements.csv")
    shutil.copy(REALDATA / "meta/ptbxl_database_rows.csv", root / "ptbxl_database.csv")
    return root


def _read_all(source: PTBXLSource, root: Path) -> dict[str, ECGRecord | Rejected]:
    out = {}
    for item in source.inputs(root):
        item.fingerprint()  # must not crash for missing files
        for rec in source.read(item):
            assert rec.record_id not in out
            out[rec.record_id] = rec
    return out


@pytest.fixture(scope="module")
def records500(ptbxl_root):
    return _read_all(PTBXLSource(), ptbxl_root)


def test_read_scp_statements():
    st = read_scp_statements(REALDATA / "meta/scp_statements.csv")
    assert len(st) == 71
    assert sum(s["diagnostic"] for s in st.values()) == 44
    assert sum(s["form"] for s in st.values()) == 19 and sum(s["rhythm"] for s in st.values()) == 12
    assert st["NORM"]["diagnostic_class"] == "NORM" and st["IMI"]["diagnostic_subclass"] == "IMI"
    assert st["1AVB"]["diagnostic_class"] == "CD" and st["1AVB"]["diagnostic_subclass"] == "_AVB"
    assert st["NST_"]["diagnostic"] and st["NST_"]["form"]  # both flags, as published
    assert st["SR"]["rhythm"] and st["SR"]["diagnostic_class"] is None
    assert st["LVOLT"]["form"] and st["LVOLT"]["description"].startswith("low QRS voltages")


def test_inputs_one_per_row_with_published_keys(ptbxl_root):
    items = list(PTBXLSource().inputs(ptbxl_root))
    assert [i.key for i in items] == ["records500/00000/00001_hr"] + [f"records500/06000/0{i}_hr" for i in IDS]
    assert items[1].files == (
        ptbxl_root / "records500/06000/06000_hr.hea",
        ptbxl_root / "records500/06000/06000_hr.dat",
    )
    low = list(PTBXLSource(sampling_rate=100).inputs(ptbxl_root))
    assert low[0].key == "records100/00000/00001_lr"
    assert items[0].fingerprint() != list(PTBXLSource().inputs(ptbxl_root))[1].fingerprint()
    assert items[1].fingerprint() == list(PTBXLSource().inputs(ptbxl_root))[1].fingerprint()  # stable


def test_records_match_database_rows(records500):
    _, rows = _database_rows()
    for row in rows:
        rid = f"ptbxl-{row['ecg_id']}"
        if row["ecg_id"] == "1":
            assert isinstance(records500[rid], Rejected) and "00001_hr.hea is missing" in records500[rid].reason
            continue
        rec = validate(records500[rid])
        assert rec.patient_id == f"ptbxl-p{int(float(row['patient_id']))}"
        assert rec.dataset == "ptbxl" and rec.fs == 500 and rec.signal.shape == (12, 5000)
        assert rec.labels == {k: float(v) for k, v in parse_scp_codes(row["scp_codes"]).items()}
        assert rec.age == float(row["age"]) and rec.sex == {"0": "M", "1": "F"}[row["sex"]]
        fold = int(row["strat_fold"])
        assert rec.extra["strat_fold"] == fold
        assert rec.split == ("test" if fold == 10 else "val" if fold == 9 else "train")
        assert rec.report == row["report"]
        assert rec.extra["source_file"] == row["filename_hr"]
    r = records500
    assert r["ptbxl-6000"].superclasses == ["NORM"] and r["ptbxl-6000"].extra["form_statements"] == ["NT_"]
    assert r["ptbxl-6000"].split == "test" and r["ptbxl-6000"].sex == "F"
    # NST_ is diagnostic (STTC) and a form statement; SR a rhythm statement
    assert r["ptbxl-6001"].superclasses == ["STTC"] and r["ptbxl-6001"].extra["subclasses"] == ["NST_"]
    assert r["ptbxl-6001"].extra["form_statements"] == ["NST_"] and r["ptbxl-6001"].extra["rhythm_statements"] == ["SR"]
    assert r["ptbxl-6001"].extra["report_language"] == "de"
    # IRBBB counts although NORM is also given; SBRAD is a rhythm
    assert r["ptbxl-6002"].superclasses == ["NORM", "CD"] and r["ptbxl-6002"].extra["subclasses"] == ["IRBBB", "NORM"]
    assert r["ptbxl-6002"].extra["rhythm_statements"] == ["SBRAD"] and r["ptbxl-6002"].sex == "M"
    assert r["ptbxl-6002"].extra["report_language"] == "en" and r["ptbxl-6002"].split == "train"
    # a diagnostic statement counts whatever its likelihood (benchmark rule)
    assert r["ptbxl-6005"].labels == {"NORM": 15.0, "SR": 0.0} and r["ptbxl-6005"].superclasses == ["NORM"]
    assert r["ptbxl-6009"].split == "train" and r["ptbxl-6009"].extra["unknown_codes"] == []


def test_lead_order_and_amplitudes_match_the_real_signal(records500):
    rec = records500["ptbxl-6000"]
    ref = wfdb.rdrecord(str(REALDATA / "wfdb_dat/HR06000"))  # physical, mV, leads I..V6 with aVR/aVL/aVF
    for name in ("I", "II", "aVR", "aVF", "V1", "V6"):
        np.testing.assert_allclose(rec.signal[LEADS.index(name)], ref.p_signal[:, ref.sig_name.index(name)], atol=1e-6)
    assert 0.3 < np.ptp(rec.signal[LEADS.index("II")]) < 5  # mV, not ADC counts


def test_recording_date_reaches_the_printout_header(records500):
    rec = records500["ptbxl-6001"]
    assert rec.extra["recorded_at"] == "4/14/91 13:50"  # the database row's recording_date, as written
    assert header_lines(rec) == ["ID ptbxl-6001   Sex F   Age 78", "Recorded 4/14/91 13:50"]


def test_100hz_option_reads_records100(ptbxl_root, records500):
    recs = _read_all(PTBXLSource(sampling_rate=100), ptbxl_root)
    assert all(isinstance(r, ECGRecord) for r in recs.values()), [r for r in recs.values() if isinstance(r, Rejected)]
    one = validate(recs["ptbxl-1"])
    assert one.fs == 100 and one.signal.shape == (12, 1000)
    assert one.labels == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0} and one.superclasses == ["NORM"]
    assert one.extra["subclasses"] == ["NORM"] and one.extra["form_statements"] == ["LVOLT"]
    assert one.extra["rhythm_statements"] == ["SR"] and one.extra["report_language"] == "de"
    assert one.patient_id == "ptbxl-p15709" and one.age == 56 and one.sex == "F" and one.split == "train"
    ref = wfdb.rdrecord(str(REALDATA / "ptbxl/00001_lr"))
    np.testing.assert_allclose(one.signal[LEADS.index("aVL")], ref.p_signal[:, ref.sig_name.index("AVL")], atol=1e-6)
    low = recs["ptbxl-6003"]
    assert low.fs == 100 and low.signal.shape == (12, 1000) and low.extra["source_file"] == "records100/06000/06003_lr"
    hi = records500["ptbxl-6003"].signal[:, ::5]
    assert np.corrcoef(low.signal[1], hi[1])[0, 1] > 0.9  # same recording at the lower rate
    with pytest.raises(ValueError):
        PTBXLSource(sampling_rate=250)


def test_bad_rows_and_files_are_rejected_with_reasons(ptbxl_root, tmp_path):
    root = tmp_path / "bad"
    shutil.copytree(ptbxl_root, root)
    fields, rows = _database_rows()
    template = next(r for r in rows if r["ecg_id"] == "6000")

    def row(ecg_id, **changes):
        return {**template, "ecg_id": str(ecg_id), "filename_hr": f"records500/06000/0{ecg_id}_hr", **changes}

    for name in ("06010_hr", "06011_hr", "06012_hr"):
        for ext in ("hea", "dat"):
            shutil.copy(root / f"records500/06000/06000_hr.{ext}", root / f"records500/06000/{name}.{ext}")
        hea = root / f"records500/06000/{name}.hea"
        hea.write_text(hea.read_text().replace("06000_hr", name))
    dat = root / "records500/06000/06011_hr.dat"
    dat.write_bytes(dat.read_bytes()[:50_001])  # truncated mid-file
    extra_rows = [
        row(6010, scp_codes="{'NORM': 100.0, 'SR': 0.0"),  # malformed dict string
        row(6011),  # truncated .dat
        row(6012, strat_fold="11"),
        row(6013, filename_hr="../../../etc/passwd"),
        row(6014),  # files missing
        row(6015, scp_codes="{'NORM': 'high'}"),
        {**row(6016), "ecg_id": "60/16"},
        row(6017, scp_codes="{'NORM': 100.0, 'XYZ': 50.0}", filename_hr="records500/06000/06000_hr", age="300"),
    ]
    with open(root / "ptbxl_database.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows + extra_rows)

    out = _read_all(PTBXLSource(), root)
    reasons = {k: v.reason for k, v in out.items() if isinstance(v, Rejected)}
    assert "malformed scp_codes" in reasons["ptbxl-6010"]
    assert "truncated" in reasons["ptbxl-6011"] and "06011_hr.dat" in reasons["ptbxl-6011"]
    assert "strat_fold" in reasons["ptbxl-6012"]
    assert "path characters" in reasons["ptbxl-6013"]
    assert "missing" in reasons["ptbxl-6014"]
    assert "non-numeric likelihood" in reasons["ptbxl-6015"]
    assert any("not a positive integer" in r for k, r in reasons.items() if "16" in k)
    assert "00001_hr.hea is missing" in reasons["ptbxl-1"]
    accepted = {k for k, v in out.items() if isinstance(v, ECGRecord)}
    assert accepted == {f"ptbxl-{i}" for i in IDS} | {"ptbxl-6017"}
    odd = validate(out["ptbxl-6017"])
    assert odd.labels == {"NORM": 100.0, "XYZ": 50.0} and odd.extra["unknown_codes"] == ["XYZ"]
    assert odd.superclasses == ["NORM"] and odd.age == 90 and any("300" in n for n in odd.extra["notes"])


def test_plain_input_finds_its_row(ptbxl_root):
    rel = "records500/06000/06004_hr"
    item = Input(key=rel, files=(ptbxl_root / f"{rel}.hea", ptbxl_root / f"{rel}.dat"))
    (rec,) = PTBXLSource().read(item)
    assert isinstance(rec, ECGRecord) and rec.record_id == "ptbxl-6004" and rec.split == "test"


def test_superclass_aggregation_over_real_metadata():
    statements = read_scp_statements(REALDATA / "meta/scp_statements.csv")
    counts: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    n = empty = with_form = 0
    with gzip.open(PTBXL_DATABASE_SUBSET, "rt", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            n += 1
            scp = parse_scp_codes(row["scp_codes"])
            assert scp and all(0 <= v <= 100 for v in scp.values())
            assert all(c in statements for c in scp), row["scp_codes"]
            sup = superclasses_for(scp, statements)
            sub = subclasses_for(scp, statements)
            assert sup == [s for s in ("NORM", "MI", "STTC", "CD", "HYP") if s in sup]
            assert bool(sup) == bool(sub)
            counts.update(sup)
            empty += not sup
            langs[report_language(row["report"])] += 1
            assert int(row["strat_fold"]) in range(1, 11)
            with_form += any(statements[c]["form"] for c in scp)
    assert n == 8988
    # This subset (ECG-Chat's ptbxl_database_form.csv) is every PTB-XL row with a *form* statement, so it is
    # skewed towards pathology: NORM is the rarest superclass here (on the full database it is the most
    # frequent). The counts below are the benchmark aggregation on these real rows.
    assert with_form == n
    assert dict(counts) == {"STTC": 4161, "MI": 4083, "CD": 2225, "HYP": 1708, "NORM": 1027}
    assert empty == 41  # rows with form/rhythm statements only
    assert langs["de"] > 0.2 * n and langs["en"] > 0.1 * n


def test_superclasses_for_examples():
    st = read_scp_statements(REALDATA / "meta/scp_statements.csv")
    assert superclasses_for({"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}, st) == ["NORM"]
    assert superclasses_for({"LVH": 0.0, "CLBBB": 100.0, "IMI": 50.0, "ISC_": 35.0}, st) == ["MI", "STTC", "CD", "HYP"]
    assert superclasses_for({"SR": 0.0, "UNKNOWN": 100.0}, st) == []
    assert subclasses_for({"ILMI": 100.0, "IMI": 50.0, "1AVB": 0.0}, st) == ["IMI", "_AVB"]


def test_ingest_is_incremental(ptbxl_root, tmp_path):
    from ecg_core.ingest import ingest_source
    from ecg_core.record_store import read_records
    from ecg_core.store import LocalStore

    store = LocalStore(tmp_path / "store")
    first = ingest_source(store, PTBXLSource(), ptbxl_root)
    assert (first.new, first.rejected, first.unchanged) == (10, 1, 0)  # ecg_id 1 has no 500 Hz file here
    assert first.splits == {"test": 2, "train": 8}  # strat_fold 10 for 6000 and 6004
    again = ingest_source(store, PTBXLSource(), ptbxl_root)
    assert (again.new, again.rejected, again.unchanged) == (0, 0, 11)
    recs = {r.record_id: r for r in read_records(store, "ptbxl")}
    assert recs["ptbxl-6002"].superclasses == ["NORM", "CD"] and recs["ptbxl-6002"].fs == 500
