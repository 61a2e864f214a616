"""The project as a user's own venv or a worker image gets it: the wheel built from this checkout, installed into
a fresh virtual environment, run from an empty directory. Its settings files come from inside the package.

The fresh venv reuses the dependencies already installed for the tests (a path entry to their site-packages, read
after the venv's own), but not the checkout: ecgflow itself is only the wheel's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from ecg_core.layout import records_quarantine_key
from ecg_core.ports import free_port
from ecg_core.record_store import read_records
from ecg_core.store import open_store
from tests.ops.commands import WORKER_POLL

ROOT = Path(__file__).resolve().parents[2]
NOT_THE_PACKAGE = shutil.ignore_patterns(".*", "*.egg-info", "build", "dist", "demo-store", "store", "tests", "docs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed: {"bin": its bin/, "env": an environment with an empty PREFECT_HOME}."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=NOT_THE_PACKAGE)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist")]
    subprocess.run([*build, str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp / "dist").glob("ecgflow-*.whl")

    # No PYTHONPATH from the caller: a checkout on it holds ecgflow's metadata, and pip would take the wheel as
    # installed already.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PYTHON"))}
    env |= {"PREFECT_HOME": str(tmp / "prefect-home"), "ECGFLOW_PREFECT_PORT": str(free_port())}
    fresh = tmp / "venv"
    venv.create(fresh, with_pip=True)  # pip writes the `ecgflow` console script, as for any user
    [fresh_site] = fresh.glob("lib/python*/site-packages")
    (fresh_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = [fresh / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, env=env, check=True, capture_output=True, timeout=300)

    yield {"bin": fresh / "bin", "env": env, "wheel": wheel}
    subprocess.run([fresh / "bin" / "ecgflow", "server", "stop"], env=env, capture_output=True, timeout=120)


def run(installed: dict, cwd: Path, *args: str, timeout: float = 600) -> str:
    out = subprocess.run(args, cwd=cwd, env=installed["env"], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, (
        f"{' '.join(map(str, args))}: exit {out.returncode}\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
    )
    return out.stdout


def test_the_wheel_carries_the_settings_files_and_not_the_checkout(installed, tmp_path):
    python = installed["bin"] / "python"
    probe = "import configs, ecg_core, flows; from ecg_core.settings import CONFIGS; print(ecg_core.__file__, CONFIGS)"
    package, configs = run(installed, tmp_path, python, "-c", probe).split()
    venv_root = installed["bin"].parent
    assert Path(package).is_relative_to(venv_root) and Path(configs).is_relative_to(venv_root)

    def settings_files(folder: Path) -> set[str]:
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix in (".yaml", ".json")}

    shipped = settings_files(Path(configs))
    assert (
        shipped == settings_files(ROOT / "configs") and "tiny-cpu.yaml" in shipped and "deepspeed/zero2.json" in shipped
    )


def test_plan_ingest_and_a_training_step_run_from_an_empty_directory(
    installed, tmp_path, tiny_mllama_dir, stripe_pages
):
    ecgflow = installed["bin"] / "ecgflow"
    plan = run(installed, tmp_path, ecgflow, "plan", "--num-gpus", "8", "--json-output")
    assert json.loads(plan)["setup"]["num_gpus"] == 8  # configs/paper.yaml on the 11B's shapes, from the package

    run(installed, tmp_path, ecgflow, "ingest", "synthetic", "--n-records", "12", "--fs", "250", "--store", "store")
    store = open_store(tmp_path / "store")
    kept, rejected = (
        read_records(store, "synthetic"),
        store.get_jsonl(records_quarantine_key("synthetic"))
        if store.exists(records_quarantine_key("synthetic"))
        else [],
    )
    assert len(kept) + len(rejected) == 12 and len(kept) >= 10

    root = stripe_pages.root
    train = [installed["bin"] / "python", "-m", "ecg_core.train", "--config", "tiny-cpu.yaml"]
    train += ["--model", str(tiny_mllama_dir), "--train-jsonl", str(root / "train.jsonl"), "--image-root", str(root)]
    train += ["--output-dir", "run", "--max-steps", "1", "--save-strategy", "no", "--eval-strategy", "no"]
    metrics = json.loads(run(installed, tmp_path, *train).strip().splitlines()[-1])
    assert metrics["global_step"] == 1 and metrics["train_loss"] > 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["lora_r"] == 64 and config["deepspeed"] is None  # tiny-cpu.yaml's values, read from the wheel


def test_a_worker_with_only_the_wheel_runs_a_deployment(installed, tmp_path):
    """The operator deploys from a checkout; the worker (a GPU machine, the worker image) has the wheel and nothing
    else: no checkout, no ECGFLOW_HOME. The deployment's module entrypoint resolves from the installed package."""
    bin_ = installed["bin"]
    run(installed, tmp_path, bin_ / "ecgflow", "ingest", "synthetic", "--n-records", "4", "--store", "warm-up")
    api_url = (Path(installed["env"]["PREFECT_HOME"]) / "ecgflow-stack/server.url").read_text().strip()
    env = installed["env"] | {"PREFECT_API_URL": api_url} | WORKER_POLL
    operator = {**env, "ECGFLOW_STORE": str(tmp_path / "store")}
    for command in (
        [sys.executable, "-m", "prefect", "work-pool", "create", "cpu", "--type", "process"],
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml"]
        + ["--name", "ingest"],
    ):
        out = subprocess.run(command, cwd=ROOT, env=operator, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    machine = tmp_path / "gpu-machine"
    machine.mkdir()
    worker = subprocess.Popen(
        [bin_ / "python", "-m", "prefect", "worker", "start", "--pool", "cpu", "--type", "process"],
        cwd=machine,
        env=env,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        params = ["-p", "source=synthetic", "-p", 'options={"n_records": 6, "fs": 100.0}']
        deployment_run = [bin_ / "python", "-m", "prefect", "deployment", "run", "ingest/ingest", *params]
        deployment_run += ["--watch", "--watch-timeout", "240"]
        out = subprocess.run(deployment_run, cwd=machine, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    finally:  # the worker stopped as `make down` stops one: SIGTERM, and SIGKILL when a loaded machine is slow to act
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert "Completed" in out.stdout, out.stdout[-2000:]
    assert len(read_records(open_store(tmp_path / "store"), "synthetic")) >= 5
