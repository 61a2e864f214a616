"""Rendered images in the store: `images/<dataset>/<record_id>.png` plus a geometry sidecar `.json`.

Rendering goes shard by shard; a finished shard leaves `images/<dataset>/_done/<shard>.json`, so a
re-run skips it (resumable at shard granularity, cheap to check in object stores too).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ecg_core.instruct import image_key
from ecg_core.record_store import read_shard
from ecg_core.render import render_ecg, save_png
from ecg_core.store import Store


def done_marker(dataset: str, shard_key: str) -> str:
    return f"images/{dataset}/_done/{PurePosixPath(shard_key).stem}.json"


def render_shard(store: Store, dataset: str, shard_key: str, *, dpi: float = 100.0) -> list[str]:
    """Render every record of one shard; returns the image keys (from the marker when already done)."""
    marker = done_marker(dataset, shard_key)
    if store.exists(marker):
        return store.get_json(marker)["images"]
    keys = []
    for record in read_shard(store, shard_key):
        rendered = render_ecg(record.signal, record.fs, dpi=dpi, header=f"{record.record_id}")
        key = image_key(record)
        store.put_bytes(key, save_png(rendered))
        store.put_json(key.removesuffix(".png") + ".json", rendered.geometry)
        keys.append(key)
    store.put_json(marker, {"shard": shard_key, "images": keys, "dpi": dpi})
    return keys
