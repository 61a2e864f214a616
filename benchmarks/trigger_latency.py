"""From an ingest's event to the retraining it starts: `make up`'s stack on a PREFECT_HOME and a store of its own
(workers polling at Prefect's default interval, as deployed), then `ecgflow ingest` adds records to the
deployments' store N times; for each, the seconds from the `ecgflow.records.ingested` event to the `retrain`
deployment's flow run being created by the trigger, and to that run Running on the gpu worker. The deployment's
threshold (100 new records) is not reached, so each run ends at once: what is timed is the start, not training.

    .venv/bin/python benchmarks/trigger_latency.py              # 3 ingests
    .venv/bin/python benchmarks/trigger_latency.py --ingests 5

Last line: one JSON object (also benchmarks/results/trigger_latency.json).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from harness import REPO, save_and_print

from ecg_core.ports import free_port


def look(api: str, store: str, after: str) -> tuple[str | None, list]:
    """(when the newest ingest event into the store occurred, the trigger's runs since `after`: [created,
    start_time])."""
    import httpx

    query = {"filter": {"event": {"name": ["ecgflow.records.ingested"]}, "occurred": {"since": after}}, "limit": 10}
    events = httpx.post(f"{api}/events/filter", json=query).json()["events"]
    event = next((e["occurred"] for e in events if e["resource"]["ecgflow.store"] == store), None)
    runs_query = {"flow_runs": {"name": {"any_": ["retrain new-data"]}, "expected_start_time": {"after_": after}}}
    runs = httpx.post(f"{api}/flow_runs/filter", json=runs_query).json()
    return event, [[r["created"], r["start_time"]] for r in runs]


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ingests", type=int, default=3, help="ingests of new records (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trigger-latency-") as tmp:
        store = str(Path(tmp) / "store")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {
            "PREFECT_HOME": str(Path(tmp) / "prefect-home")
        }
        stack = [sys.executable, "deployments/stack.py"]
        subprocess.run(
            [*stack, "up", "--port", str(free_port()), "--gpus", "1", "--store", store],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        api = (Path(env["PREFECT_HOME"]) / "ecgflow-stack" / "server.url").read_text().strip()
        samples = []
        try:
            for seed in range(1, args.ingests + 1):
                after = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 1))
                ingest = [sys.executable, "-m", "cli", "ingest", "synthetic", "--n-records", "10", "--seed", str(seed)]
                subprocess.run(
                    [*ingest, "--fs", "100", "--store", store], cwd=REPO, env=env, check=True, capture_output=True
                )
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    event, runs = look(api, store, after)
                    if event and runs and runs[0][1]:
                        break
                    time.sleep(0.5)
                else:
                    raise SystemExit(f"ingest {seed}: no retraining run started within 180 s: {event}, {runs}")
                created, started = runs[0]
                sample = {"created_s": seconds_between(event, created), "running_s": seconds_between(event, started)}
                samples.append(sample)
                print(
                    f"ingest {seed}: run created {sample['created_s']:.1f} s, Running {sample['running_s']:.1f} s "
                    "after the event",
                    flush=True,
                )
                time.sleep(15)  # the run ends (below the threshold) before the next ingest
        finally:
            subprocess.run([*stack, "down"], cwd=REPO, env=env, capture_output=True)
    running = [s["running_s"] for s in samples]
    save_and_print(
        "trigger_latency",
        {
            "ingests": len(samples),
            "samples": samples,
            "running_s_median": round(statistics.median(running), 1),
            "running_s_max": round(max(running), 1),
            "created_s_median": round(statistics.median(s["created_s"] for s in samples), 1),
            "worker_query_s": "Prefect's default",
            "cores": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
