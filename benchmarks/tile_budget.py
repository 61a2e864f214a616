"""What a tile budget of 1, 2 or 4 tiles costs per training sample, and what the page gets for it: the canvas,
its padding share, the vision tokens the text attends to, the plan's FLOPs for the 11B, and measured seconds
of a LoRA training step on the real-files checkpoint (ecg_core/model/shrunk.py) on this CPU.

    .venv/bin/python benchmarks/tile_budget.py            # 3 timed steps per case
    .venv/bin/python benchmarks/tile_budget.py --quick    # 1 timed step per case

Pages: synthetic ECGs printed at 100 dpi (A4 landscape, 1169 x 827 px), batch 2, the paper recipe's LoRA and
checkpointing.
Last line: one JSON object, one entry per (tiles, page fit).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image
from report import llama_files, save_and_print

from ecg_core.instruct.printed import printed_samples
from ecg_core.model import InstructionCollator, apply_lora, load_model_and_processor
from ecg_core.model.checkpointing import checkpoint_vision_layers
from ecg_core.model.page_tiles import PagePreprocessing, tile_size
from ecg_core.model.shrunk import build_shrunk_mllama
from ecg_core.train import TrainConfig
from ecg_core.train.plan import plan_for_recipe

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "configs" / "paper.yaml"
ELEVEN_B = REPO / "configs" / "models" / "llama-3.2-11b-vision.json"
BUDGETS = [(1, "pad"), (1, "stretch"), (2, "pad"), (2, "stretch"), (4, "pad"), (4, "stretch")]


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
        model, processor = load_model_and_processor(
            build_shrunk_mllama(args.llama_files or llama_files(), root / "model")
        )
        model.train()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        checkpoint_vision_layers(model)
        model = apply_lora(model)
        samples = printed_samples(root, 2, fs=250.0)[:2]
        tile = tile_size(processor)
        for tiles, fit in BUDGETS:
            pages = PagePreprocessing(tiles, fit)
            batch = InstructionCollator(processor, root, pages, 2048)(samples)
            with Image.open(root / samples[0]["image"]) as page:
                width, height = page.size
            canvas_width, canvas_height = pages.canvas(width, height, tile)
            used_tiles = int(batch["aspect_ratio_mask"][0, 0].sum())
            model(**batch).loss.backward()  # warm-up
            started = time.perf_counter()
            for _ in range(steps):
                model(**batch).loss.backward()
            seconds = (time.perf_counter() - started) / steps / len(samples)
            recipe = TrainConfig.load(PAPER, {"max_tiles": str(tiles), "page_fit": fit})
            plan = plan_for_recipe(ELEVEN_B, recipe, seq_len=int(batch["attention_mask"].sum()) // len(samples))
            figures[f"{tiles}-{fit}"] = {
                "canvas": f"{canvas_width} x {canvas_height}",
                "padding_share": round(pages.padding_share(width, height, tile), 3),
                "vision_tokens_attended": used_tiles * ((tile // 14) ** 2 + 1),
                "tile_slots_encoded": batch["pixel_values"].shape[2],
                "plan_11b_train_tflops_per_sample": round(plan.flops["train"] / 1e12, 1),
                "shrunk_seconds_per_sample_cpu": round(seconds, 3),
            }
            print(f"{tiles} tile(s), {fit}: {figures[f'{tiles}-{fit}']}", flush=True)
    save_and_print("tile_budget" + ("_quick" if args.quick else ""), figures)


if __name__ == "__main__":
    main()
