"""Registry tasks: the promotion decision (ecg_core.promotion) and, inside one Prefect transaction, the adapter
staged into the registry and the champion pointer switched; if anything after the staging fails, the staging
is rolled back. Each decision is an artifact: champion and challenger side by side."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event

from ecg_core import layout, promotion, registry
from ecg_core.registry import champion_record, read_champion
from tasks.artifacts import artifact_key, publishing
from tasks.storage import open_store

DECISION_EVENT = "ecgflow.retraining.decided"  # each retraining's decision, for automations (deployments/stack.py)


@task
def promotion_decision(
    store_uri: str, eval_id: str, instruct: str, champion: dict | None, metric: str, min_margin: float
) -> dict:
    decision = promotion.challenge(open_store(store_uri), eval_id, instruct, champion, metric, min_margin)
    get_run_logger().info("%s: %s", "promote" if decision["promote"] else "keep the champion", decision["reason"])
    return decision


@task
def stage_adapter(store_uri: str, run_id: str) -> list[str]:
    return registry.stage_adapter(open_store(store_uri), run_id)


@stage_adapter.on_rollback
def _unstage(transaction) -> None:
    store = open_store(transaction.get("store_uri"))
    for key in transaction.get("staged"):
        store.delete(key)
    get_run_logger().warning("promotion rolled back: %d staged objects removed", len(transaction.get("staged")))


@task
def switch_champion(
    store_uri: str, run_id: str, base_model: str, base_model_key: str | None, metrics: dict, decision: dict
) -> dict:
    """champion.json names the run; its split (instruction set `run_id`) becomes the regression set."""
    store = open_store(store_uri)
    record = champion_record(
        run_id, base_model, base_model_key, metrics, decision, promotion.regression_set(store, run_id)
    )
    store.put_json(layout.champion_key(), record)
    return record


@task
def record_decision(store_uri: str, name: str, run_id: str | None, decision: dict) -> None:
    """The decision in the store (`registry/decisions/`), as Prefect artifacts (this retraining's, and a new
    version of `champion`, whose versions in the UI are the model's history) and as an event, which the stack's
    notification automation posts to the team (deployments/stack.py)."""
    store = open_store(store_uri)
    store.put_json(layout.decision_key(run_id or name), {"run_id": run_id, **decision})
    champion = read_champion(store)
    outcome = f"**{promotion.outcome(decision)}**: {decision['reason']}"
    comparison = promotion.decision_table(decision, run_id)
    with publishing(f"the decision of {name}", store.url(layout.decision_key(run_id or name))):
        create_markdown_artifact(
            key=artifact_key("retrain", name),
            markdown=f"# Retraining `{name}`\n\n{outcome}\n\n{comparison}\n\n"
            f"Champion now: `{champion['run_id'] if champion else 'none'}`",
        )
        create_markdown_artifact(
            key=artifact_key("champion"),
            markdown=champion_markdown(champion, name, run_id, outcome, comparison),
            description=f"The champion after retraining {name}",
        )
    emit_event(
        event=DECISION_EVENT,
        resource={"prefect.resource.id": f"ecgflow.retraining.{name}", "prefect.resource.name": name},
        payload={
            "outcome": promotion.outcome(decision).lower(),
            "run_id": run_id,
            "reason": decision["reason"],  # the gain with its 95% interval, and on how many records
            "decision_url": store.url(layout.decision_key(run_id or name)),
        },
    )


def champion_markdown(champion: dict | None, name: str, run_id: str | None, outcome: str, comparison: str) -> str:
    if champion is None:
        held = "No champion yet."
    else:
        shown = [(k, champion["metrics"].get(k)) for k in ("auc_score", "macro_f1", "hamming")]
        figures = ", ".join(f"{k} {v:.3f}" for k, v in shown if v is not None)
        held = (
            f"Champion: run `{champion['run_id']}` (adapter `{champion['adapter']}` on `{champion['base_model']}`)"
            f"\n\nIts metrics when promoted: {figures or '-'}"
        )
    return f"# Champion\n\n{held}\n\n## Decision of retraining `{name}` (candidate `{run_id}`)\n\n{outcome}\n\n{comparison}\n"


@task
def against_current_champion(store_uri: str, decision: dict) -> dict:
    """The decision, unless a newer champion was promoted since it was made (`promotion.against_current_champion`)."""
    return promotion.against_current_champion(decision, read_champion(open_store(store_uri)))


@task
def open_slot(store_uri: str, run_id: str, dataset: str, min_new_records: int, force: bool) -> registry.Slot:
    """Whether this retraining slot retrains (`registry.open_slot`)."""
    slot = registry.open_slot(open_store(store_uri), run_id, dataset, min_new_records, force)
    get_run_logger().info("%s: %s", "retraining" if slot.retrains else "not retraining", slot.reason)
    return slot


@task
def contest(store_uri: str, run_id: str) -> dict:
    """The champion now and the retraining's evaluation ({candidates, tasks}: `promotion.contest`)."""
    store = open_store(store_uri)
    champion = read_champion(store)
    return {"champion": champion} | promotion.contest(store, run_id, run_id, champion)
