"""The stack's crash rules (deployments/automations.yaml, as `make up` applies them) on a real Prefect API, its
automation services acting on the crashes a worker reports: a crashed run of an ecgflow deployment is requeued,
also one whose process died before it started (run count 0: its API process was down as it began); a run that keeps
crashing is requeued up to the bound and then marked Failed; another team's crashed run is left alone."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.states import Crashed, Pending

ROOT = Path(__file__).resolve().parents[2]
REQUEUES = 2


def ours(rules: list[dict]) -> list[str]:
    requeue = next(rule for rule in rules if rule["name"] == "ecgflow: requeue crashed runs")
    return requeue["trigger"]["match_related"]["prefect.resource.name"]


def test_the_requeue_rule_covers_every_deployment():
    deployments = yaml.safe_load((ROOT / "deployments/prefect.yaml").read_text())["deployments"]
    rules = yaml.safe_load((ROOT / "deployments/automations.yaml").read_text())["automations"]
    assert sorted(ours(rules)) == sorted(d["name"] for d in deployments)


def crash(client, run_id) -> None:
    """What a worker reports when the run's process exits before it ran: Pending, then Crashed."""
    client.set_flow_run_state(run_id, Pending())
    client.set_flow_run_state(run_id, Crashed(message="Flow run infrastructure exited with non-zero status code 1."))


def settled(client, run_id, timeout_s: float = 60) -> tuple[str, str]:
    """The run's state once the automations are done with its latest crash: requeued (and not undone by the
    bound within a few seconds), or Failed."""
    deadline, requeued_at = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        state = client.read_flow_run(run_id).state
        if state.is_failed():
            return state.type.value, state.name
        if state.name == "Requeued":
            requeued_at = requeued_at or time.monotonic()
            if time.monotonic() - requeued_at > 5:
                return state.type.value, state.name
        time.sleep(0.25)
    raise AssertionError(f"the automations left run {run_id} {state.name} for {timeout_s} s")


def test_a_run_that_crashed_before_it_started_is_requeued_and_one_that_keeps_crashing_fails():
    runpy.run_path(str(ROOT / "deployments/stack.py"))["ensure_automations"](90, REQUEUES, None)
    with get_client(sync_client=True) as client:

        def scheduled_run(flow_name: str, deployment_name: str):
            flow_id = client.create_flow_from_name(flow_name)
            deployment = client.create_deployment(flow_id=flow_id, name=deployment_name)
            return client.create_flow_run_from_deployment(deployment).id

        foreign = scheduled_run("their-flow", "their-deployment")
        crash(client, foreign)
        run = scheduled_run("ingest", "ingest")
        outcomes = []
        for _ in range(REQUEUES + 1):
            crash(client, run)
            outcomes.append(settled(client, run))
        assert client.read_flow_run(run).run_count == 0  # it never started: Prefect's run count cannot bound it
        history = [(s.type.value, s.name, s.message) for s in client.read_flow_run_states(run)]
        assert client.read_flow_run(foreign).state.is_crashed()  # acted on before the last of ours: left alone

    assert outcomes == [("SCHEDULED", "Requeued")] * REQUEUES + [("FAILED", "Failed")], history
    assert "left for an operator" in history[-1][2]
