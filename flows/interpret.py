"""Interpret: new ECG images (PNG/JPEG scans and photos, PDF pages; files, folders or an s3:// prefix) read by a
trained model -> `predictions/<batch>/` (readings.jsonl, rejected.jsonl, report.md with thumbnails). The
registry's champion answers unless a run (or the base model) is named. Resumable: a re-run reads only what is new.

    ecgflow interpret scans/ photo.jpg export.pdf --model ./demo-store/models/tiny-mllama-demo --run-id demo \
        --out readings.jsonl
    ecgflow interpret s3://bucket/incoming/ --model /models/Llama-3.2-11B-Vision-Instruct --store s3://bucket/ecg
"""

import hashlib
import json
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from ecg_core import layout
from ecg_core.interpret.reading import model_info
from ecg_core.interpret.readings_report import terminal_table
from ecg_core.reading.reader import choose_reader
from tasks.interpret import collect_pages, publish_readings, read_batch
from tasks.storage import open_store


def _run_name() -> str:
    """The flow run's name: the base checkpoint named, else the champion's."""
    return f"interpret {flow_run.parameters.get('model') or 'with the champion'}"


@flow(name="interpret", flow_run_name=_run_name)
def interpret_flow(
    *,
    store: str,
    inputs: list[str],
    model: str | None = None,
    run_id: str | None = None,
    champion: bool = True,
    batch: str | None = None,
    batch_size: int = 8,
    out: str | None = None,
) -> dict:
    """Read new ECG images with the trained model, output under predictions/<batch>/; returns the readings, the
    rejected inputs and a table for the terminal.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        inputs: image files (PNG, JPEG, a photo or a scan), PDFs (every page), folders of them, or s3:// prefixes
        model: base Mllama checkpoint folder; default: the champion's own (the one it was trained on)
        run_id: read with this training run's adapter (runs/<run_id>/adapter) instead of the champion
        champion: without run_id, the registry's champion adapter reads; off: the base model, untrained for ECGs
        batch: names the output, predictions/<batch>/; default: one name per set of inputs and model
        batch_size: pages per forward pass
        out: also write the readings to this local JSONL file, and its report beside it (.md)
    """
    stored = open_store(store)
    reader = choose_reader(stored, "run" if run_id else "champion" if champion else "base", run_id, model)
    info = model_info(stored, reader)
    batch = batch or default_batch(inputs, info)
    collected = collect_pages(store, batch, inputs)
    readings = read_batch(store, batch, collected["pages"], reader, info, batch_size)
    report = publish_readings(store, batch, readings, collected["rejected"])
    if out:
        Path(out).write_text("".join(json.dumps(r) + "\n" for r in readings))
        Path(out).with_suffix(".md").write_text(report)
    return {
        "batch": batch,
        "readings": readings,
        "rejected": collected["rejected"],
        "store": stored.url(layout.batch_prefix(batch)),
        "table": terminal_table(readings, collected["rejected"]),
    }


def default_batch(inputs: list[str], model: dict) -> str:
    """The same inputs read by the same model land in the same batch (so a re-run resumes it)."""
    digest = hashlib.sha1(json.dumps([sorted(inputs), model["adapter"], model["base"]]).encode()).hexdigest()[:8]
    return f"{Path(inputs[0].rstrip('/')).name or 'inputs'}-{digest}"
