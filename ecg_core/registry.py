"""The model registry in the store: `registry/champion.json` names the promoted run, the base model it adapts,
its metrics and its regression set, and `registry/models/<run_id>/adapter/` holds each promoted adapter.

Whether a run is promoted is `ecg_core.promotion`'s rule. Publishing copies the adapter first and writes
champion.json last: the pointer switch is the commit, so a failure before it leaves the champion untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core import layout
from ecg_core.errors import MissingInput
from ecg_core.record_store import read_manifest
from ecg_core.store import Store


def read_champion(store: Store) -> dict | None:
    return store.get_json(layout.champion_key()) if store.exists(layout.champion_key()) else None


def stage_adapter(store: Store, run_id: str) -> list[str]:
    """Copy `runs/<run_id>/adapter/` into the registry; returns the keys written (for a rollback)."""
    keys = []
    source = layout.adapter_prefix(run_id)
    for key in store.list(source):
        target = f"{layout.registry_adapter_prefix(run_id)}/{key.removeprefix(source + '/')}"
        store.put_bytes(target, store.get_bytes(key))
        keys.append(target)
    if not keys:
        raise MissingInput(f"run {run_id} has no adapter under {source}")
    return keys


def champion_record(
    run_id: str, base_model: str, base_model_key: str | None, metrics: dict, decision: dict, regression_set: dict
) -> dict:
    """What champion.json says: the run, its adapter in the registry, the base model it adapts (a folder, and the
    store prefix it was built under when it was), its metrics, why, and the split it was promoted on (its
    regression set: `promotion.regression_set`)."""
    return {
        "run_id": run_id,
        "adapter": layout.registry_adapter_prefix(run_id),
        "base_model": base_model,
        "base_model_key": base_model_key,
        "metrics": metrics,
        "decision": decision,
        "regression_set": regression_set,
    }


def champion_base(store: Store, record: dict) -> str:
    """The champion's base checkpoint folder: built in the store (mirrored here from it), else the folder named."""
    key = record.get("base_model_key")
    return str(store.local_dir(key)) if key else record["base_model"]


@dataclass(frozen=True)
class Slot:
    """What a retraining slot found: whether it retrains, whether it resumes one started before, and why."""

    retrains: bool
    resumed: bool
    reason: str


def records_retrained_on(store: Store, dataset: str) -> int:
    """How many of the dataset's records the latest retraining slot trained on (0: none has yet): its watermark."""
    slots = [store.get_json(key) for key in store.list(layout.retraining_slots_prefix())]
    return max((slot.get("records", 0) for slot in slots if slot.get("dataset") == dataset), default=0)


def open_slot(store: Store, run_id: str, dataset: str, min_new_records: int, force: bool) -> Slot:
    """Whether retraining slot `run_id` retrains on the dataset's records. It does when at least `min_new_records`
    arrived since the last slot that retrained (whoever started either: the calendar, an ingest's event, a
    command), on `force`, or when it started before (a retry, a requeued run). A slot that retrains records the
    count it trains on before any training, so no later slot trains the same data again."""
    key = layout.retraining_slot_key(run_id)
    if store.exists(key):
        return Slot(True, True, f"slot {run_id} started before: resuming it")
    records = read_manifest(store, dataset).accepted if store.exists(layout.manifest_key(dataset)) else 0
    new = records - records_retrained_on(store, dataset)
    enough = new >= max(min_new_records, 1)
    if not (enough or force):
        return Slot(False, False, f"{new} new records of {dataset} since the last retraining, {min_new_records} needed")
    store.put_json(key, {"run_id": run_id, "dataset": dataset, "records": records, "new_records": new, "forced": force})
    return Slot(True, False, f"{new} new records of {dataset} since the last retraining" + (" (forced)" * force))
