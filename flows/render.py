"""Render: canonical records -> ECG paper images under `images/<dataset>/`, N variants per record,
in batches (one task per records shard), resumable: a re-run with the same config skips finished batches.

    ecgflow render synthetic --config configs/render/default.yaml --store ./demo-store
"""

from __future__ import annotations

from prefect import flow

from ecg_core.render.variants import RenderConfig
from tasks.render import plan_batches, publish_gallery, render_batch, write_index
from tasks.runners import run_batches


@flow(name="render", flow_run_name="render {dataset}")
def render_flow(
    *,
    store: str,
    dataset: str,
    settings: RenderConfig = RenderConfig.load("render/default.yaml"),
    task_runner: str = "threads",
) -> list[dict]:
    """Render a dataset's records as ECG paper images under images/<dataset>/ (N variants each, resumable);
    returns the image index rows. Records that cannot be drawn go to images/<dataset>/quarantine.jsonl and the
    run goes on.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        dataset: dataset name under records/
        settings: variants, dpi, seed, format, print options, artefacts; default configs/render/default.yaml: a
            settings file and keys to replace (`--config render/plain.yaml --set dpi=100`; a deployment's JSON:
            {"config": "render/plain.yaml", "overrides": {"dpi": 100}})
        task_runner: where the batches run: threads[:N], dask[:N] (local cluster), dask:tcp://host:port
    """
    batches = plan_batches(store, dataset)
    calls = [
        {"store_uri": store, "dataset": dataset, "shard_key": shard, "config": settings, "record_ids": ids}
        for shard, ids in batches.items()
    ]
    sizes = [len(ids) * settings.variants for ids in batches.values()]
    done = run_batches(task_runner, render_batch, calls, sizes, f"render {dataset}", "image")
    rows = sorted((row for batch in done for row in batch["rows"]), key=lambda r: (r["record_id"], r["variant"]))
    rejected = [reject for batch in done for reject in batch["rejected"]]
    write_index(store, dataset, rows, rejected, settings.to_dict())
    publish_gallery(store, dataset, rows)
    return rows
