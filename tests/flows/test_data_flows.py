"""Ingest -> render -> instruct through real Prefect flows on a real (test) Prefect API."""

import asyncio

import numpy as np
from PIL import Image
from prefect.client.orchestration import get_client

from ecg_core.answers import parse_labels
from ecg_core.instruct import is_detection_sample
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.record_store import read_records
from ecg_core.render import render_ecg
from ecg_core.render.variants import RenderConfig
from ecg_core.store import open_store
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from tests.fixtures import ECGBENCH_REPORTS, REALDATA

DEFAULT_RENDER = "render/default.yaml"  # the render flow's default: varied pages, with artefacts


def _artifact_keys() -> set[str]:
    async def read():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts() if a.key}

    return asyncio.run(read())


def test_data_stages_chain_through_prefect(tmp_path, monkeypatch):
    store_uri = str(tmp_path / "store")
    summary = ingest_flow(store=store_uri, source="synthetic", options={"n_records": 40, "seed": 3, "fs": 250.0})
    assert (summary["new"], summary["rejected"], summary["total_records"]) == (40, 0, 40)
    again = ingest_flow(store=store_uri, source="synthetic", options={"n_records": 40, "seed": 3, "fs": 250.0})
    assert (again["new"], again["unchanged"], again["total_records"]) == (0, 1, 40)  # incremental: nothing new
    store = open_store(store_uri)
    records = read_records(store, "synthetic")
    assert {r.split for r in records} <= {"train", "val", "test"} and len(records) == 40

    rows = render_flow(
        store=store_uri, dataset="synthetic", settings=RenderConfig.load(DEFAULT_RENDER, {"dpi": 60.0, "variants": 2})
    )
    assert len(rows) == 80 and store.get_jsonl("images/synthetic/index.jsonl") == sorted(
        rows, key=lambda r: (r["record_id"], r["variant"])
    )
    assert {r["variant"] for r in rows} == {0, 1} and all(r["artefacts"] == {} for r in rows if r["variant"] == 0)
    assert any(r["artefacts"] for r in rows) and {r["image"][-4:] for r in rows} == {".png", ".jpg"}
    for row in rows[:6]:
        image = Image.open(store.local_dir("") / row["image"]).convert("RGB")
        assert image.width > image.height and np.asarray(image).std() > 10  # a printout, not a blank page
        assert store.get_json(row["geometry"])["leads"][0]["trace"]
    assert store.exists("images/synthetic/gallery.jpg")

    stats = instruct_flow(store=store_uri, name="t", datasets=["synthetic"], settings=InstructConfig(seed=3))
    assert set(stats["per_family"]) == {
        "abnormality_detection",
        "report_generation",
        "rhythm",
        "morphology",
        "measurement",
    }
    assert stats["per_family"]["report_generation"] == 80 and stats["skipped"] == 0
    by_id = {r.record_id: r for r in records}
    for split in ("train", "val", "test"):
        for sample in store.get_jsonl(f"instruct/t/{split}.jsonl"):
            record = by_id[sample["record_id"]]
            assert sample["split"] == record.split == split and store.exists(sample["image"])
            if is_detection_sample(sample):
                assert parse_labels(sample["conversations"][1]["value"]) == frozenset(record.superclasses)
    assert store.exists("instruct/t/hf/dataset_dict.json") and store.exists("instruct/t/parquet/train.parquet")
    assert {"gallery-synthetic", "instruct-t-stats"} <= _artifact_keys()


def test_render_resumes_finished_batches_and_redraws_for_a_new_config(tmp_path, monkeypatch):
    import ecg_core.image_store as image_store

    store_uri = str(tmp_path / "store")
    ingest_flow(store=store_uri, source="synthetic", options={"n_records": 10, "fs": 250.0})
    pages = RenderConfig.load(DEFAULT_RENDER, {"dpi": 50.0})
    first = render_flow(store=store_uri, dataset="synthetic", settings=pages)
    drawn = []
    monkeypatch.setattr(image_store, "render_ecg", lambda *a, **k: drawn.append(1) or render_ecg(*a, **k))
    assert render_flow(store=store_uri, dataset="synthetic", settings=pages) == first and not drawn
    changed = render_flow(store=store_uri, dataset="synthetic", settings=pages.updated({"seed": 1}))
    assert len(drawn) == len(changed) == len(first) and changed != first


def test_a_record_that_cannot_be_drawn_is_set_aside_and_the_rest_rendered(tmp_path, monkeypatch):
    import ecg_core.image_store as image_store

    def broken_for_one(signal, fs, *args, **kwargs):
        if signal is broken.signal:
            raise ValueError("signal must be [12, N]")
        return render_ecg(signal, fs, *args, **kwargs)

    store_uri = str(tmp_path / "store")
    ingest_flow(store=store_uri, source="synthetic", options={"n_records": 6, "fs": 250.0})
    store = open_store(store_uri)
    broken = read_records(store, "synthetic")[2]
    monkeypatch.setattr(
        image_store,
        "read_shard",
        lambda *a: [broken if r.record_id == broken.record_id else r for r in read_records(store, "synthetic")],
    )
    monkeypatch.setattr(image_store, "render_ecg", broken_for_one)
    rows = render_flow(
        store=store_uri, dataset="synthetic", settings=RenderConfig.load(DEFAULT_RENDER, {"dpi": 40.0, "variants": 2})
    )
    assert len(rows) == 10 and broken.record_id not in {r["record_id"] for r in rows}
    [reject] = store.get_jsonl("images/synthetic/quarantine.jsonl")
    assert reject == {"id": broken.record_id, "reason": "cannot render: signal must be [12, N]"}
    stats = instruct_flow(
        store=store_uri,
        name="q",
        datasets=["synthetic"],
        settings=InstructConfig(
            families=["abnormality_detection"], topics=["superclass"], styles=["open"], export_hf=False
        ),
    )
    assert stats["n"] == 10 and stats["skipped"] == 1


def test_rejected_records_are_reported_and_the_rest_goes_on(tmp_path, monkeypatch):
    import ecg_core.sources.synthetic as synthetic_source
    from ecg_core.synth import synthesize_records

    def with_one_corrupt(n, **kwargs):
        records = synthesize_records(n, **kwargs)
        records[2].signal[5, :] = np.nan
        return records

    monkeypatch.setattr(synthetic_source, "synthesize_records", with_one_corrupt)
    store_uri = str(tmp_path / "store")
    summary = ingest_flow(store=store_uri, source="synthetic", options={"n_records": 12, "fs": 250.0})
    assert (summary["new"], summary["rejected"]) == (11, 1)
    [reject] = open_store(store_uri).get_jsonl("records/synthetic/quarantine.jsonl")
    assert reject["id"] == "synth-000002" and "NaN/inf" in reject["reason"] and "aVF" in reject["reason"]


def test_real_files_go_through_the_ingest_flow(tmp_path):
    store_uri = str(tmp_path / "store")
    report = ingest_flow(store=store_uri, source="challenge", path=str(REALDATA / "ningbo"))
    # Ningbo JS20008 has flat V2, V4 and V6: quarantined with that reason, the other 7 are stored.
    assert (report["new"], report["rejected"]) == (7, 1)
    [reject] = open_store(store_uri).get_jsonl("records/challenge/quarantine.jsonl")
    assert reject == {"id": "JS20008", "reason": "flat lead(s) V2, V4, V6"}

    counts = ingest_flow(
        store=store_uri,
        source="ecgbench",
        path=str(ECGBENCH_REPORTS),
        name="bench",
    )
    assert counts["n"] == 500 and counts["per_family"] == {"report_generation": 500}
    first = open_store(store_uri).get_jsonl("instruct/bench/test.jsonl")[0]
    assert first["conversations"][0]["value"].startswith("<image>\n") and first["source"] == "ptbxl"


def test_ingest_and_synthesis_on_a_local_dask_cluster_match_the_threaded_run(tmp_path):
    """Chunks of inputs read by 2 Dask worker processes give the records, splits and quarantine of one
    sequential read; their shards then render as parallel batches to the same images as with threads."""
    folder = str(REALDATA / "ningbo")
    threaded, spread = str(tmp_path / "threads"), str(tmp_path / "dask")
    one = ingest_flow(store=threaded, source="challenge", path=folder)
    many = ingest_flow(store=spread, source="challenge", path=folder, task_runner="dask:2", inputs_per_task=3)
    assert {k: many[k] for k in ("new", "rejected", "total_records", "splits")} == {
        k: one[k] for k in ("new", "rejected", "total_records", "splits")
    }
    stores = open_store(threaded), open_store(spread)
    assert len(stores[1].get_json("records/challenge/manifest.json")["shards"]) == 3  # 8 inputs in chunks of 3
    records = [sorted((r.record_id, r.split, r.signal.tobytes()) for r in read_records(s, "challenge")) for s in stores]
    assert records[0] == records[1]
    assert stores[0].get_jsonl("records/challenge/quarantine.jsonl") == stores[1].get_jsonl(
        "records/challenge/quarantine.jsonl"
    )

    settings = RenderConfig.load(DEFAULT_RENDER, {"dpi": 40.0, "variants": 2})
    rows = render_flow(
        store=spread, dataset="challenge", settings=settings, task_runner="dask:2"
    )  # 3 batches on 2 workers
    assert rows == render_flow(store=threaded, dataset="challenge", settings=settings) and len(rows) == 14
    for row in rows[:4]:
        assert stores[0].get_bytes(row["image"]) == stores[1].get_bytes(row["image"])  # deterministic by seed
