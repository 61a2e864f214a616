"""The ops tests' shared fixtures: a PREFECT_HOME per test module (its server database migrated already; the
tests of a newcomer's first start make empty ones), a small store to train on."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecg_core.model.tiny import build_tiny_mllama
from tests.built_once import built_once
from tests.ops.commands import ROOT, ecgflow, home_env, seeded_home


@pytest.fixture(scope="module")
def home(request, tmp_path_factory, prefect_database):
    """A PREFECT_HOME of the module's own, its local server stopped at the end; empty in a module that tests a
    newcomer's first start (NEWCOMER = True in it)."""
    folder = tmp_path_factory.mktemp("prefect-home")
    if not getattr(request.module, "NEWCOMER", False):
        seeded_home(folder, prefect_database)
    env = home_env(folder, PYTHONUNBUFFERED="1")
    yield env
    subprocess.run([sys.executable, "deployments/stack.py", "down"], cwd=ROOT, env=env, capture_output=True)


@pytest.fixture(scope="module")
def small_store(home, tmp_path_factory):
    """40 synthetic records rendered, the demo's instruction set, a tiny model trained on its texts: built once for
    the run, the store copied for each module (its tests write runs into it): (store, model)."""

    def build(root: Path) -> str:
        store = root / "store"
        for command in (
            f"ingest synthetic --n-records 40 --fs 100 --seed 5 --store {store}",
            f"render synthetic --config render/plain.yaml --set dpi=50 --store {store}",
            f"instruct small --datasets synthetic --config instruct/demo.yaml --store {store}",
        ):
            out = ecgflow(command, home)
            assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        corpus = [
            t["value"]
            for line in (store / "instruct/small/train.jsonl").read_text().splitlines()
            for t in json.loads(line)["conversations"]
        ]
        return str(build_tiny_mllama(root / "tiny", corpus=corpus))

    built, model = built_once(tmp_path_factory, "ops-small-store", build)
    store = tmp_path_factory.mktemp("small-store") / "store"
    shutil.copytree(built / "store", store)
    return store, Path(model)
