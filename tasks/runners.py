"""Where a flow's batch tasks run, chosen by a parameter (so a deployment run can pick it):

threads          threads in the flow's process (default; rendering and parsing release the GIL often enough)
threads:8        ... with 8 threads
dask             a local Dask cluster, one single-threaded worker process per core
dask:4           ... with 4 worker processes
dask:tcp://scheduler:8786   an existing Dask cluster; its workers need this project installed
"""

from __future__ import annotations

import os

from prefect import Task
from prefect.futures import as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from tasks.progress import Progress


def make_task_runner(spec: str = "threads") -> TaskRunner:
    kind, _, arg = spec.partition(":")
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=int(arg) if arg else None)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner  # only those who scale out need dask imported

        if "://" in arg:
            return DaskTaskRunner(address=arg)
        workers = int(arg) if arg else os.cpu_count() or 1
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"task runner {spec!r}: expected threads[:N], dask[:N] or dask:tcp://host:port")


def run_batches(spec: str, task: Task, calls: list[dict], sizes: list[int], description: str, unit: str) -> list:
    """Run `task` once per parameter set in `calls` on the task runner `spec`; results in the order of
    `calls`. A progress bar (`sizes`: units of work per call) and a Prefect progress artifact follow."""
    results = [None] * len(calls)
    with make_task_runner(spec) as runner, Progress(description, unit, total=sum(sizes)) as progress:
        futures = {runner.submit(task, parameters): i for i, parameters in enumerate(calls)}
        for future in as_completed(list(futures)):
            i = futures[future]
            results[i] = future.result()
            progress.advance(sizes[i])
    return results
