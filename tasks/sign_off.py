"""A person's sign-off before a challenger becomes the champion (`retrain --approval required`): the decision
shown as an artifact (both rows, the gain with its interval, example readings), the team told (an event the
stack's notification automation posts, naming the run's page), and the flow run paused for the answer, a typed
form on its page in the Prefect UI (Resume).

The run waits in its own process and holds no GPU slot (slots belong to the training and reading tasks, all done
by then); no answer within the timeout keeps the champion."""

import time
from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from prefect.utilities.urls import url_for
from pydantic import Field

from ecg_core import promotion
from tasks.artifacts import artifact_key, publishing
from tasks.storage import open_store

SIGN_OFF_EVENT = "ecgflow.retraining.awaiting-sign-off"  # for the notification automation (deployments/stack.py)
LONGEST_POLL_S = 5.0  # how often the paused run asks the API whether it was answered


class SignOff(RunInput):
    """The form on the paused run's page."""

    approve: bool = Field(description="On: the challenger becomes the champion that reads new ECGs; off: it does not")
    reviewer: str = Field(min_length=1, description="Who decides (kept with the decision)")
    comment: str = Field("", description="Why (kept with the decision)")


@task
def present_for_sign_off(store_uri: str, name: str, run_id: str, decision: dict, timeout_s: float) -> str:
    """The decision as an artifact and an event for the team; returns the run's page in the UI."""
    store = open_store(store_uri)
    page = url_for("flow-run", obj_id=flow_run.id)  # the run's page, as `ecgflow` commands announce it
    markdown = (
        f"# Sign-off wanted: retraining `{name}`, challenger `{run_id}`\n\n"
        f"The promotion rule says promote: {decision['reason']}\n\n{promotion.decision_table(decision, run_id)}\n\n"
        f"## Example readings (where the two disagree first)\n\n{promotion.example_readings(store, run_id, run_id)}\n\n"
        f"Approve or reject on [the run's page]({page}) (Resume) within {timeout_s:g} s; no answer keeps the champion."
    )
    with publishing("the sign-off request", page):
        create_markdown_artifact(key=artifact_key("sign-off", name), markdown=markdown)
    emit_event(
        event=SIGN_OFF_EVENT,
        resource={"prefect.resource.id": f"ecgflow.retraining.{name}", "prefect.resource.name": name},
        payload={"run_id": run_id, "reason": decision["reason"], "run_page": page, "timeout_s": timeout_s},
    )
    get_run_logger().info("waiting up to %g s for a sign-off of %s at %s", timeout_s, run_id, page)
    return page


def wait_for_sign_off(timeout_s: float) -> dict:
    """Pause this flow run for the form's answer: {"outcome" (approved, rejected, timed out), "by", "at",
    "comment", "waited_s"} (`promotion.signed_off` applies it)."""
    started = time.monotonic()
    try:
        answer = pause_flow_run(
            wait_for_input=SignOff,
            timeout=max(int(timeout_s), 1),
            poll_interval=min(LONGEST_POLL_S, max(timeout_s / 4, 0.5)),
            key=f"sign-off-{flow_run.run_count}",  # a requeued run (its machine lost while waiting) asks again
        )
    except FlowPauseTimeout:
        # Prefect fails a run whose pause expires; this one goes on to record that nobody answered.
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                flow_run.id, Running(message="no sign-off in time: the champion stands"), force=True
            )
        answer = None
    return {
        "outcome": "timed out" if answer is None else "approved" if answer.approve else "rejected",
        "by": None if answer is None else answer.reviewer,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "comment": "" if answer is None else answer.comment,
        "waited_s": timeout_s if answer is None else round(time.monotonic() - started, 1),
    }
