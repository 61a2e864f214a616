"""Incremental ingest over real WFDB recordings: new / unchanged / changed / rejected."""

import shutil
from pathlib import Path

from ecg_core.ingest import ingest_source
from ecg_core.record_store import read_records
from ecg_core.sources import make_source
from ecg_core.store import open_store
from tests.fixtures import REALDATA


def _copy(names, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        for suffix in (".hea", ".dat"):
            shutil.copy(REALDATA / "wfdb_dat" / f"{name}{suffix}", folder / f"{name}{suffix}")


def test_rerun_reads_only_new_or_changed_inputs_and_quarantines_broken_ones(tmp_path):
    data, store = tmp_path / "data", open_store(tmp_path / "store")
    _copy(["HR06000", "HR06001", "E07500"], data)
    source = make_source("wfdb")

    first = ingest_source(store, source, data)
    assert (first.new, first.unchanged, first.rejected, first.total_records) == (3, 0, 0, 3)

    again = ingest_source(store, source, data)
    assert (again.new, again.unchanged, again.inputs_read) == (0, 3, 0)

    _copy(["HR06002"], data)  # one new record ...
    truncated = (data / "HR06001.dat").read_bytes()[:20_000]
    (data / "HR06001.dat").write_bytes(truncated)  # ... one that changed and is now broken
    third = ingest_source(store, source, data)
    assert (third.new, third.unchanged, third.inputs_read, third.rejected) == (1, 2, 2, 1)
    [reject] = store.get_jsonl("records/wfdb/quarantine.jsonl")
    assert reject["id"] == "HR06001" and "truncated" in reject["reason"]
    records = {r.record_id: r for r in read_records(store, "wfdb")}
    assert set(records) == {"HR06000", "HR06001", "HR06002", "E07500"}  # the earlier good copy is kept
    assert records["HR06002"].signal.shape == (12, 5000) and records["HR06002"].fs == 500.0
