"""What a tile budget of 4, 2 or 1 tiles costs per training sample, with the vision tower trained or frozen, before
and after the model is cut to the budget's tile slots (ecg_core/model/tile_slots.py): FLOPs of a training step
counted by torch's FLOP counter and seconds on this CPU, on the real-files checkpoint (ecg_core/model/shrunk.py:
the 11B's processor and 4 tile slots around small random weights); the plan's training FLOPs and samples/s per
H100 (MFU 0.35) for the 11B.

    .venv/bin/python benchmarks/tile_budget.py            # 3 timed steps per case
    .venv/bin/python benchmarks/tile_budget.py --quick    # 1 timed step per case

"Before" is the model as loaded before the cut: every image encoded as all 4 slots, the unused ones black.
Pages: synthetic ECGs printed at 100 dpi (A4 landscape, 1169 x 827 px), batch 2, the paper recipe's LoRA and
checkpointing; 4 tiles padded (the paper's), 2 and 1 stretched (configs/ablation.yaml's variants).
Last line: one JSON object, one entry per (tiles, vision).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness import llama_files, save_and_print
from torch.utils.flop_counter import FlopCounterMode

from ecg_core.instruct.printed import printed_samples
from ecg_core.model.checkpointing import checkpoint_vision_layers
from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.model.shrunk import build_shrunk_mllama
from ecg_core.train import TrainConfig
from ecg_core.train.plan import plan_for_recipe

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "configs" / "paper.yaml"
ELEVEN_B = REPO / "configs" / "models" / "llama-3.2-11b-vision.json"
BUDGETS = [(4, "pad"), (2, "stretch"), (1, "stretch")]
SLOTS = 4  # the checkpoint's


def training_step_cost(model_dir: Path, root: Path, samples: list[dict], pages, slots: int, frozen: bool, steps: int):
    """(FLOPs, seconds) of one LoRA training step per sample, the model loaded with `slots` tile slots."""
    model, processor = load_model_and_processor(model_dir, tile_slots=slots)
    model.train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    checkpoint_vision_layers(model)
    model = apply_lora(model, freeze_vision=frozen)
    batch = InstructionCollator(processor, root, pages, 2048)(samples)
    assert batch["pixel_values"].shape[2] == slots
    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()  # also the warm-up
    started = time.perf_counter()
    for _ in range(steps):
        model(**batch).loss.backward()
    return counter.get_total_flops() / len(samples), (time.perf_counter() - started) / steps / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--llama-files", help="the real non-weight files (default: the test fixture, tests/fixtures/llama32-vision)"
    )
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="1 timed step per case")
    args = parser.parse_args()
    steps = 1 if args.quick else args.steps
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_shrunk_mllama(args.llama_files or llama_files(), root / "model")
        samples = printed_samples(root, 2, fs=250.0)[:2]
        for frozen in (False, True):
            for tiles, fit in BUDGETS:
                pages = PagePreprocessing(tiles, fit)
                before = training_step_cost(model_dir, root, samples, pages, SLOTS, frozen, steps)
                after = (
                    before
                    if tiles == SLOTS
                    else training_step_cost(model_dir, root, samples, pages, tiles, frozen, steps)
                )
                keys = {"max_tiles": str(tiles), "page_fit": fit, "freeze_vision": str(frozen).lower()}
                plans = [
                    plan_for_recipe(ELEVEN_B, TrainConfig.load(PAPER, keys | {"max_tiles": str(slots)}))
                    for slots in (SLOTS, tiles)
                ]
                case = f"{tiles}-{'frozen' if frozen else 'trained'}"
                figures[case] = {
                    "tiles": tiles,
                    "page_fit": fit,
                    "vision": "frozen" if frozen else "trained",
                    "shrunk_train_gflops_per_sample": [round(f / 1e9, 1) for f, _ in (before, after)],
                    "shrunk_cpu_seconds_per_sample": [round(s, 3) for _, s in (before, after)],
                    "plan_11b_train_tflops_per_sample": [round(p.flops["train"] / 1e12, 1) for p in plans],
                    "plan_11b_samples_per_s_h100": [round(p.samples_per_s["H100 80GB"], 2) for p in plans],
                }
                print(f"{case} (before, after): {figures[case]}", flush=True)
    save_and_print("tile_budget", figures, quick=args.quick)


if __name__ == "__main__":
    main()
