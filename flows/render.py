"""Render: canonical records -> ECG paper images under `images/<dataset>/`, one task per shard, resumable.

    ecgflow render synthetic --dpi 100 --store ./demo-store
"""

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed

from ecg_core.record_store import read_manifest
from ecg_core.store import open_store
from tasks.render import render_records_shard

GALLERY_SIZE = 4


@flow(name="render", flow_run_name="render {dataset} at {dpi} dpi")
def render_flow(store: str, dataset: str = "synthetic", dpi: float = 100.0) -> list[str]:
    shards = read_manifest(open_store(store), dataset).shards
    progress = create_progress_artifact(progress=0.0, description=f"rendering {dataset}: shards done")
    futures = [render_records_shard.submit(store, dataset, shard, dpi) for shard in shards]
    images = []
    for done, future in enumerate(as_completed(futures), start=1):
        images += future.result()
        update_progress_artifact(progress, progress=100.0 * done / len(futures))
    images.sort()
    urls = [open_store(store).url(key) for key in images[:GALLERY_SIZE]]
    create_markdown_artifact(
        markdown=f"# {dataset}: {len(images)} images at {dpi} dpi\n\n" + "\n".join(f"![{u}]({u})" for u in urls),
        key=f"gallery-{dataset}".lower().replace("_", "-"),
    )
    return images
