"""WFDBSource on the real recordings in tests/fixtures/realdata and on broken copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ecg_core.labels import SCP_STATEMENTS, SNOMED, SNOMED_TO_SCP
from ecg_core.record_store import Rejected
from ecg_core.records import LEADS, ECGRecord, validate
from ecg_core.sources.reader import Input
from ecg_core.sources.wfdb_source import WFDBSource
from tests.fixtures import REALDATA


def read(rel: str, source: WFDBSource | None = None) -> list[ECGRecord | Rejected]:
    src = source or WFDBSource()
    header = REALDATA / f"{rel}.hea"
    item = Input(key=rel, files=(header, *sorted(header.parent.glob(f"{header.stem}.[dmx]*"))))
    return list(src.read(item))


def read_one(rel: str) -> ECGRecord:
    (rec,) = read(rel)
    assert isinstance(rec, ECGRecord), rec
    return validate(rec)


def lead(rec: ECGRecord, name: str) -> np.ndarray:
    return rec.signal[LEADS.index(name)]


def test_snomed_tables_are_consistent():
    assert SNOMED["426783006"] == ("NSR", "sinus rhythm")
    assert len(SNOMED) == 133
    assert all(code in SNOMED and scp in SCP_STATEMENTS for code, scp in SNOMED_TO_SCP.items())
    assert SNOMED_TO_SCP["164889003"] == "AFIB" and SNOMED_TO_SCP["59118001"] == "CRBBB"


def test_inputs_lists_headers_with_their_signal_files():
    items = list(WFDBSource().inputs(REALDATA))
    keys = [i.key for i in items]
    assert keys == sorted(keys)
    by_key = {i.key: i for i in items}
    assert by_key["ptbxl/HR06000"].files == (REALDATA / "ptbxl/HR06000.hea", REALDATA / "ptbxl/HR06000.mat")
    assert by_key["ptb/s0010_re"].files == (
        REALDATA / "ptb/s0010_re.hea",
        REALDATA / "ptb/s0010_re.dat",
        REALDATA / "ptb/s0010_re.xyz",
    )
    assert "wfdb_dat/HR06000" in by_key and "muse/muse-af" in by_key


def test_ptbxl_mat_is_scaled_to_mv_labelled_and_equals_the_dat_copy():
    rec = read_one("ptbxl/HR06000")
    assert rec.record_id == "HR06000" and rec.dataset == "wfdb"
    assert rec.signal.shape == (12, 5000) and rec.fs == 500 and rec.signal.dtype == np.float32
    assert rec.age == 59 and rec.sex == "F"
    # Header: "# Dx: 164934002,426783006" = T-wave abnormal (PTB-XL NT_), sinus rhythm (SR)
    assert rec.labels == {"NT_": 100.0, "SR": 100.0}
    assert rec.superclasses == []
    assert rec.extra["snomed_codes"] == ["164934002", "426783006"] and rec.extra["unknown_codes"] == []
    assert rec.extra["source_file"] == "ptbxl/HR06000" and rec.extra["fs_original"] == 500.0
    # Raw ADC counts / gain 1000 -> mV: first sample of lead I is 10 counts = 0.01 mV, V6 is 625 = 0.625 mV
    assert lead(rec, "I")[0] == pytest.approx(0.010, abs=1e-6)
    assert lead(rec, "V6")[0] == pytest.approx(0.625, abs=1e-6)
    assert 0.3 < np.abs(rec.signal).max() < 5.0
    dat = read_one("wfdb_dat/HR06000")
    np.testing.assert_allclose(rec.signal, dat.signal, atol=1e-6)
    assert dat.labels == rec.labels


def test_ptbxl_superclasses_follow_the_mapped_scp_codes():
    rec = read_one("ptbxl/HR06002")  # Dx: SB, NSR, IRBBB (PTB-XL: NORM, IRBBB, SBRAD)
    assert rec.labels == {"SBRAD": 100.0, "SR": 100.0, "IRBBB": 100.0}
    assert rec.superclasses == ["CD"]


def test_ptbxl_100hz_record_is_resampled_to_500():
    rec = read_one("ptbxl/00001_lr")
    assert rec.fs == 500 and rec.signal.shape == (12, 5000)
    assert rec.extra["fs_original"] == 100.0
    assert any("100 -> 500" in n for n in rec.extra["notes"])
    # Header: AVR/AVL/AVF upper-case -> canonical names; first sample of lead I is -119/1000 mV
    assert lead(rec, "I")[0] == pytest.approx(-0.119, abs=0.02)
    assert np.abs(rec.signal).max() < 5.0


def test_georgia_labels():
    rec = read_one("georgia/E07509")  # Dx: 59118001 (RBBB), 426177001 (SB)
    assert rec.labels == {"CRBBB": 100.0, "SBRAD": 100.0}
    assert rec.superclasses == ["CD"]
    assert rec.age == 71 and rec.sex == "M"
    rec = read_one("georgia/E07500")  # Dx: 67741000119109 (LAE), 426177001 (SB)
    assert rec.labels == {"LAO/LAE": 100.0, "SBRAD": 100.0} and rec.superclasses == ["HYP"]


def test_ningbo_labels_keep_codes_without_scp_counterpart():
    rec = read_one("ningbo/JS20000")  # Dx: PAC, STach, NSIVCB, STC
    assert rec.labels == {"PAC": 100.0, "STACH": 100.0, "IVCD": 100.0, "NST_": 100.0}
    assert rec.superclasses == ["STTC", "CD"]
    assert (rec.age, rec.sex) == (84.0, "F")
    rec = read_one("ningbo/JS20017")  # includes 164930006 (STIAb) and 365413008 (PRWP): no SCP code
    assert rec.labels["STIAb"] == 100.0 and rec.labels["PRWP"] == 100.0
    assert rec.extra["unmapped_codes"] == ["164930006", "365413008"]


def test_ptb_15_leads_1000hz_become_three_12_lead_windows():
    recs = read("ptb/s0010_re")
    assert [r.record_id for r in recs] == ["s0010_re_w0", "s0010_re_w1", "s0010_re_w2"]
    for i, rec in enumerate(recs):
        validate(rec)
        assert rec.signal.shape == (12, 5000) and rec.fs == 500
        assert rec.patient_id == "s0010_re" and rec.age == 81 and rec.sex == "F"
        assert rec.extra["fs_original"] == 1000.0 and rec.extra["window"] == i
        assert any("vx, vy, vz" in n for n in rec.extra["notes"])
    # The derived copy is the first 10 s of the 12 standard leads resampled to 500 Hz: same as window 0.
    ref = read_one("wfdb_dat/s0010_re_12l500")
    inner = slice(50, -50)  # resampling edge effects differ where the derived copy was cut before filtering
    np.testing.assert_allclose(recs[0].signal[:, inner], ref.signal[:, inner], atol=5e-3)
    assert ref.labels == {"SNOMED:164865005": 100.0}  # generic MI: no PTB-XL SCP code, kept, not dropped
    assert ref.extra["unmapped_codes"] == ["164865005"]


def test_ludb_record_with_free_text_diagnoses():
    rec = read_one("ludb/1")
    assert rec.signal.shape == (12, 5000) and rec.age == 51 and rec.sex == "F"
    assert rec.labels == {}
    assert "Sinus bradycardia" in rec.report and "Left ventricular hypertrophy" in rec.report
    assert np.abs(rec.signal).max() < 5.0


def test_muse_tab_delimited_header():
    assert "\t" in (REALDATA / "muse/muse-af.hea").read_text().splitlines()[1]
    rec = read_one("muse/muse-af")
    assert rec.signal.shape == (12, 5000) and rec.fs == 500
    # Lead order in the file is I, II, III, AVF, AVL, AVR: reordered by name; first sample of aVR is 46/200 mV
    assert lead(rec, "aVR")[0] == pytest.approx(46 / 200, abs=1e-6)
    assert lead(rec, "aVF")[0] == pytest.approx(-27 / 200, abs=1e-6)
    assert rec.age == 71 and rec.sex == "F" and rec.patient_id == "074747981"
    assert rec.report.startswith("Atrial fibrillation, with rapid ventricular response")


@pytest.mark.parametrize(
    "rel", ["ptbxl/HR06003", "georgia/E07505", "ningbo/JS20014", "muse/muse-sinus", "ptb/s0010_re"]
)
def test_einthoven_iii_equals_ii_minus_i(rel):
    rec = read(rel)[0]
    residual = lead(rec, "III") - (lead(rec, "II") - lead(rec, "I"))
    assert np.abs(residual).max() < 0.01  # mV: ADC rounding only
    assert np.abs(lead(rec, "aVR") + (lead(rec, "I") + lead(rec, "II")) / 2).max() < 0.01  # aVR = -(I + II) / 2
    assert not any("Einthoven" in n for n in rec.extra["notes"])


def test_ludb_header_gains_break_einthoven_and_are_flagged():
    # This copy of LUDB record 1 has per-lead gains (1716, 1206, 1229 ... /mV) although its raw ADC samples
    # satisfy III = II - I exactly, i.e. share one gain: the header gains are wrong. The reader keeps the
    # record (it is plausible otherwise) and says so in a note.
    import wfdb

    raw = wfdb.rdrecord(str(REALDATA / "ludb/1"), physical=False).d_signal.astype(int)
    assert np.array_equal(raw[:, 2], raw[:, 1] - raw[:, 0])
    rec = read_one("ludb/1")
    assert any(n.startswith("Einthoven check failed") for n in rec.extra["notes"])


def test_header_base_date_is_the_recording_date():
    assert read_one("muse/muse-af").extra["recorded_at"] == "2010-01-04 11:10:04"  # "11:10:04 04/01/2010"
    assert "recorded_at" not in read_one("georgia/E07505").extra  # no base date in the header


def test_challenge_name():
    (rec,) = read("georgia/E07505", WFDBSource(name="challenge"))
    assert rec.dataset == "challenge"


# --- bad inputs: each becomes a Rejected with a specific reason, never an exception -----------------------


def copy_record(tmp_path: Path, rel: str, name: str | None = None) -> Path:
    src = REALDATA / f"{rel}.hea"
    for f in src.parent.glob(f"{src.stem}.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / src.name


def read_tmp(tmp_path: Path) -> list:
    src = WFDBSource()
    return [r for item in src.inputs(tmp_path) for r in src.read(item)]


def test_truncated_dat_is_rejected(tmp_path):
    copy_record(tmp_path, "ptbxl/00001_lr")
    dat = tmp_path / "00001_lr.dat"
    dat.write_bytes(dat.read_bytes()[:10001])  # cut mid-frame
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and rej.record_id == "00001_lr"
    assert (
        "'00001_lr.dat' is truncated" in rej.reason
        and "holds 416 samples" in rej.reason
        and "declares 1000" in rej.reason
    )


def test_header_claiming_more_samples_than_the_data_is_rejected(tmp_path):
    hea = copy_record(tmp_path, "ptbxl/HR06000")
    lines = hea.read_text().splitlines()
    lines[0] = "HR06000 12 500 6000"
    hea.write_text("\n".join(lines) + "\n")
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected)
    assert "'HR06000.mat' is shorter than the header says" in rej.reason
    assert "holds 5000 samples" in rej.reason and "declares 6000" in rej.reason


def test_missing_signal_file_is_rejected(tmp_path):
    copy_record(tmp_path, "georgia/E07500")
    (tmp_path / "E07500.mat").unlink()
    items = list(WFDBSource().inputs(tmp_path))
    assert items[0].files[1].name == "E07500.mat"  # still listed, so the fingerprint says "missing"
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and rej.reason == "signal file 'E07500.mat' named in the header is missing"


def test_missing_extra_signal_file_is_rejected(tmp_path):
    copy_record(tmp_path, "ptb/s0010_re")
    (tmp_path / "s0010_re.xyz").unlink()
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and "'s0010_re.xyz'" in rej.reason and "missing" in rej.reason


def test_unreadable_header_is_rejected(tmp_path):
    (tmp_path / "junk.hea").write_text("this is not a wfdb header\nat all\n")
    (tmp_path / "junk.dat").write_bytes(b"\0" * 100)
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and rej.record_id == "junk"
    assert rej.reason.startswith("unreadable header 'junk.hea'")


def test_binary_garbage_header_is_rejected(tmp_path):
    (tmp_path / "bin.hea").write_bytes(bytes(range(256)))
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and rej.record_id == "bin" and "header" in rej.reason


def test_record_id_with_path_characters_is_rejected(tmp_path):
    hea = copy_record(tmp_path, "ptbxl/HR06000")
    bad = tmp_path / "bad name;rm.hea"
    hea.rename(bad)
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and "path or unsafe characters" in rej.reason
    (rej,) = WFDBSource().read(Input(key="../../etc/HR06000", files=(REALDATA / "ptbxl/HR06000.hea",)))
    assert isinstance(rej, Rejected) and "path characters" in rej.reason


def test_missing_standard_lead_is_rejected(tmp_path):
    hea = copy_record(tmp_path, "ptbxl/HR06000")
    hea.write_text(hea.read_text().replace(" V4\n", " X4\n"))
    (rej,) = read_tmp(tmp_path)
    assert isinstance(rej, Rejected) and rej.reason.startswith("missing standard lead(s) V4")


def test_unknown_snomed_code_is_kept(tmp_path):
    hea = copy_record(tmp_path, "ptbxl/HR06000")
    hea.write_text(hea.read_text().replace("# Dx: 164934002,426783006", "# Dx: 426783006,999999999"))
    (rec,) = read_tmp(tmp_path)
    assert rec.labels == {"SR": 100.0, "SNOMED:999999999": 100.0}
    assert rec.extra["unknown_codes"] == ["999999999"]
