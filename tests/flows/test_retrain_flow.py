"""Scheduled retraining through real Prefect flows on the tiny model: the first run is promoted, a run
without new data does nothing, and a failure after staging rolls the promotion back (Prefect transaction)."""

import pytest
from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

import flows.retrain
from ecg_core.registry import read_champion
from ecg_core.store import open_store
from flows.retrain import retrain_flow


def _artifacts(key: str) -> list:
    """Every version of an artifact key, oldest first."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return sorted(found, key=lambda a: a.created)


FEW_STEPS = {"max_steps": 4, "logging_steps": 1, "save_strategy": "no"}


def test_retraining_promotes_skips_and_rolls_back(tmp_path, monkeypatch, gpu_limit):
    store_uri = str(tmp_path / "store")
    store = open_store(store_uri)
    settings = dict(
        store=store_uri,
        name="weekly",
        ingest_options={"n_records": 30, "seed": 7, "fs": 100.0},
        overrides={"train_overrides": FEW_STEPS, "eval_batch_size": 8},
        min_margin=0.0,
    )

    first = retrain_flow(**settings)
    champion = read_champion(store)
    assert first["promote"] and first["reason"] == "no champion yet" and champion["run_id"] == first["run_id"]
    assert store.list(champion["adapter"]) and store.exists(f"registry/decisions/{first['run_id']}.json")

    # Same source, same records: nothing new, nothing trained, the champion stays.
    assert retrain_flow(**settings)["reason"] == "no new data since the last run"
    assert read_champion(store) == champion
    # Each decision is a version of the `champion` artifact: the model's history in the UI.
    history = [a.data for a in _artifacts("champion")]
    assert len(history) >= 2 and all(f"Champion: run `{first['run_id']}`" in data for data in history[-2:])
    assert "no champion yet" in history[-2] and "no new data since the last run" in history[-1]

    @task(name="switch_champion")
    def broken_switch(*args):
        raise RuntimeError("registry write failed")

    monkeypatch.setattr(flows.retrain, "switch_champion", broken_switch)
    with pytest.raises(RuntimeError, match="registry write failed"):
        retrain_flow(**settings | {"force": True, "min_margin": -1.0})  # would be promoted
    assert read_champion(store) == champion  # the old champion stands
    staged = [k for k in store.list("registry/models") if not k.startswith(f"registry/models/{first['run_id']}/")]
    assert staged == []  # the new run's staged adapter was rolled back
