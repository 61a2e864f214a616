"""Interpret tasks: the inputs' pages into the store (resumable), the model's readings (resumable, on the gpu
limit), and the report with thumbnails as files and Prefect artifacts."""

import io

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.interpret.inputs import decode, local_inputs, page_file_name
from ecg_core.interpret.reading import read_pages
from ecg_core.interpret.readings_report import findings, markdown_report, thumbnail_png
from ecg_core.reading.reader import Reader
from ecg_core.reading.stored import StoredMllama
from ecg_core.resumable import resume
from tasks.artifacts import artifact_key, publishing
from tasks.gpu import gpu_slots
from tasks.progress import Progress
from tasks.storage import open_store

READ_CHUNK = 16  # pages read between two saves of readings.jsonl
ARTIFACT_PAGES = 50  # thumbnails in the Prefect report artifact (report.md in the store has every page)


def _inputs(sources: list[str]):
    """(name, read bytes) of every input: local files and folders, and every object under an s3:// prefix."""
    for source in sources:
        if source.startswith("s3://"):
            prefix = open_store(source)
            for key in prefix.list(""):
                yield f"{source.rstrip('/')}/{key}", (lambda prefix=prefix, key=key: prefix.get_bytes(key))
        else:
            yield from ((name, path.read_bytes) for name, path in local_inputs([source]))


@task
def collect_pages(store_uri: str, batch: str, sources: list[str]) -> dict:
    """Every input's pages as PNG under predictions/<batch>/pages/, or its rejection with the reason; inputs
    read by an earlier run are not read again. Returns {"pages": [{id, source, image}], "rejected": [...]}."""
    store = open_store(store_uri)
    pages_key, rejected_key = layout.batch_pages_key(batch), layout.batch_rejected_key(batch)
    done = store.get_jsonl(pages_key) if store.exists(pages_key) else []
    rejected = store.get_jsonl(rejected_key) if store.exists(rejected_key) else []
    seen = {row["input"] for row in done} | {row["name"] for row in rejected}
    for name, read in _inputs(sources):
        if name in seen:
            continue
        seen.add(name)
        decoded = decode(name, read())
        if not isinstance(decoded, list):
            rejected.append({"name": decoded.name, "reason": decoded.reason})
            get_run_logger().warning("rejected %s: %s", decoded.name, decoded.reason)
            continue
        for page in decoded:
            key = layout.batch_page_key(batch, page_file_name(page.name))
            store.put_bytes(key, _png(page.image))
            done.append(
                {"input": name, "id": page_file_name(page.name).removesuffix(".png"), "source": page.name, "image": key}
            )
        store.put_jsonl(pages_key, done)
    store.put_jsonl(rejected_key, rejected)
    return {"pages": [{k: row[k] for k in ("id", "source", "image")} for row in done], "rejected": rejected}


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@task(tags=["gpu"])
def read_batch(
    store_uri: str,
    batch: str,
    pages: list[dict],
    reader: Reader,
    model: dict,
    batch_size: int,
) -> list[dict]:
    """`reader`'s reading of every page, saved to predictions/<batch>/readings.jsonl as it goes: a re-run
    reads only the pages without one, and fetches only theirs. The model is loaded, and a slot of the `gpu` limit
    held, only when some page is still unread."""
    store = open_store(store_uri)
    key = layout.readings_key(batch)
    done = [r for r in (store.get_jsonl(key) if store.exists(key) else []) if r["model"]["adapter"] == model["adapter"]]
    if len(done) == len(pages):
        return done  # all read: no GPU needed
    mllama = StoredMllama(store, reader)
    with Progress(f"reading {batch}", "page", total=len(pages)) as progress, gpu_slots(1):
        progress.update(len(done))

        def read_chunk(chunk: list[dict]) -> list[dict]:
            rows = read_pages(
                *mllama.loaded(),
                chunk,
                mllama.page_root(chunk),
                preprocessing=reader.pages,
                batch_size=batch_size,
                model_info=model,
            )
            progress.advance(len(chunk))
            return rows

        return resume(pages, done, read_chunk, lambda rows: store.put_jsonl(key, rows), chunk=READ_CHUNK)


@task
def publish_readings(store_uri: str, batch: str, readings: list[dict], rejected: list[dict]) -> str:
    """report.md under predictions/<batch>/, and the readings as Prefect table and markdown artifacts."""
    store = open_store(store_uri)
    thumbnails = {r["id"]: thumbnail_png(store.get_bytes(r["image"])) for r in readings}
    title = f"Readings `{batch}`"
    report = markdown_report(title, readings, rejected, thumbnails)
    store.put_bytes(layout.batch_report_key(batch), report.encode())
    shown = report
    if len(readings) > ARTIFACT_PAGES:  # the UI gets the first pages; report.md in the store has them all
        shown = markdown_report(title, readings[:ARTIFACT_PAGES], rejected, thumbnails)
        shown += f"\nFirst {ARTIFACT_PAGES} of {len(readings)} pages; all in `{store.url(layout.batch_report_key(batch))}`.\n"
    with publishing(f"the readings of batch {batch}", store.url(layout.batch_prefix(batch))):
        create_table_artifact(
            table=[
                {"page": r["source"], "findings": findings(r), "answer": r["answer"], "report": r["report"]}
                for r in readings
            ],
            key=artifact_key("interpret", batch, "table"),
            description=f"Readings of batch {batch}: {len(readings)} pages, {len(rejected)} inputs rejected",
        )
        create_markdown_artifact(markdown=shown, key=artifact_key("interpret", batch, "report"))
    return report
