"""Everything a GPU host should measure first, in one run of under 10 minutes, into one JSON file.

    python benchmarks/gpu_check.py --out gpu_check.json                           # on the GPU host
    .venv/bin/python benchmarks/gpu_check.py --smoke --out /tmp/gpu_check.json    # the same path, small, on CPU

1. Throughput of the paper recipe on the 11B's shapes (random bf16 weights; LoRA r=64 alpha=128 on every
   linear layer but lm_head; gradient checkpointing; batch 4; the DeepSpeed ZeRO-2 engine) at 4, 2 and 1
   tiles (the model cut to the budget's tile slots), with the vision tower trained and frozen: samples/s,
   tokens/s, peak GPU memory and MFU, each case in its own process (benchmarks/train_throughput.py) so that
   peak memory is the case's, beside the plan's samples/s and memory.
2. The real-files checkpoint (ecg_core/model/shrunk.py: the real tokenizer, template, processor and
   generation config from --llama-files around small random weights) fine-tuned a few steps with
   configs/paper.yaml (`python -m ecg_core.train`: bf16, checkpointing, 4 padded tiles) and evaluated on
   its test pages (answers, label scores, detection metrics), on the GPU.

Needs torch, transformers, peft, accelerate and datasets, not prefect. DeepSpeed is used where it imports
(benchmarks/gpu_wheels.sh gathers its wheels for a host without network) and otherwise replaced by plain
AdamW, which the JSON says
(`deepspeed_zero2` per case). The real files come from the checkout's test fixture
(tests/fixtures/llama32-vision), or --llama-files. Last line: the JSON, as written to --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from harness import llama_files

from ecg_core.evaluate.answering import predict
from ecg_core.evaluate.benchmarks import KIND_BY_NAME, Benchmark
from ecg_core.evaluate.grading import benchmark_metrics
from ecg_core.instruct.printed import printed_samples
from ecg_core.layout import ADAPTER, TRAIN_LOG
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.page_tiles import tile_size
from ecg_core.model.shrunk import build_shrunk_mllama
from ecg_core.train.config import TrainConfig, write_run_config
from ecg_core.train.launch import Launch, launch_environment, training_command
from ecg_core.train.plan import plan_for_recipe

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
PAPER = REPO / "configs" / "paper.yaml"
ELEVEN_B = REPO / "configs" / "models" / "llama-3.2-11b-vision.json"
# (tile budget, vision tower frozen): the paper's recipe first, then the cheaper options (configs/ablation.yaml's
# variants among them)
OPTIONS = [(4, False), (2, False), (1, False), (4, True), (2, True), (1, True)]
THROUGHPUT_S = 390  # of the check's 10 minutes; the real-files run takes about 2


def has_deepspeed() -> bool:
    return importlib.util.find_spec("deepspeed") is not None


def last_json_line(command: list[str], timeout: int) -> dict:
    """Run a benchmark script and read the JSON object it ends with (its error output on failure, or the timeout:
    one case that hangs must not cost the others)."""
    try:
        done = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def throughput(smoke: bool) -> list[dict]:
    """One row per option (tile budget, vision tower trained or frozen), the paper's first: measured figures beside
    the plan's samples/s and memory per GPU (paper recipe, 1 GPU). Options left when THROUGHPUT_S is spent are
    recorded as skipped, so that the whole check stays within its 10 minutes."""
    if smoke:  # the tiny model on CPU: one tile, the code path only
        return [last_json_line([sys.executable, "train_throughput.py", "--quick"], timeout=600)]
    rows, started = [], time.perf_counter()
    for tiles, frozen in OPTIONS:
        option = {"tiles": tiles, "vision_frozen": frozen}
        if time.perf_counter() - started > THROUGHPUT_S:
            rows.append(option | {"skipped": f"over the {THROUGHPUT_S} s given to throughput"})
            continue
        command = [sys.executable, "train_throughput.py", "--shapes", str(ELEVEN_B), "--tiles", str(tiles)]
        command += ["--page-fit", "stretch", "--steps", "8", "--warmup", "2"] + ["--freeze-vision"] * frozen
        row = last_json_line(command, timeout=150)
        recipe = TrainConfig.load(PAPER, {"max_tiles": str(tiles), "freeze_vision": str(frozen).lower()})
        planned = plan_for_recipe(ELEVEN_B, recipe, seq_len=round(row.get("tokens_per_sample", 512)))
        row |= option | {
            "planned_samples_per_s": round(planned.samples_per_s["H100 80GB"], 2),  # at MFU 0.35
            "planned_peak_mem_gib": round(planned.memory_gib["total"], 1),
        }
        rows.append(row)
        print(f"{tiles} tile(s), vision {'frozen' if frozen else 'trained'}: {row}", flush=True)
    return rows


def real_files_run(llama_files: Path, smoke: bool, device: str) -> dict:
    """Fine-tune the real-files checkpoint with the paper recipe, then evaluate it on its test pages."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_shrunk_mllama(llama_files, root / "model")
        samples = printed_samples(root, 6 if smoke else 24, fs=250.0)
        cut = len(samples) * 3 // 4
        splits = {"train": samples[:cut], "test": samples[cut:]}
        for split, rows in splits.items():
            (root / f"{split}.jsonl").write_text("".join(json.dumps(s) + "\n" for s in rows))
        options = {
            "model": model_dir,
            "train_jsonl": root / "train.jsonl",
            "image_root": root,
            "output_dir": root / "run",
            "max_steps": 2 if smoke else 20,
            "per_device_train_batch_size": 2 if smoke else 4,
            "dataloader_num_workers": 0 if smoke else 2,
            "save_strategy": "no",
            "eval_strategy": "no",
            "logging_steps": 1,
            "bf16": str(device == "cuda").lower(),
        }
        # ZeRO-2 through the deepspeed launcher, as `ecgflow train --launcher deepspeed` runs it; without
        # deepspeed one plain process.
        launch = Launch("deepspeed", 1) if has_deepspeed() and not smoke else Launch()
        if launch.launcher == "python":
            options["deepspeed"] = "null"
        run_config = write_run_config(TrainConfig.load(PAPER, {k: str(v) for k, v in options.items()}))
        started = time.perf_counter()
        done = subprocess.run(
            training_command(run_config, launch),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=480,
            env=launch_environment(launch),
        )
        if done.returncode != 0:
            return {
                "error": "training failed: " + "\n".join(done.stdout.splitlines()[-5:] + done.stderr.splitlines()[-5:])
            }
        train_seconds = time.perf_counter() - started
        summary = json.loads((root / "run" / TRAIN_LOG).read_text().splitlines()[-1])

        pages = TrainConfig.load(PAPER).pages
        model, processor = load_model_and_processor(
            model_dir,
            adapter=root / "run" / ADAPTER,
            device=device,
            dtype=torch.bfloat16 if device == "cuda" else None,
            tile_slots=pages.max_tiles,
        )
        detection, report = (Benchmark("printed", KIND_BY_NAME[name]) for name in ("ptbxl-super", "report"))
        questions = [s for s in splits["test"] if detection.takes(s)]
        reports = [s for s in splits["test"] if report.takes(s)]
        started = time.perf_counter()
        metrics = benchmark_metrics(
            detection, predict(model, processor, detection, questions, root, pages=pages, batch_size=4)
        )
        written = predict(model, processor, report, reports, root, pages=pages, batch_size=4)
        return {
            "train_seconds": round(train_seconds, 1),
            "train_loss": summary.get("train_loss"),
            "global_step": summary.get("global_step"),
            "launcher": launch.launcher,
            "eval_seconds": round(time.perf_counter() - started, 1),
            "n_questions": metrics["n"],
            "n_unparsed": metrics["n_unparsed"],
            "n_reports": len(written),
            "preprocessing": pages.describe(tile_size(processor)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument(
        "--llama-files", help="the real non-weight files (default: the test fixture, tests/fixtures/llama32-vision)"
    )
    parser.add_argument("--smoke", action="store_true", help="small and on whatever device there is: the path only")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    result = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "deepspeed_installed": has_deepspeed(),
        "smoke": args.smoke,
        "throughput": throughput(args.smoke),
    }
    files = Path(args.llama_files) if args.llama_files else llama_files()
    result["real_files"] = (
        real_files_run(files, args.smoke, device)
        if files.is_dir()
        else {"skipped": f"no real Llama 3.2 Vision files at {files}"}
    )
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
