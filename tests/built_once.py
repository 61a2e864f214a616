"""What several xdist workers need, built once for the whole test run."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> tuple[Path, object]:
    """`build(folder)` run once for the whole test run, by whichever xdist worker asks first (the others wait
    for it, then reuse the folder): (folder, what build returned, as JSON)."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # the run's folder, above the workers'
    folder, result = root / name, root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            shutil.rmtree(folder, ignore_errors=True)
            result.write_text(json.dumps(build(folder), default=str))
    return folder, json.loads(result.read_text())
