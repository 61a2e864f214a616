"""Retraining: when enough new records have arrived since the last retraining, render, rebuild the instruction
set, fine-tune, then evaluate the new adapter and the champion on the same records, and promote the new one to
`registry/` only if its gain holds up (ecg_core/promotion.py: a paired bootstrap on the current split, and not
worse on the champion's regression set) and, when asked, a person signs it off (tasks/sign_off.py). The decision
is recorded in the store and as an artifact.

Three ways start it, one slot rule for all (ecg_core/registry.py: no two slots train the same records):

    ecgflow retrain synthetic --n-records 120 --store ./demo-store        # a command
    prefect deployment run 'retrain/retrain'                              # the calendar: deployments/prefect.yaml
    ecgflow ingest ... --store <the deployment's store>                   # new records: the deployment's trigger
"""

from typing import Literal

from prefect import flow
from prefect.runtime import flow_run
from prefect.transactions import transaction

from ecg_core.promotion import signed_off
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.pipeline import PipelineConfig
from flows.render import render_flow
from flows.train_and_evaluate import base_model, tiny_model_key, train_and_evaluate
from tasks.registry import (
    against_current_champion,
    contest,
    open_slot,
    promotion_decision,
    record_decision,
    stage_adapter,
    switch_champion,
)
from tasks.sign_off import present_for_sign_off, wait_for_sign_off


@flow(name="retrain", flow_run_name="retrain {name}")
def retrain_flow(
    *,
    store: str,
    name: str = "manual",
    source: str = "synthetic",
    path: str | None = None,
    options: dict | None = None,
    ingest: bool = True,
    min_new_records: int = 1,
    force: bool = False,
    settings: PipelineConfig = PipelineConfig(),
    metric: Literal["macro_f1", "auc", "hamming"] = "macro_f1",
    min_margin: float = 0.0,
    approval: Literal["none", "required"] = "none",
    approval_timeout_s: float = 86400.0,
) -> dict:
    """Retrain on new records and promote the result only if it beats the champion on the same records (and, when
    asked, a person approves); returns the decision.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        name: names this retraining's runs: <name>-<scheduled time>
        source: data source format to ingest (as `ecgflow ingest`); its dataset is the one retrained on
        path: the dataset folder (not for synthetic)
        options: the source's reading options (as `ecgflow ingest`), e.g. {"n_records": 500}
        ingest: ingest the source first; off: retrain on the records already ingested (a run an ingest started)
        min_new_records: retrain only when at least this many records arrived since the last retraining
        force: retrain even without enough new records
        settings: the pipeline's settings, default configs/demo.yaml (given as to the pipeline, e.g. {"config":
            "demo.yaml", "overrides": {"recipe.max_steps": 50}}): its model, render (with dpi), instruct, recipe,
            seed and judge keys apply; the data comes from `source` instead of its synthetic-data keys, and the
            reference CNNs are not retrained
        metric: the detection metric compared: macro_f1, auc or hamming (lower is better)
        min_margin: the lower bound of the 95% paired interval of the gain must reach this
        approval: required: a challenger that passes the rule waits (paused) for a person's sign-off in the UI
        approval_timeout_s: with approval required, no answer within this many seconds keeps the champion
    """
    # One run per scheduled slot: a retry of this flow run, or a restarted worker, finds the same id and resumes it.
    run_id = f"{name}-{flow_run.get_scheduled_start_time().strftime('%Y%m%d-%H%M%S')}"
    if ingest:
        ingest_flow(store=store, source=source, path=path, options=options)
    slot = open_slot(store, run_id, source, min_new_records, force)
    if not slot.retrains:
        decision = {"promote": False, "reason": slot.reason}
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
        model_key = None if settings.model else tiny_model_key(run_id)
        decision = promote(
            store, name, run_id, model, model_key, trained.finetuned, decision, approval_timeout_s, approval
        )
    record_decision(store, name, run_id, decision)
    return decision | {"run_id": run_id}


def promote(
    store: str,
    name: str,
    run_id: str,
    model: str,
    model_key: str | None,
    metrics: dict,
    decision: dict,
    approval_timeout_s: float,
    approval: Literal["none", "required"] = "none",
) -> dict:
    """A challenger that passed the rule: staged into the registry, signed off when asked, then made the champion;
    returns the decision as it ended (not approved: the staging is undone and the champion stands)."""
    with transaction() as txn:  # staging and the pointer switch succeed together, or the staging is undone
        txn.set("store_uri", store)
        txn.set("staged", stage_adapter(store, run_id))
        if approval == "required":
            present_for_sign_off(store, name, run_id, decision, approval_timeout_s)
            decision = signed_off(decision, wait_for_sign_off(approval_timeout_s))
            decision = against_current_champion(store, decision)  # another retraining may have promoted meanwhile
        if decision["promote"]:
            switch_champion(store, run_id, model, model_key, metrics, decision)
        else:
            txn.rollback()
    return decision
