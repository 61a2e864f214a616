"""Promotion tasks, run inside one Prefect transaction: the adapter is staged into the registry, then the
champion pointer is switched; if anything after the staging fails, the staging is rolled back."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ecg_core import layout, registry
from ecg_core.registry import champion_record, decide, read_champion
from tasks.storage import open_store


@task
def promotion_decision(store_uri: str, metrics: dict, metric: str, min_margin: float) -> dict:
    return decide(metrics, read_champion(open_store(store_uri)), metric, min_margin)


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
def switch_champion(store_uri: str, run_id: str, base_model: str, metrics: dict, decision: dict) -> dict:
    record = champion_record(run_id, base_model, metrics, decision)
    open_store(store_uri).put_json(layout.champion_key(), record)
    return record


@task
def record_decision(store_uri: str, name: str, run_id: str | None, decision: dict) -> None:
    """The decision and the comparison, in the store (`registry/decisions/`) and as a Prefect artifact."""
    store = open_store(store_uri)
    store.put_json(layout.decision_key(run_id or name), {"run_id": run_id, **decision})
    champion = read_champion(store)
    create_markdown_artifact(
        key=f"retrain-{name}".lower().replace("_", "-"),
        markdown=(
            f"# Retraining `{name}`\n\nCandidate run: `{run_id}`\n\n"
            f"| metric | candidate | champion |\n|---|---|---|\n"
            f"| {decision.get('metric', '-')} | {decision.get('candidate')} | {decision.get('champion')} |\n\n"
            f"**{'Promoted' if decision.get('promote') else 'Kept the champion'}**: {decision['reason']}\n\n"
            f"Champion now: `{champion['run_id'] if champion else 'none'}`"
        ),
    )
