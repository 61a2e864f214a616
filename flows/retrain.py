"""Scheduled retraining: incremental ingest; if there is new data (or `force`), render, rebuild the
instruction set, fine-tune, then evaluate the new adapter and the champion on the same records, and promote
the new one to `registry/` only if its gain holds up (ecg_core/promotion.py: a paired bootstrap on the current
split, and not worse on the champion's regression set). The decision is recorded as an artifact.

    prefect deployment run 'retrain/retrain-weekly'      # deployments/prefect.yaml: weekly cron
"""

from prefect import flow
from prefect.runtime import flow_run
from prefect.transactions import transaction

from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.pipeline import PipelineConfig
from flows.render import render_flow
from flows.train_and_evaluate import base_model, tiny_model_key, train_and_evaluate
from tasks.registry import contest, open_slot, promotion_decision, record_decision, stage_adapter, switch_champion


@flow(name="retrain", flow_run_name="retrain {name}")
def retrain_flow(
    *,
    store: str,
    name: str = "retrain",
    source: str = "synthetic",
    path: str | None = None,
    ingest_options: dict | None = None,
    force: bool = False,
    settings: PipelineConfig = PipelineConfig(),
    metric: str = "macro_f1",
    min_margin: float = 0.0,
) -> dict:
    """Retrain when there is new data and promote the result only if it beats the champion on the same records;
    returns the decision.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        name: names this retraining's runs: <name>-<scheduled time>
        source: data source format to ingest (as `ecgflow ingest`)
        path: the dataset folder (not for synthetic)
        ingest_options: the source's reading options, e.g. {"n_records": 500}
        force: retrain even without new data
        settings: the pipeline's settings, default configs/demo.yaml (given as to the pipeline, e.g. {"config":
            "demo.yaml", "overrides": {"recipe.max_steps": 50}}): its model, render (with dpi), instruct, recipe,
            seed and judge keys apply; the data comes from `source` instead of its synthetic-data keys, and the
            reference CNNs are not retrained
        metric: the detection metric compared: macro_f1, auc or hamming (lower is better)
        min_margin: the lower bound of the 95% paired interval of the gain must reach this
    """
    # One run per scheduled slot: a retry of this flow run, or a restarted worker, finds the same id and resumes it.
    run_id = f"{name}-{flow_run.get_scheduled_start_time().strftime('%Y%m%d-%H%M%S')}"
    ingested = ingest_flow(store=store, source=source, path=path, options=ingest_options)
    if not open_slot(store, run_id, ingested["new"], force):
        decision = {"promote": False, "reason": "no new data since the last run"}
        record_decision(store, name, None, decision)
        return decision
    render_flow(store=store, dataset=source, settings=settings.render_settings)
    instruct_flow(store=store, name=run_id, datasets=[source], settings=settings.instruct_settings)
    model = base_model(store, settings.model, run_id, settings.tiny_tile_size, settings.seed)
    against = contest(store, run_id)  # champion and challenger answer the same records
    trained = train_and_evaluate(
        store=store,
        run_id=run_id,
        model=model,
        instruct=run_id,
        recipe=settings.recipe,
        candidates=against["candidates"],
        benchmarks=against["benchmarks"],
        batch_size=settings.eval_batch_size,
        judge=settings.judge,
    )
    decision = promotion_decision(store, run_id, run_id, against["champion"], metric, min_margin)
    if decision["promote"]:
        with transaction() as txn:  # staging and the pointer switch succeed together, or the staging is undone
            txn.set("store_uri", store)
            txn.set("staged", stage_adapter(store, run_id))
            model_key = None if settings.model else tiny_model_key(run_id)
            switch_champion(store, run_id, model, model_key, trained.finetuned, decision)
    record_decision(store, name, run_id, decision)
    return decision | {"run_id": run_id}
