"""Render tasks: one task per batch of records (a records shard), never one per image, so Prefect's
overhead stays negligible; the index and the gallery artifact once per run."""

from __future__ import annotations

import io

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ecg_core import layout
from ecg_core.image_store import render_shard
from ecg_core.record_store import read_manifest, read_shard_ids
from ecg_core.render.gallery import contact_sheet
from ecg_core.render.variants import RenderConfig
from tasks.artifacts import artifact_key, embedded_image, publishing
from tasks.storage import open_store

GALLERY_SIZE = 6


@task
def plan_batches(store_uri: str, dataset: str) -> dict[str, list[str]]:
    """Record ids to render per shard: of an id written twice (incremental ingest), the later copy only."""
    store = open_store(store_uri)
    latest = {rid: shard for shard in read_manifest(store, dataset).shards for rid in read_shard_ids(store, shard)}
    batches: dict[str, list[str]] = {}
    for rid, shard in latest.items():
        batches.setdefault(shard, []).append(rid)
    return batches


@task(retries=1)
def render_batch(store_uri: str, dataset: str, shard_key: str, config: RenderConfig, record_ids: list[str]) -> dict:
    """{"rows": index rows, "rejected": records that could not be drawn, with the reason}."""
    return render_shard(open_store(store_uri), dataset, shard_key, config, set(record_ids))


@task
def write_index(store_uri: str, dataset: str, rows: list[dict], rejected: list[dict], config: dict) -> str:
    store = open_store(store_uri)
    store.put_jsonl(layout.index_key(dataset), rows)
    store.put_jsonl(layout.images_quarantine_key(dataset), rejected)
    store.put_json(layout.render_config_key(dataset), config)
    if rejected:
        get_run_logger().warning(
            "%d record(s) of %s could not be rendered: see %s",
            len(rejected),
            dataset,
            layout.images_quarantine_key(dataset),
        )
    return layout.index_key(dataset)


@task
def publish_gallery(store_uri: str, dataset: str, rows: list[dict]) -> str:
    """A contact sheet of the first images with their settings, embedded in a markdown artifact."""
    store = open_store(store_uri)
    shown = sorted(rows, key=lambda r: (r["variant"] == 0, r["record_id"]))[:GALLERY_SIZE]  # varied ones first
    sheet = contact_sheet([(store.get_bytes(r["image"]), _caption(r)) for r in shown], thumb_width=400)
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=80)
    gallery_key = layout.gallery_key(dataset)
    store.put_bytes(gallery_key, buffer.getvalue())
    table = "\n".join(f"| [{r['record_id']} v{r['variant']}]({store.url(r['image'])}) | {_caption(r)} |" for r in shown)
    markdown = (
        f"# {dataset}: {len(rows)} images\n\n"
        f"{embedded_image('gallery', buffer.getvalue(), store.url(gallery_key), 'image/jpeg')}\n\n"
        f"| image | settings |\n|---|---|\n{table}\n"
    )
    with publishing(f"the gallery of {dataset}", store.url(gallery_key)):
        create_markdown_artifact(markdown=markdown, key=artifact_key("gallery", dataset))
    return store.url(gallery_key)


def _caption(row: dict) -> str:
    artefacts = ", ".join(row["artefacts"]) or "no artefacts"
    return f"{row['layout']} {row['speed_mm_s']:g} mm/s {row['gain_mm_mv']:g} mm/mV {row['grid']}; {artefacts}"
