"""Scheduled retraining: incremental ingest; if there is new data (or `force`), render, rebuild the
instruction set, fine-tune, evaluate, and promote the new adapter to `registry/` only if it beats the
champion (macro F1 by default, by a minimum margin). The decision is recorded as an artifact.

    prefect deployment run 'retrain/retrain-weekly'      # deployments/prefect.yaml: weekly cron
"""

from prefect import flow
from prefect.runtime import flow_run
from prefect.transactions import transaction

from flows import CONFIGS
from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from flows.train import train_flow
from tasks.model import build_tiny_model
from tasks.registry import promotion_decision, record_decision, stage, switch_champion


@flow(name="retrain", flow_run_name="retrain {name}")
def retrain_flow(
    store: str,
    name: str = "retrain",
    source: str = "synthetic",
    path: str | None = None,
    ingest_options: dict | None = None,
    model: str | None = None,
    force: bool = False,
    render_config: str = "render/plain.yaml",
    instruct_config: str = "instruct/demo.yaml",
    train_config: str = "tiny-cpu.yaml",
    train_overrides: dict | None = None,
    metric: str = "macro_f1",
    min_margin: float = 0.01,
    tiny_tile_size: int = 224,
    eval_batch_size: int = 32,
) -> dict:
    """`model`: the base checkpoint folder (None: a tiny model built from the instruction set, for CPU runs)."""
    ingested = ingest_flow(store, source, path, ingest_options)
    if not ingested["new"] and not force:
        decision = {"promote": False, "reason": "no new data since the last run"}
        record_decision(store, name, None, decision)
        return decision
    run_id = f"{name}-{flow_run.get_scheduled_start_time().strftime('%Y%m%d-%H%M%S')}"
    dataset = source
    render_flow(store, dataset, str(CONFIGS / render_config))
    instruct_flow(store, run_id, [dataset], str(CONFIGS / instruct_config))
    model = model or build_tiny_model(store, run_id, f"models/{run_id}", tiny_tile_size, 0)
    train_flow(store, run_id, str(CONFIGS / train_config), model, run_id, train_overrides, create_gpu_limit=True)
    metrics = evaluate_flow(store, run_id, model, run_id, run_id=run_id, batch_size=eval_batch_size, baseline=False)[
        "abnormality_detection"
    ]["finetuned"]
    decision = promotion_decision(store, metrics, metric, min_margin)
    if decision["promote"]:
        with transaction() as txn:  # staging and the pointer switch succeed together, or the staging is undone
            txn.set("store_uri", store)
            txn.set("staged", stage(store, run_id))
            switch_champion(store, run_id, model, metrics, decision)
    record_decision(store, name, run_id, decision)
    return decision | {"run_id": run_id}
