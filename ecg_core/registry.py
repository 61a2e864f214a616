"""The model registry in the store: `registry/champion.json` names the promoted run and its metrics, and
`registry/models/<run_id>/adapter/` holds each promoted adapter.

A new run is promoted only if it beats the champion on the chosen metric by a minimum margin (lower is
better for Hamming loss). Publishing copies the adapter first and writes champion.json last: the pointer
switch is the commit, so a failure before it leaves the champion untouched.
"""

from __future__ import annotations

from ecg_core import layout
from ecg_core.store import Store

LOWER_IS_BETTER = {"hamming"}


def read_champion(store: Store) -> dict | None:
    return store.get_json(layout.champion_key()) if store.exists(layout.champion_key()) else None


def decide(candidate: dict, champion: dict | None, metric: str = "macro_f1", min_margin: float = 0.01) -> dict:
    """{"promote", "reason", "metric", "candidate", "champion"} for candidate/champion detection metrics."""
    new = candidate[metric]
    if new is None:
        return {
            "promote": False,
            "reason": f"the candidate has no {metric}",
            "metric": metric,
            "candidate": None,
            "champion": champion and champion["metrics"][metric],
        }
    if champion is None:
        return {"promote": True, "reason": "no champion yet", "metric": metric, "candidate": new, "champion": None}
    old = champion["metrics"][metric]
    gain = (old - new) if metric in LOWER_IS_BETTER else (new - old)
    promote = gain >= min_margin
    reason = (
        f"{metric} {new:.4f} vs champion {old:.4f}: {'better' if promote else 'not better'} by the margin {min_margin}"
    )
    return {"promote": promote, "reason": reason, "metric": metric, "candidate": new, "champion": old}


def stage_adapter(store: Store, run_id: str) -> list[str]:
    """Copy `runs/<run_id>/adapter/` into the registry; returns the keys written (for a rollback)."""
    keys = []
    source = layout.adapter_prefix(run_id)
    for key in store.list(source):
        target = f"{layout.registry_adapter_prefix(run_id)}/{key.removeprefix(source + '/')}"
        store.put_bytes(target, store.get_bytes(key))
        keys.append(target)
    if not keys:
        raise FileNotFoundError(f"run {run_id} has no adapter under {source}")
    return keys


def champion_record(run_id: str, base_model: str, base_model_key: str | None, metrics: dict, decision: dict) -> dict:
    """What champion.json says: the run, its adapter in the registry, the base model it adapts (a folder, or the
    store prefix it was built under), why."""
    return {
        "run_id": run_id,
        "adapter": layout.registry_adapter_prefix(run_id),
        "base_model": base_model,
        "base_model_key": base_model_key,
        "metrics": metrics,
        "decision": decision,
    }


def champion_base(store: Store, record: dict) -> str:
    """The champion's base checkpoint folder: built in the store (mirrored here from it), else the folder named."""
    key = record.get("base_model_key")
    return str(store.local_dir(key)) if key else record["base_model"]
