"""What moves the demo's fine-tuned row: the demo pipeline run once per variant of its settings (the mix of
detection and report samples, report length, training steps, learning rate, seed), on one store so ingest and
rendering are done once; per variant the fine-tuned macro F1 (with its interval), AUC and report score on the test
split and on the validation split (what a choice should rest on), and the pipeline's wall time. CNNs are left out
(they do not depend on these settings).

    .venv/bin/python benchmarks/demo_levers.py --store /tmp/levers                     # every variant below
    .venv/bin/python benchmarks/demo_levers.py --store /tmp/levers --only 900-steps 1200-steps

Each variant takes the time of a demo pipeline (~4-6 min on 2 cores); run it on an otherwise idle machine.
Last line: one JSON object, variant -> figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from harness import save_and_print

from ecg_core import layout
from ecg_core.evaluate.evaluation import Evaluation
from ecg_core.store import open_store
from flows.train_and_evaluate import tiny_model_key

ROOT = Path(__file__).resolve().parents[1]
DEMO_INSTRUCT = yaml.safe_load((ROOT / "configs/instruct/demo.yaml").read_text())

# variant -> (instruct-set keys replacing configs/instruct/demo.yaml's, pipeline `--set` pairs); each names the
# knobs it measures, so the table reads the same whatever the demo's defaults are.
FULL, SHORT = {"report_measurements": True}, {"report_measurements": False}
VARIANTS: dict[str, tuple[dict, list[str]]] = {
    "900-steps": (FULL, ["recipe.max_steps=900"]),
    "900-steps-reports-150": (FULL | {"per_family": {"report_generation": 150}}, ["recipe.max_steps=900"]),
    "900-steps-reports-600": (FULL | {"per_family": {"report_generation": 600}}, ["recipe.max_steps=900"]),
    "900-steps-lr-2e-3": (FULL, ["recipe.max_steps=900", "recipe.lr=2.0e-3"]),
    "900-steps-detection-only": (
        {"families": ["abnormality_detection"], "topics": ["superclass"]},
        ["recipe.max_steps=900"],
    ),
    "900-steps-short-reports": (SHORT, ["recipe.max_steps=900"]),
    "1200-steps": (FULL, ["recipe.max_steps=1200"]),
    "1200-steps-seed-1": (FULL, ["recipe.max_steps=1200", "recipe.seed=1"]),
    "1200-steps-short-reports": (SHORT, ["recipe.max_steps=1200"]),
    "1200-steps-short-reports-seed-1": (SHORT, ["recipe.max_steps=1200", "recipe.seed=1"]),
}


def run_variant(store: str, name: str, instruct: dict, sets: list[str], folder: Path) -> dict:
    config = folder / f"instruct-{name}.yaml"
    config.write_text(yaml.safe_dump(DEMO_INSTRUCT | instruct))
    command = [sys.executable, "-m", "cli", "pipeline", "--store", store, "--set", f"name={name}"]
    command += [f"instruct={config}", "cnns={}", *sets]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return {"test": figures(store, name), "validation": validation(store, name), "pipeline_s": round(seconds)}


def validation(store: str, name: str) -> dict:
    """The run evaluated on its set's validation split (as the test split of set <name>-val): what a choice rests on.
    The tiny model of set <name> is the base this run trained."""
    local = open_store(store)
    samples = local.get_jsonl(layout.split_key(name, "val"))
    local.put_jsonl(layout.split_key(f"{name}-val", "test"), samples)
    has_reports = any(sample["topic"] == "report" for sample in samples)
    benchmarks = [f"{name}-val/ptbxl-super"] + ([f"{name}-val/report"] if has_reports else [])
    model = str(local.local_dir(tiny_model_key(name)))
    command = [sys.executable, "-m", "cli", "evaluate", "--store", store, "--eval-id", f"{name}-val"]
    command += ["--model", model, "--candidates", f"run:{name}", "--benchmarks", *benchmarks]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return figures(store, f"{name}-val")


def figures(store: str, eval_id: str) -> dict:
    evaluation = Evaluation(eval_id, open_store(store).get_json(layout.metrics_key(eval_id)))
    tuned = evaluation.detection["finetuned"]
    report = evaluation.reports.get("finetuned", {"score": None})
    return {
        "macro_f1": round(tuned["macro_f1"], 3),
        "macro_f1_ci95": [round(x, 3) for x in tuned["ci95"]["macro_f1"]],
        "auc_score": round(tuned["auc_score"], 3),
        "report_score": None if report["score"] is None else round(report["score"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, help="a scratch store shared by the variants")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="run these variants only")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.only or VARIANTS:
            results[name] = run_variant(args.store, name, *VARIANTS[name], Path(folder))
            print(name, results[name], flush=True)
    save_and_print("demo_levers", results)


if __name__ == "__main__":
    main()
