import numpy as np
import pytest

from ecg_core.record_store import Rejected, read_manifest, read_records, write_records
from ecg_core.splits import split_of_patient
from ecg_core.store import open_store
from tests.factories import make_record


def test_bad_records_are_quarantined_and_the_rest_is_stored(tmp_path):
    store = open_store(tmp_path)
    good = [make_record(f"ok-{i}", patient_id=f"p{i % 7}") for i in range(20)]
    nan = make_record("nan-1")
    nan.signal[4, 10] = np.nan
    flat = make_record("flat-1")
    flat.signal[0] = 0.0
    summary = write_records(
        store, "test", good + [nan, flat, Rejected("file-9.hea", "unreadable header")], shard_size=8
    )

    assert (summary.accepted, summary.rejected) == (20, 3)
    assert summary.shards == [f"records/test/shard-{i:05d}.parquet" for i in range(3)]
    quarantine = store.get_jsonl("records/test/quarantine.jsonl")
    assert [q["id"] for q in quarantine] == ["nan-1", "flat-1", "file-9.hea"]
    assert "NaN/inf samples in lead(s) aVL" in quarantine[0]["reason"]
    assert "flat lead(s) I" in quarantine[1]["reason"]
    back = read_records(store, "test")
    assert [r.record_id for r in back] == [r.record_id for r in good]
    assert read_manifest(store, "test").accepted == 20


def test_splits_are_by_patient_and_stable(tmp_path):
    records = [make_record(f"r{i}", patient_id=f"p{i // 3}") for i in range(300)]
    write_records(open_store(tmp_path), "test", records)
    by_patient = {}
    for r in records:
        by_patient.setdefault(r.patient_id, set()).add(r.split)
    assert all(len(s) == 1 for s in by_patient.values())  # no patient in two splits
    counts = {s: sum(r.split == s for r in records) for s in ("train", "val", "test")}
    assert counts["train"] > counts["val"] > 0 and counts["test"] > 0
    assert split_of_patient("p1") == split_of_patient("p1") and records[3].split == split_of_patient("p1")


def test_a_dataset_never_ingested_is_named_with_what_to_do(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no dataset 'ptbxl' in store .*records/ptbxl/manifest.json.*ingest it"
    ):
        read_manifest(open_store(tmp_path), "ptbxl")
