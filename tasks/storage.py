"""The store as the Prefect layer opens it, and Prefect's task results kept in that same store.

S3 credentials come from the standard AWS environment, or from a Prefect `AwsCredentials` block named by
ECGFLOW_AWS_CREDENTIALS_BLOCK (keys stay in the block, never in parameters, logs or artifacts).

Tasks run through `run_cached` persist their results under `<store>/prefect-results/`: called again with
the same inputs, code and data, such a task is skipped (state "Cached" in the UI) on any worker that
reads the store, as long as its output is still in the store.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

from prefect.filesystems import LocalFileSystem, WritableFileSystem
from prefect.tasks import Task, task_input_hash
from prefect.utilities.hashing import hash_objects

from ecg_core import layout
from ecg_core import store as stores

CREDENTIALS_BLOCK = "ECGFLOW_AWS_CREDENTIALS_BLOCK"  # env: name of a Prefect AwsCredentials block to use for S3


@cache
def _credentials():
    name = os.environ.get(CREDENTIALS_BLOCK)
    if not name:
        return None
    from prefect_aws import AwsCredentials

    return AwsCredentials.load(name)


def open_store(uri: str | Path) -> stores.Store:
    credentials = _credentials()
    if credentials is not None and str(uri).startswith("s3://"):
        return stores.S3Store(str(uri), client=credentials.get_s3_client())
    return stores.open_store(uri)


@cache
def result_storage(store_uri: str) -> WritableFileSystem:
    """A storage block for `<store>/prefect-results/`, saved on the Prefect server (workers load results
    through it) under a name derived from the store URI."""
    store = open_store(store_uri)
    if isinstance(store, stores.S3Store):
        from prefect_aws import AwsCredentials, S3Bucket

        folder = f"{store.prefix}/{layout.results_prefix()}".lstrip("/")
        block = S3Bucket(bucket_name=store.bucket, bucket_folder=folder, credentials=_credentials() or AwsCredentials())
    else:
        block = LocalFileSystem(basepath=str(store.local_dir(layout.results_prefix())))
    block.save(f"ecgflow-results-{hashlib.sha256(store_uri.encode()).hexdigest()[:12]}", overwrite=True)
    return block


def run_cached(task: Task, *, reads: list[str], writes: str, **parameters):
    """Call `task` (which takes `store_uri`) with its result persisted to the store and reused when the
    inputs, the task's code and the content of the store keys it `reads` are unchanged, and the key it
    `writes` is still there (if it is gone, the task runs again and refreshes the cache)."""
    store = open_store(parameters["store_uri"])
    version = stores.digest(store, reads)

    def cache_key(context, arguments: dict) -> str | None:
        return hash_objects(task_input_hash(context, arguments), version)

    return task.with_options(
        cache_key_fn=cache_key,
        persist_result=True,
        result_storage=result_storage(parameters["store_uri"]),
        refresh_cache=not store.exists(writes),
    )(**parameters)
