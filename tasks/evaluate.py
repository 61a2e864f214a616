"""Evaluation tasks: predictions per model, then metrics.json, the Table-I report and its artifacts."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core.evaluate.detection import predict, score
from ecg_core.evaluate.table import table_one
from ecg_core.instruct import is_detection_sample
from ecg_core.instruct.dataset import read_split
from ecg_core.model import load_model_and_processor
from ecg_core.plots import per_label_f1_png
from ecg_core.store import open_store


@task(name="evaluate-model", tags=["gpu"])
def evaluate_model(
    store_uri: str,
    eval_id: str,
    model_name: str,
    model_dir: str,
    adapter_dir: str | None,
    instruct_name: str,
    image_size: int,
    batch_size: int,
) -> dict:
    """Answer the test split's abnormality-detection questions with one model; returns its metrics."""
    store = open_store(store_uri)
    samples = [s for s in read_split(store, instruct_name, "test") if is_detection_sample(s)]
    model, processor = load_model_and_processor(model_dir, adapter=adapter_dir)
    predictions = predict(model, processor, samples, store.local_dir(""), image_size=image_size, batch_size=batch_size)
    store.put_jsonl(f"eval/{eval_id}/predictions-{model_name}.jsonl", predictions)
    metrics = score(predictions)
    get_run_logger().info(
        "%s: macro F1 %.3f, AUC %s, Hamming %.3f, %d/%d unparsed",
        model_name, metrics["macro_f1"], metrics["auc"], metrics["hamming"], metrics["n_unparsed"], metrics["n"],
    )
    return metrics


@task(name="write-evaluation-report")
def write_report(store_uri: str, eval_id: str, detection: dict, example_image: str | None) -> dict:
    """metrics.json, table.md and a per-label F1 chart under eval/<eval_id>/, mirrored as Prefect artifacts."""
    store = open_store(store_uri)
    prefix = f"eval/{eval_id}"
    metrics = {"abnormality_detection": detection, "example_image": example_image}
    store.put_json(f"{prefix}/metrics.json", metrics)
    table = table_one(metrics)
    store.put_bytes(f"{prefix}/table.md", table.encode())
    chart = f"{prefix}/per_label_f1.png"
    store.put_bytes(chart, per_label_f1_png(detection, "abnormality detection, per-label F1"))
    artifact_key = f"eval-{eval_id}".lower().replace("_", "-")
    create_table_artifact(
        table=[{"model": name} | {k: m[k] for k in ("auc", "macro_f1", "hamming", "exact_match", "n_unparsed", "n")} for name, m in detection.items()],
        key=f"{artifact_key}-table",
        description="Abnormality detection on the test split (PTB-XL superclasses)",
    )
    example = f"\n\nExample input image: ![ECG]({store.url(example_image)})" if example_image else ""
    create_markdown_artifact(
        markdown=f"# Evaluation `{eval_id}`\n\n{table}\n![per-label F1]({store.url(chart)}){example}",
        key=f"{artifact_key}-report",
    )
    return metrics
