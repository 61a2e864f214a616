"""Rendered images in the store: `images/<dataset>/<record_id>/<variant>.{png,jpg}` plus a geometry
sidecar `<variant>.json` beside each, and `images/<dataset>/index.jsonl`, one row per image; records that could not be drawn are listed with
the reason in `images/<dataset>/quarantine.jsonl`.

Rendering goes in batches (one records shard each). A finished batch leaves
`images/<dataset>/_done/<config fingerprint>/<shard>.json` listing its rows, so a re-run with the same
render config skips it; a changed config renders again.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecg_core import layout
from ecg_core.record_store import read_shard
from ecg_core.records import ECGRecord
from ecg_core.render import encode, render_ecg
from ecg_core.render.encode import EXTENSIONS
from ecg_core.render.geometry import sidecar_json
from ecg_core.render.variants import RenderConfig, sample_variant
from ecg_core.store import Store


def read_index(store: Store, dataset: str) -> dict[str, list[str]]:
    """record id -> its image keys in variant order; empty when the dataset was never rendered."""
    images: dict[str, list[str]] = {}
    if store.exists(layout.index_key(dataset)):
        for row in sorted(store.get_jsonl(layout.index_key(dataset)), key=lambda r: r["variant"]):
            images.setdefault(row["record_id"], []).append(row["image"])
    return images


def header_lines(record: ECGRecord) -> list[str]:
    """What a cart prints above the traces: who and when, as far as the record knows."""
    who = [f"ID {record.record_id}"]
    if record.sex:
        who.append(f"Sex {record.sex}")
    if record.age is not None:
        who.append(f"Age {record.age:g}")
    recorded = record.extra.get("recorded_at")
    return ["   ".join(who)] + ([f"Recorded {recorded}"] if recorded else [])


def render_variant(record: ECGRecord, config: RenderConfig, variant: int) -> tuple[bytes, str, dict]:
    """(image bytes, format, geometry) of one variant of one record."""
    chosen = sample_variant(config, record.record_id, variant)
    rendered = render_ecg(
        record.signal,
        record.fs,
        chosen.settings,
        header=header_lines(record),
        artefacts=chosen.artefacts,
        seed=chosen.seed,
    )
    data, fmt = encode(rendered, config.format)
    return data, fmt, rendered.geometry


def render_records(store: Store, records: Iterable[ECGRecord], config: RenderConfig) -> dict:
    """Render every variant of each record into the store: {"rows": index rows, "rejected": [{id, reason}]}.
    A record that cannot be drawn is set aside with the reason; the others go on."""
    rows, rejected = [], []
    for record in records:
        try:
            drawn = [render_variant(record, config, variant) for variant in range(config.variants)]
        except ValueError as error:
            rejected.append({"id": record.record_id, "reason": f"cannot render: {error}"})
            continue
        for variant, (data, fmt, geometry) in enumerate(drawn):
            image = layout.image_key(record.dataset, record.record_id, variant, EXTENSIONS[fmt])
            geometry_key = layout.geometry_key(record.dataset, record.record_id, variant)
            store.put_bytes(image, data)
            store.put_bytes(geometry_key, sidecar_json(geometry))
            rows.append(
                {
                    "record_id": record.record_id,
                    "variant": variant,
                    "image": image,
                    "geometry": geometry_key,
                    "layout": geometry["layout"],
                    "speed_mm_s": geometry["speed_mm_s"],
                    "gain_mm_mv": geometry["gain_mm_mv"],
                    "grid": geometry["grid"],
                    "artefacts": geometry["artefacts"],
                }
            )
    return {"rows": rows, "rejected": rejected}


def render_shard(
    store: Store, dataset: str, shard_key: str, config: RenderConfig, record_ids: set[str] | None = None
) -> dict:
    """Render one batch: the shard's records (only `record_ids` if given: the copies no later shard
    replaces). Returns render_records' result, from the done marker when the batch was finished before."""
    marker = layout.render_done_key(dataset, config.fingerprint(), shard_key)
    if store.exists(marker):
        return store.get_json(marker)["result"]
    records = [r for r in read_shard(store, shard_key) if record_ids is None or r.record_id in record_ids]
    result = render_records(store, records, config)
    store.put_json(marker, {"shard": shard_key, "config": config.to_dict(), "result": result})
    return result
