"""Evaluate: base model (baseline) vs base + adapter (fine-tuned) on the test split -> `eval/<eval_id>/`:
abnormality detection (AUC from scores and from hard answers, macro F1, Hamming, 95% CIs, ROC curves)
and report generation (a label-based score, or an LLM judge). Predictions already in the store are
reused, so a re-run (say, with the judge switched on) only does what is new.

    ecgflow evaluate --eval-id demo --model ./demo-store/models/tiny-mllama --run-id demo \
        --instruct demo --store ./demo-store
    ecgflow judge --eval-id demo --model ./demo-store/models/tiny-mllama --run-id demo --instruct demo \
        --judge-model gpt-4o --rubric paper        # OPENAI_BASE_URL / OPENAI_API_KEY from the environment
"""

from prefect import flow

from ecg_core.evaluate.report_score import JUDGES
from tasks.baselines import baseline_row
from tasks.evaluate import evaluate_model, judge_model_reports, page_preprocessing, write_report
from tasks.storage import open_store


@flow(name="evaluate", flow_run_name="evaluate {eval_id} judge={judge}")
def evaluate_flow(
    store: str,
    eval_id: str,
    model: str,
    instruct: str,
    run_id: str | None = None,
    max_tiles: int | None = None,
    page_fit: str | None = None,
    batch_size: int = 16,
    example_image: str | None = None,
    baseline: bool = True,
    judge: str = "labels",
    judge_settings: dict | None = None,
    baselines: dict | None = None,
    baseline_datasets: list[str] | None = None,
) -> dict:
    """`max_tiles`, `page_fit`: how pages fill the tiles; by default the run's (runs/<run_id>/config.json), which
    these may repeat but not contradict; the base model's row uses the same.
    `baseline`: also score the base model without adapter (the ablation flow scores it once, not per variant).
    `judge`: "labels" (the deterministic report score, no external service) or "openai" (an LLM judge on
    any OpenAI-compatible endpoint; `judge_settings`: model, rubric, base_url, vision,
    allow_credentialed_remote, api_key_block).
    `baselines`: reference CNNs to train on the records of `baseline_datasets` and add to the table,
    {"signal": settings, "image": settings} (keys of ecg_core.baselines.BaselineConfig)."""
    if judge not in JUDGES:
        raise ValueError(f"judge {judge!r}: allowed {', '.join(JUDGES)}")
    models = {"baseline": None} if baseline else {}
    if run_id:
        models["finetuned"] = str(open_store(store).local_dir(f"runs/{run_id}/adapter"))
    preprocessing = page_preprocessing(store, eval_id, model, run_id, max_tiles, page_fit)
    results = {
        name: evaluate_model(store, eval_id, name, model, adapter, instruct, preprocessing, batch_size)
        for name, adapter in models.items()
    }
    reports = {}
    for name, result in results.items():
        reports[name] = result["report"] | {
            "labels": result["report"]
        }  # the label-based score, kept when a judge scores
        if judge == "openai":
            summary = judge_model_reports(store, eval_id, name, judge_settings or {})
            reports[name] |= {
                "scorer": f"judge:{summary['model']}:{summary['rubric']}",
                "score": summary["mean_score"],
                "n": summary["n_scored"],
                "judge": summary,
            }
    detection = {name: result["detection"] for name, result in results.items()}
    for kind, settings in (baselines or {}).items():
        detection[f"cnn-{kind}"] = baseline_row(store, kind, baseline_datasets or [], eval_id, eval_id, settings)
    return write_report(store, eval_id, detection, reports, example_image, preprocessing)
