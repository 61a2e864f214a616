"""Evaluate: base model (baseline) vs base + adapter (fine-tuned) on the test split -> `eval/<eval_id>/`:
abnormality detection (AUC from scores and from hard answers, macro F1, Hamming, 95% CIs, ROC curves)
and report generation (a label-based score, or an LLM judge). Predictions already in the store are
reused, so a re-run (say, with the judge switched on) only does what is new.

    ecgflow evaluate --eval-id demo --model ./demo-store/models/tiny-mllama --run-id demo \
        --instruct demo --store ./demo-store
    ecgflow judge --eval-id demo --model ./demo-store/models/tiny-mllama --run-id demo --instruct demo \
        --judge-model gpt-4o --judge-rubric paper  # OPENAI_BASE_URL / OPENAI_API_KEY from the environment
"""

from prefect import flow

from ecg_core import layout
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.evaluate.results import report_entry
from tasks.cnn import cnn_row
from tasks.evaluate import evaluate_model, judge_model_reports, page_preprocessing, write_report
from tasks.storage import open_store


@flow(name="evaluate", flow_run_name="evaluate {eval_id}")
def evaluate_flow(
    *,
    store: str,
    eval_id: str,
    model: str,
    instruct: str,
    run_id: str | None = None,
    max_tiles: int | None = None,
    page_fit: str | None = None,
    batch_size: int = 16,
    judge: JudgeConfig | None = None,
    baseline: bool = True,
    example_image: str | None = None,
    cnns: dict[str, dict] | None = None,
    cnn_datasets: list[str] | None = None,
) -> dict:
    """Evaluate the base model (baseline) and the fine-tuned adapter on the test split, output under
    eval/<eval_id>/; returns metrics.json's content.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        eval_id: evaluation name: eval/<eval_id>/
        model: base Mllama checkpoint folder
        instruct: instruction set name (its test split is scored)
        run_id: training run whose adapter gives the fine-tuned row
        max_tiles: tile budget per page (1, 2 or 4); default: the run's (runs/<run_id>/config.json), which this
            may repeat but not contradict; without a run: the checkpoint's
        page_fit: pad or stretch, how pages fill their tiles; default: the run's, else pad
        batch_size: generation batch size
        judge: an LLM judge of the generated reports (model, rubric, base_url, vision, api_key_block,
            allow_credentialed_remote); None: the label-based report score, no external service
        baseline: also score the base model without adapter (the untrained row of Table I)
        example_image: a page shown in the report (a store key)
        cnns: reference CNNs to train on `cnn_datasets` and add to the table, {kind: CnnConfig keys}
        cnn_datasets: datasets under records/ the reference CNNs learn from
    """
    models = {"baseline": None} if baseline else {}
    if run_id:
        models["finetuned"] = str(open_store(store).local_dir(layout.adapter_prefix(run_id)))
    preprocessing = page_preprocessing(store, eval_id, model, run_id, max_tiles, page_fit)
    results = {
        name: evaluate_model(store, eval_id, name, model, adapter, instruct, preprocessing, batch_size)
        for name, adapter in models.items()
    }
    reports = {
        name: report_entry(result["report"], judge_model_reports(store, eval_id, name, judge) if judge else None)
        for name, result in results.items()
    }
    detection = {name: result["detection"] for name, result in results.items()}
    for kind, settings in (cnns or {}).items():
        detection[f"cnn-{kind}"] = cnn_row(
            store_uri=store, kind=kind, datasets=cnn_datasets or [], name=eval_id, eval_id=eval_id, settings=settings
        )
    return write_report(store, eval_id, detection, reports, example_image, preprocessing)
