"""Evaluation tasks: predictions per model (resumable), the report judge, then metrics.json, the Table-I
report, ROC curves and their artifacts."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.evaluate.detection import predict, predict_reports, resume, score
from ecg_core.evaluate.judge import JudgeConfig, StoreCache, judge_reports
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.evaluate.report_score import report_scores
from ecg_core.evaluate.results import evaluation_metrics, roc_inputs, summary_rows
from ecg_core.evaluate.table import report_table, table_one
from ecg_core.instruct import is_detection_sample
from ecg_core.instruct.dataset import read_split
from ecg_core.labels import SUPERCLASSES
from ecg_core.model import load_model_and_processor
from ecg_core.model.pages import PagePreprocessing, checkpoint_tiles, evaluation_pages
from ecg_core.plots import per_label_f1_png, roc_curves_png
from tasks.artifacts import stored_image
from tasks.storage import open_store


def _resumed(store, key: str, samples: list[dict], predict_chunk) -> list[dict]:
    done = store.get_jsonl(key) if store.exists(key) else []
    if done:
        get_run_logger().info("%s: %d of %d predictions already there, resuming", key, len(done), len(samples))
    return resume(samples, done, predict_chunk, lambda rows: store.put_jsonl(key, rows))


@task
def page_preprocessing(
    store_uri: str, eval_id: str, model_dir: str, run_id: str | None, max_tiles: int | None, page_fit: str | None
) -> dict:
    """How evaluation fits pages to tiles: the run's (runs/<run_id>/config.json), for every row of the table.
    Kept in eval/<eval_id>/preprocessing.json; predictions made there with other settings are refused."""
    store = open_store(store_uri)
    run_key = layout.run_config_key(run_id) if run_id else None
    tile, checkpoint_max_tiles = checkpoint_tiles(model_dir)
    pages = evaluation_pages(
        store.get_json(run_key) if run_key else None, run_key, max_tiles, page_fit, checkpoint_max_tiles
    )
    chosen = pages.describe(tile) | {"from": run_key or "options"}
    key = layout.preprocessing_key(eval_id)
    if store.exists(key) and {k: v for k, v in store.get_json(key).items() if k != "from"} != pages.describe(tile):
        raise ValueError(
            f"{key}: predictions there were made with {store.get_json(key)}, not {chosen}; "
            f"use another eval id (or delete {layout.eval_prefix(eval_id)}/)"
        )
    store.put_json(key, chosen)
    get_run_logger().info("pages: %s", chosen)
    return chosen


@task(tags=["gpu"])
def evaluate_model(
    store_uri: str,
    eval_id: str,
    model_name: str,
    model_dir: str,
    adapter_dir: str | None,
    instruct_name: str,
    preprocessing: dict,
    batch_size: int,
) -> dict:
    """One model on the test split: detection answers + label scores, and reports; returns the detection
    metrics and the deterministic report score. Predictions already in the store are not made again."""
    store = open_store(store_uri)
    pages = PagePreprocessing(preprocessing["max_tiles"], preprocessing["page_fit"])
    test = read_split(store, instruct_name, "test")
    detection_samples = [s for s in test if is_detection_sample(s)]
    report_samples = [s for s in test if s.get("topic") == "report"]
    model, processor = None, None

    def loaded():
        nonlocal model, processor
        if model is None:
            model, processor = load_model_and_processor(model_dir, adapter=adapter_dir)
        return model, processor

    root = store.local_dir("")
    key = layout.predictions_key(eval_id, model_name)
    predictions = _resumed(
        store, key, detection_samples, lambda chunk: predict(*loaded(), chunk, root, pages=pages, batch_size=batch_size)
    )
    metrics = score(predictions, where=key)
    reports = _resumed(
        store,
        layout.reports_key(eval_id, model_name),
        report_samples,
        lambda chunk: predict_reports(*loaded(), chunk, root, pages=pages, batch_size=batch_size),
    )
    _, report_summary = report_scores(reports)
    get_run_logger().info(
        "%s: macro F1 %.3f, AUC (scores) %s, AUC (hard) %s, Hamming %.3f, %d/%d unparsed; report score %s",
        model_name,
        metrics["macro_f1"],
        metrics["auc_score"],
        metrics["auc_hard"],
        metrics["hamming"],
        metrics["n_unparsed"],
        metrics["n"],
        report_summary["score"],
    )
    return {"detection": metrics, "report": report_summary}


@task(tags=["judge"])
def judge_model_reports(store_uri: str, eval_id: str, model_name: str, judge: JudgeConfig) -> dict:
    """The LLM judge over one model's generated reports: `judge-<model>.jsonl` and the summary. The key comes
    from OPENAI_API_KEY or the judge's Prefect Secret block, and goes nowhere but the client."""
    store = open_store(store_uri)
    rows = store.get_jsonl(layout.reports_key(eval_id, model_name))
    items = [
        {
            "id": r["id"],
            "report": r["answer"],
            "reference": r["reference"],
            "credentialed": is_credentialed(r),
        }
        | ({"image": store.get_bytes(r["image"])} if judge.vision else {})
        for r in rows
    ]
    api_key = None
    if judge.api_key_block:
        from prefect.blocks.system import Secret

        api_key = Secret.load(judge.api_key_block).get()
    result = judge_reports(
        items,
        model=judge.model,
        rubric=judge.rubric,
        base_url=judge.base_url,
        api_key=api_key,
        cache=StoreCache(store, layout.judge_cache_prefix()),
        vision=judge.vision,
        allow_credentialed_remote=judge.allow_credentialed_remote,
    )
    store.put_jsonl(layout.judgements_key(eval_id, model_name), result.results)
    summary = result.summary
    get_run_logger().info(
        "judge %s on %s: mean %s over %d, %d failed, %d cached, %d+%d tokens, cost %s USD",
        summary["model"],
        model_name,
        summary["mean_score"],
        summary["n_scored"],
        summary["n_failed"],
        summary["n_cached"],
        summary["prompt_tokens"],
        summary["completion_tokens"],
        summary["cost_usd"],
    )
    return summary


@task
def write_report(
    store_uri: str, eval_id: str, detection: dict, reports: dict, example_image: str | None, preprocessing: dict
) -> dict:
    """metrics.json, table.md, ROC curves and per-label F1 under eval/<eval_id>/, mirrored as Prefect artifacts."""
    store = open_store(store_uri)
    metrics = evaluation_metrics(detection, reports, preprocessing, example_image)
    store.put_json(layout.metrics_key(eval_id), metrics)
    table = table_one(metrics) + "\n" + report_table(metrics)
    store.put_bytes(layout.table_key(eval_id), table.encode())
    chart, roc = layout.per_label_f1_key(eval_id), layout.roc_curves_key(eval_id)
    store.put_bytes(chart, per_label_f1_png(detection, "abnormality detection, per-label F1"))
    predictions = {name: store.get_jsonl(layout.predictions_key(eval_id, name)) for name in detection}
    store.put_bytes(
        roc,
        roc_curves_png(
            roc_inputs(predictions, SUPERCLASSES),
            list(SUPERCLASSES),
            "ROC per label (scores from the answer likelihood)",
        ),
    )
    artifact_key = f"eval-{eval_id}".lower().replace("_", "-")
    create_table_artifact(
        table=summary_rows(detection, reports),
        key=f"{artifact_key}-table",
        description="Abnormality detection (PTB-XL superclasses) and report generation on the test split",
    )
    pictures = [stored_image(store, roc, "ROC curves"), stored_image(store, chart, "per-label F1")]
    if example_image:
        pictures.append(stored_image(store, example_image, "example input image"))
    create_markdown_artifact(
        markdown=f"# Evaluation `{eval_id}`\n\n{table}\n" + "\n\n".join(pictures), key=f"{artifact_key}-report"
    )
    return metrics
