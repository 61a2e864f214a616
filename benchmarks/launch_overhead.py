"""What a training launch costs before the training process starts: the CPU seconds of a fresh process that
imports the training flow's module and runs its preflight on the real 11B's folder but the weights (tokenizer,
image processor, config), the work of every `ecgflow train` and every `train` deployment run before it queues for
a GPU. Optionally the same in another checkout (`--tree`, e.g. a worktree of an earlier commit), run alternately
with this one so that both see the same machine.

    .venv/bin/python benchmarks/launch_overhead.py                          # this checkout, 5 runs, paper recipe
    .venv/bin/python benchmarks/launch_overhead.py --recipe tiny-cpu.yaml   # the recipe the tests train with
    git worktree add ../before HEAD~1
    .venv/bin/python benchmarks/launch_overhead.py --tree ../before         # both, alternating

Last line: one JSON object (also benchmarks/results/launch_overhead.json), median CPU seconds per tree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import REPO, llama_files, save_and_print
from PIL import Image

from ecg_core.model.shrunk import ELEVEN_B_SHAPES  # the 11B's config.json

# The flow process's part of a launch, as a script: its module, then the checks it runs on the run's files.
FLOW_PROCESS = """
import sys
import flows.train
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from ecg_core.train.preflight import preflight
paths = dict(zip(("model", "train_jsonl", "image_root", "output_dir"), sys.argv[1:]))
preflight(TrainConfig.load(sys.argv[5], paths), Launch())
"""


def cpu_seconds(tree: Path, arguments: list[str]) -> float:
    """User + system CPU of one fresh process running FLOW_PROCESS against the code in `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # PYTHONPATH puts `tree` ahead of the installed (editable) checkout; cwd elsewhere keeps '' from adding this one.
    env = os.environ | {"PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", FLOW_PROCESS, *arguments], cwd=tempfile.gettempdir(), env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def commit_of(tree: Path) -> str:
    """The tree's commit, marked when it holds uncommitted changes (what the figures describe, not where it was)."""
    git = ["git", "-C", str(tree)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return commit + (" with changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per tree (default %(default)s)")
    parser.add_argument(
        "--recipe",
        default="paper.yaml",
        help="the run's recipe (default %(default)s: bf16, so the preflight asks torch about the GPU; tiny-cpu.yaml does not)",
    )
    parser.add_argument("--tree", type=Path, help="another checkout to measure alternately with this one")
    args = parser.parse_args()

    trees = {"this checkout": REPO} | ({"other tree": args.tree.resolve()} if args.tree else {})
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        Image.new("RGB", (1100, 600), "white").save(root / "page.png")
        sample = {"id": "p", "image": "page.png", "conversations": [{"from": "human", "value": "<image>\nECG?"}]}
        (root / "train.jsonl").write_text(json.dumps(sample) + "\n")
        model = root / "model"  # the 11B's folder as downloaded, but the weights (the preflight reads none)
        shutil.copytree(llama_files(), model)
        shutil.copyfile(ELEVEN_B_SHAPES, model / "config.json")
        arguments = [str(model), str(root / "train.jsonl"), str(root), str(root / "run"), args.recipe]
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                seconds[name].append(cpu_seconds(tree, arguments))
    figures = {"recipe": args.recipe} | {
        name: {
            "commit": commit_of(tree),
            "median_cpu_s": round(statistics.median(seconds[name]), 2),
            "runs": [round(s, 2) for s in seconds[name]],
        }
        for name, tree in trees.items()
    }
    save_and_print("launch_overhead", figures)


if __name__ == "__main__":
    main()
