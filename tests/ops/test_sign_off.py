"""A person's sign-off before a challenger becomes the champion, on a real local server with its UI: the
retraining's promotion step (flows/retrain.py `promote`, as `retrain --approval required` runs it) pauses the
flow run; the typed form opens in headless chromium from the run's page (Resume); a bad answer is refused by the
API; one run is approved and promoted, one rejected, one left unanswered until its timeout. Each keeps the
champion as it should, records who answered, when and why, ends Completed, and the team's webhook is told of
each sign-off waiting with the run's page."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from cli.local_server import ui_url
from ecg_core import layout
from ecg_core.store import LocalStore
from tests.ops.browser import text_after_click
from tests.ops.commands import ROOT
from tests.ops.waits import wait_for
from tests.ops.webhook import Webhook

# Three challengers that passed the promotion rule, each with its sign-off timeout in seconds.
RUNS = [["approved", 600], ["rejected", 600], ["silent", 4]]
SIGNING = """
import contextlib, json, runpy, sys
from prefect import flow
from cli.local_server import prefect_api
from flows.retrain import promote
from tasks.registry import record_decision

store, hook, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

@flow(name="sign-off", flow_run_name="sign-off {run_id}")
def sign_off(run_id: str, timeout_s: float) -> dict:
    passed = {"promote": True, "reason": "no champion yet", "current": None, "regression": None, "min_margin": 0.0}
    decision = promote(store, "ward", run_id, "tiny-base", None, {"macro_f1": 0.5}, passed, timeout_s, "required")
    record_decision(store, "ward", run_id, decision)
    return decision

with prefect_api() as api:
    with contextlib.redirect_stdout(sys.stderr):  # stdout: the API's address, then the decisions
        runpy.run_path("deployments/stack.py")["ensure_automations"](90, 2, hook)  # `make up`'s, notifications on
    print(api, flush=True)
    print(json.dumps([sign_off(run_id=run, timeout_s=timeout) for run, timeout in runs]), flush=True)
"""


def paused_run(api: httpx.Client, run: str) -> str:
    """The id of run `run`'s flow run once it is paused."""
    query = {"flow_runs": {"name": {"any_": [f"sign-off {run}"]}, "state": {"type": {"any_": ["PAUSED"]}}}}

    def found() -> list:
        return api.post("/flow_runs/filter", json=query).json()

    wait_for(found, 300, f"the flow run of {run} paused for its sign-off", every=0.5)
    return found()[0]["id"]


def resume(api: httpx.Client, flow_run_id: str, answer: dict) -> dict:
    """What the UI's form posts: the answer as the run's input."""
    return api.post(f"/flow_runs/{flow_run_id}/resume", json={"run_input": answer}).json()


@pytest.mark.timeout(600)
def test_a_person_approves_rejects_or_never_answers(home, tmp_path):
    store = LocalStore(tmp_path / "store")
    for run, _ in RUNS:  # what the promotion reads of a trained run: its adapter, its instruction set's test split
        store.put_json(f"{layout.adapter_prefix(run)}/adapter_config.json", {"r": 64})
        store.put_jsonl(layout.split_key(run, "test"), [{"id": f"{run}-0"}])
    hook = Webhook()
    signing = subprocess.Popen(
        [sys.executable, "-c", SIGNING, store.uri, hook.url, json.dumps(RUNS)],
        cwd=ROOT,
        env=home,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "signing.log").open("w"),
        text=True,
    )
    try:
        api_url = signing.stdout.readline().strip()
        assert api_url, (tmp_path / "signing.log").read_text()[-3000:]
        with httpx.Client(base_url=api_url, timeout=30) as api:
            approved = paused_run(api, "approved")
            page = f"{ui_url(api_url)}/runs/flow-run/{approved}"
            form = text_after_click(page, "Resume", "Who decides", tmp_path / "sign-off-form.png")
            refused = resume(api, approved, {"approve": "perhaps"})  # no reviewer, and not a yes or no
            accepted = resume(api, approved, {"approve": True, "reviewer": "dr. Ada", "comment": "readings look right"})
            rejected = paused_run(api, "rejected")
            resume(api, rejected, {"approve": False, "reviewer": "dr. Lin", "comment": "too few records"})
            decisions = json.loads(signing.stdout.readline())
            assert signing.wait(timeout=120) == 0
            query = {"flow_runs": {"name": {"any_": [f"sign-off {run}" for run, _ in RUNS]}}}
            states = {r["name"]: r["state"]["type"] for r in api.post("/flow_runs/filter", json=query).json()}
        wait_for(lambda: sum("sign-off" in p["subject"] for p in hook.posts) == 3, 60, "three sign-off notices")
    finally:
        signing.kill()
        hook.close()

    assert "Approve" in form and "Reviewer" in form and "Comment" in form, form  # the typed form, as people see it
    assert refused["status"] == "REJECT" and accepted["status"] == "ACCEPT", refused
    ada, lin, nobody = decisions
    assert ada["promote"] and ada["sign_off"]["outcome"] == "approved" and ada["sign_off"]["by"] == "dr. Ada"
    assert ada["reason"].endswith("approved by dr. Ada: readings look right") and ada["sign_off"]["at"]
    assert not lin["promote"] and lin["reason"].endswith("rejected by dr. Lin: too few records")
    assert not nobody["promote"] and nobody["sign_off"]["outcome"] == "timed out" and nobody["sign_off"]["by"] is None
    assert nobody["reason"].endswith("no sign-off within 4 s: the champion stands")
    assert states == {f"sign-off {run}": "COMPLETED" for run, _ in RUNS}  # a timeout is an answer, not a failure

    assert store.get_json(layout.champion_key())["run_id"] == "approved"
    assert store.list(layout.registry_adapter_prefix("approved"))
    assert not store.list(layout.registry_adapter_prefix("rejected")) and not store.list("registry/models/silent")
    kept = {run: store.get_json(layout.decision_key(run))["sign_off"] for run, _ in RUNS}
    assert kept["rejected"]["comment"] == "too few records" and kept["silent"]["waited_s"] == 4
    notices = [p["text"] for p in hook.posts if "sign-off" in p["subject"]]
    assert any(approved in text and "/runs/flow-run/" in text for text in notices), notices
