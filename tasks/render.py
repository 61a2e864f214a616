"""Render tasks: one task per records shard (not per image), so Prefect overhead stays negligible."""

from prefect import task

from ecg_core.image_store import render_shard
from ecg_core.store import open_store


@task(name="render-shard", tags=["cpu"], retries=1)
def render_records_shard(store_uri: str, dataset: str, shard_key: str, dpi: float) -> list[str]:
    return render_shard(open_store(store_uri), dataset, shard_key, dpi=dpi)
