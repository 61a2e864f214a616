"""benchmarks/gpu_check.py in its CPU smoke mode, on a Python that cannot import deepspeed or prefect (as on
a GPU host with PyTorch alone): the throughput path, then the real-files checkpoint trained with the paper recipe and
evaluated, into one JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_runs_without_deepspeed_or_prefect(llama_files, tmp_path):
    hidden = tmp_path / "hide"
    hidden.mkdir()
    # site imports sitecustomize at start-up, in every process gpu_check starts too
    (hidden / "sitecustomize.py").write_text("import sys\nsys.modules.update(deepspeed=None, prefect=None)\n")
    env = os.environ | {"PYTHONPATH": f"{hidden}{os.pathsep}{REPO}"}
    out = tmp_path / "gpu_check.json"
    subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--smoke", "--llama-files", str(llama_files), "--out", str(out)],
        cwd=REPO,
        env=env,
        check=True,
        timeout=600,
    )

    result = json.loads(out.read_text())
    assert result["deepspeed_installed"] is False and result["smoke"] is True
    [throughput] = result["throughput"]
    assert throughput["samples_per_s"] > 0 and throughput["deepspeed_zero2"] is False  # plain AdamW fallback
    run = result["real_files"]
    assert run["global_step"] == 2 and run["launcher"] == "python" and run["train_loss"] > 0
    assert run["n_questions"] > 0 and run["n_reports"] > 0
    assert run["preprocessing"] == {"image_size": 560, "max_tiles": 4, "page_fit": "pad"}  # configs/paper.yaml
