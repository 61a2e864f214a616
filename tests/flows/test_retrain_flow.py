"""Retraining through the real flows on tiny models: champion and challenger answer the same records, a clearly
better challenger is signed off by a person (through the API the UI's form posts to) and then reads for
`interpret`, a worse one is not promoted, a slot without new records trains nothing, and a slot retried after a
failed promotion (rolled back) trains once."""

import threading
import time

import pytest
from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterState
from prefect.client.schemas.objects import StateType

import flows.retrain
import tasks.train
from ecg_core import layout
from ecg_core.registry import read_champion
from ecg_core.store import open_store
from flows.interpret import interpret_flow
from flows.pipeline import PipelineConfig
from flows.retrain import retrain_flow
from tasks.registry import switch_champion

UNTRAINED = {"max_steps": 1, "lr": 0.0, "save_strategy": "no"}  # adapters stay zero: the base model answers
LEARNS = {"max_steps": 100, "save_strategy": "no"}  # the tiny recipe's lr: answers in the label words


def _artifacts(key: str) -> list:
    """Every version of an artifact key, oldest first."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return sorted(found, key=lambda a: a.created)


def sign_off_when_paused(answer: dict, seen: dict) -> threading.Thread:
    """A person at the UI: waits for a paused flow run, then resumes it with the form's answer; `seen` gets the
    `gpu` slots held while the run waited."""
    paused = FlowRunFilter(state=FlowRunFilterState(type={"any_": [StateType.PAUSED]}))

    def sign() -> None:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 600
            while not (runs := client.read_flow_runs(flow_run_filter=paused)) and time.monotonic() < deadline:
                time.sleep(0.5)
            seen["gpu_slots_held"] = client.read_global_concurrency_limit_by_name("gpu").active_slots
            client.resume_flow_run(runs[0].id, run_input=answer)

    person = threading.Thread(target=sign, daemon=True)
    person.start()
    return person


@pytest.fixture
def launches(monkeypatch) -> list:
    """Each training process started (the real one runs)."""
    started, launch = [], tasks.train.run_streaming
    monkeypatch.setattr(tasks.train, "run_streaming", lambda *a, **k: started.append(a[0]) or launch(*a, **k))
    return started


def test_champion_and_challenger_on_the_same_records(tmp_path, monkeypatch, gpu_limit, launches, caplog):
    store_uri = str(tmp_path / "store")
    store = open_store(store_uri)

    def retrain(recipe_keys: dict, seed: int = 7, retries: int = 0, **options) -> dict:
        small_pages = {"eval_batch_size": 16, "dpi": 50.0}
        settings = PipelineConfig.load("demo.yaml", {f"recipe.{k}": v for k, v in recipe_keys.items()} | small_pages)
        return retrain_flow.with_options(retries=retries)(
            store=store_uri,
            name="weekly",
            options={"n_records": 100, "seed": seed, "fs": 100.0},
            settings=settings,
            **options,
        )

    # (d) The first slot's promotion fails once (the staging is rolled back) and Prefect retries the flow run:
    # the same run resumes, trained once, and is promoted.
    @task(name="switch_champion")
    def fails_once(*args):
        if "promotion rolled back" not in caplog.text:
            raise RuntimeError("lost the registry for a moment")
        return switch_champion.fn(*args)

    monkeypatch.setattr(flows.retrain, "switch_champion", fails_once)
    first = retrain(UNTRAINED, retries=1)
    assert "lost the registry for a moment" in caplog.text and "staged objects removed" in caplog.text
    assert first["promote"] and first["reason"] == "no champion yet" and len(launches) == 1
    untrained = read_champion(store)
    assert untrained["run_id"] == first["run_id"] and untrained["regression_set"]["instruct"] == first["run_id"]
    monkeypatch.setattr(flows.retrain, "switch_champion", switch_champion)

    # (c) No new records: nothing trained, the decision recorded, the champion stays.
    nothing_new = retrain(UNTRAINED)["reason"]
    assert nothing_new == "0 new records of synthetic since the last retraining, 1 needed" and len(launches) == 1
    assert read_champion(store) == untrained

    # (b) New records and a challenger that learnt: better on the same records; a person signs it off, promoted.
    seen = {}
    person = sign_off_when_paused({"approve": True, "reviewer": "dr. Ada", "comment": "readings look right"}, seen)
    better = retrain(LEARNS, seed=8, approval="required")
    person.join(timeout=5)
    assert seen["gpu_slots_held"] == 0  # the paused run waits without a GPU
    current = better["current"]
    assert better["promote"] and current["ci95"][0] >= 0 and current["challenger"] > current["champion"]
    assert better["sign_off"]["outcome"] == "approved" and better["sign_off"]["by"] == "dr. Ada"
    assert better["reason"].endswith("approved by dr. Ada: readings look right")
    asked = _artifacts("sign-off-weekly")[-1].data
    assert "| champion `" in asked and "## Example readings" in asked and "| record | reference |" in asked
    assert better["regression"]["split"] == f"{first['run_id']}/test"  # the champion's split, held frozen
    champion = read_champion(store)
    assert champion["run_id"] == better["run_id"]
    assert champion["base_model_key"] == f"models/tiny-mllama-{better['run_id']}"
    # The new champion reads for `interpret` by default, on the base it was trained on.
    page = next(k for k in store.list("images/synthetic") if k.endswith(".png"))
    readings = interpret_flow(store=store_uri, inputs=[str(store.local_dir("") / page)])["readings"]
    assert readings[0]["model"]["registry"]["champion"] == better["run_id"]

    # (a) A challenger worse on the same records is not promoted, whatever it scored elsewhere.
    worse = retrain(UNTRAINED, force=True)
    assert not worse["promote"] and worse["current"]["ci95"][0] < 0 and read_champion(store) == champion
    decision = store.get_json(layout.decision_key(worse["run_id"]))
    assert decision["current"]["n"] == better["current"]["n"] and "below the margin" in decision["reason"]
    shown = _artifacts("retrain-weekly")[-1].data
    assert f"| champion `{better['run_id']}` |" in shown and f"| challenger `{worse['run_id']}` |" in shown
    assert "gain, 95% paired interval" in shown and "**Kept the champion**" in shown
    assert len(launches) == 3
