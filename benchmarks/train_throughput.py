"""Fine-tuning throughput: samples/s, tokens/s, peak GPU memory and estimated MFU for the paper's recipe
(LoRA r=64 alpha=128 dropout 0.05 on all linear layers but lm_head, bf16, gradient checkpointing of the text
and the vision layers, batch 4,
DeepSpeed ZeRO-2 when deepspeed is installed) on real rendered ECG pages with their instructions.

    .venv/bin/python benchmarks/train_throughput.py --quick          # CPU smoke check: the tiny model
    python benchmarks/train_throughput.py --shapes configs/models/llama-3.2-11b-vision.json   # 11B, random bf16 weights
    python benchmarks/train_throughput.py --model /models/Llama-3.2-11B-Vision-Instruct      # the real weights

Pages: synthetic 12-lead records drawn as 3x4+1 printouts at 100 dpi; samples: the 5-superclass question
and the report (the longest answers). With `--shapes` the tokenizer, chat template and image processor are
the real checkpoint's (`--llama-files`, default the test fixture tests/fixtures/llama32-vision). `--tiles` / `--page-fit` set the tile budget (default: the recipe's). MFU is the
plan's training FLOPs per sample (ecg_core/train/plan.py: linear layers, attention, recomputed forwards,
the budget's tile slots) over the time and the GPU's dense bf16 peak. Last line: one JSON object with samples_per_s,
tokens_per_s, peak_mem_gb, mfu, device.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from harness import llama_files, save_and_print
from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaProcessor

from ecg_core.instruct.printed import printed_samples
from ecg_core.model.checkpointing import checkpoint_vision_layers
from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora
from ecg_core.model.page_tiles import PAGE_FITS, PagePreprocessing
from ecg_core.model.tile_slots import cut_to_budget
from ecg_core.model.tiny import build_tiny_mllama
from ecg_core.train import TrainConfig
from ecg_core.train.plan import plan_training

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ZERO2 = CONFIGS / "deepspeed" / "zero2.json"
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}  # dense, no sparsity


def shaped_model(
    shapes: Path, device: str, llama_files: Path
) -> tuple[MllamaForConditionalGeneration, MllamaProcessor]:
    """The published architecture with random bf16 weights, built on the device, and the real checkpoint's
    processor (`llama_files`)."""
    processor = MllamaProcessor.from_pretrained(llama_files)
    tokenizer = processor.tokenizer
    values = {
        k: v
        for k, v in json.loads(shapes.read_text()).items()
        if k not in ("architectures", "model_type", "torch_dtype")
    }
    config = MllamaConfig(**values | {"image_token_index": tokenizer.convert_tokens_to_ids("<|image|>")})
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(device):
        model = MllamaForConditionalGeneration(config)
    torch.set_default_dtype(torch.float32)
    return model, processor


def batch_flops(config, batch, checkpoint_vision: bool, freeze_vision: bool) -> float:
    """Training FLOPs of one batch as the plan counts them (ecg_core/train/plan.py: every linear layer,
    attention and the recomputed forwards, every tile slot the model has), at the batch's mean text length."""
    rows, tokens = batch["attention_mask"].shape[0], int(batch["attention_mask"].sum())
    seq_len = max(1, tokens // rows)
    plan = plan_training(config, seq_len=seq_len, checkpoint_vision=checkpoint_vision, freeze_vision=freeze_vision)
    return rows * plan.flops["train"]


def zero2_engine(model, lr: float, batch_size: int):
    """DeepSpeed ZeRO-2 around the LoRA model (one rank here; the same engine the Trainer builds)."""
    import deepspeed

    os.environ.update(
        {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29533"}
    )
    config = json.loads(ZERO2.read_text()) | {
        "train_micro_batch_size_per_gpu": batch_size,
        "gradient_accumulation_steps": 1,
        "train_batch_size": batch_size,
        "gradient_clipping": 1.0,
        "bf16": {"enabled": True},
    }
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="a real Mllama checkpoint folder")
    source.add_argument("--shapes", help="a model config JSON: random weights of that architecture")
    parser.add_argument("--batch-size", type=int, default=4, help="per GPU, as in the paper (default %(default)s)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default %(default)s)")
    parser.add_argument("--no-deepspeed", action="store_true", help="plain AdamW instead of the ZeRO-2 engine")
    parser.add_argument(
        "--llama-files",
        help="with --shapes: the real checkpoint's tokenizer and processor (default: the test fixture)",
    )
    parser.add_argument(
        "--tiles", type=int, help="tile budget per page (default: the recipe's, paper.yaml or tiny-cpu.yaml)"
    )
    parser.add_argument("--page-fit", choices=PAGE_FITS, help="pad or stretch (default: the recipe's)")
    parser.add_argument(
        "--keep-vision-activations",
        action="store_true",
        help="checkpoint the text layers only, as transformers alone does (the 11B: no 80 GB fit)",
    )
    parser.add_argument(
        "--freeze-vision",
        action="store_true",
        help="no adapters in the vision tower (configs/paper.yaml freeze_vision)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, 2 + 3 steps: a smoke check on CPU")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup = 3, 2
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    bf16 = cuda  # CPU runs are smoke checks, in fp32

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        samples = printed_samples(root, n_records=4 * args.batch_size)
        corpus = [turn["value"] for s in samples for turn in s["conversations"]]
        if args.model:
            model, processor = load_model_and_processor(
                args.model, dtype=torch.bfloat16 if bf16 else None, device=device
            )
        elif args.shapes:
            model, processor = shaped_model(Path(args.shapes), device, args.llama_files or llama_files())
        else:
            model, processor = load_model_and_processor(build_tiny_mllama(root / "tiny", corpus=corpus), device=device)
        recipe = TrainConfig.load(CONFIGS / ("paper.yaml" if args.model or args.shapes else "tiny-cpu.yaml")).pages
        pages = PagePreprocessing(args.tiles or recipe.max_tiles, args.page_fit or recipe.page_fit)
        cut_to_budget(model, processor, pages.max_tiles)  # as training loads it: the budget's tile slots only
        config = model.config
        config.text_config.use_cache = False
        model.train()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if not args.keep_vision_activations:
            checkpoint_vision_layers(model)  # configs/paper.yaml checkpoint_vision: true
        model = apply_lora(model, r=64, alpha=128, dropout=0.05, freeze_vision=args.freeze_vision)

        use_deepspeed = not args.no_deepspeed and importlib.util.find_spec("deepspeed") is not None
        engine = zero2_engine(model, 2e-4, args.batch_size) if use_deepspeed else None
        optimizer = None if engine else torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
        collate = InstructionCollator(processor, root, pages, max_length=2048, cache_images=True)
        cpu_batches = [
            collate(samples[i : i + args.batch_size])
            for i in range(0, len(samples) - args.batch_size + 1, args.batch_size)
        ]
        # Tokens and FLOPs are counted once per batch, on the CPU copies: nothing in the timed loop syncs the GPU.
        counts = [
            (
                int(b["attention_mask"].sum()),
                batch_flops(config, b, not args.keep_vision_activations, args.freeze_vision),
            )
            for b in cpu_batches
        ]
        batches = itertools.cycle(zip(cpu_batches, counts))
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 and not engine else contextlib.nullcontext()

        def step() -> tuple[int, float]:
            batch, count = next(batches)
            batch = batch.to(device)
            with autocast:
                loss = (engine or model)(**batch).loss
            if engine:
                engine.backward(loss)
                engine.step()
            else:
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            return count

        for _ in range(args.warmup):
            step()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        tokens, flops = 0, 0.0
        for _ in range(args.steps):
            t, f = step()
            tokens, flops = tokens + t, flops + f
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started

    name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    samples_per_s = args.steps * args.batch_size / seconds
    figures = {
        "samples_per_s": round(samples_per_s, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "peak_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "mfu": round(flops / seconds / (peak * 1e12), 4) if peak else None,
        "device": name,
        "model": args.model or args.shapes or "tiny",
        "deepspeed_zero2": bool(engine),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "tiles": pages.max_tiles,
        "vision_checkpointed": not args.keep_vision_activations,
        "vision_frozen": args.freeze_vision,
        "page_fit": pages.page_fit,
        "tokens_per_sample": round(tokens / (args.steps * args.batch_size), 1),
        "paper_samples_per_s_per_gpu": 0.29,  # 2,880 A100-hours for 3 epochs over ~1M samples
    }
    print(
        f"{figures['samples_per_s']} samples/s, {figures['tokens_per_s']} tokens/s, peak {figures['peak_mem_gb']} GB, "
        f"MFU {figures['mfu']} on {name} ({'ZeRO-2' if engine else 'AdamW'}, batch {args.batch_size})"
    )
    save_and_print("train_throughput", figures, quick=args.quick)


if __name__ == "__main__":
    main()
