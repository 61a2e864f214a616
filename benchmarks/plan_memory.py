"""The memory model of ecg_core/train/plan.py against measured peaks: LoRA training steps on CPU.

    .venv/bin/python benchmarks/plan_memory.py --quick   # tiny Mllama; shrunk Mllama, 4 slots of 560 px: ~40 s
    .venv/bin/python benchmarks/plan_memory.py           # + 1 slot, no dropout, batch 4, no checkpointing: ~75 s

Models: the tiny one of ecg_core/model/tiny.py, and a "shrunk" Mllama with the 11B's vocabulary (128,256 +
<|image|>), 560 px tiles and text layer pattern (10 layers, cross-attention at 3 and 8), at widths 64 (vision) and
256 (text). Each trains in a fresh subprocess as the recipe does, in fp32 (the plan's weight_bytes=4, zero_stage 0,
device "cpu"): LoRA r=64 on every Linear but lm_head, text decoder layers checkpointed (but in the last case), AdamW,
a batch shaped like MllamaProcessor's output (one image a sample, every tile slot used, the last sample padded).
Two steps: the first builds the gradients, the second also holds AdamW's state.

Measured from the point where the model, its adapters and the batch exist:
- tensor peak: the peak of live tensor bytes allocated since (a TorchDispatchMode sees each op's output storage,
  a weakref its release; weights, adapters and batch are not counted), the CPU's torch.cuda.max_memory_allocated,
  and what the plan's gradients, optimizer state and activations model;
- RSS peak: growth of the process's peak resident memory (VmHWM, reset before each step; glibc's mmap threshold
  fixed so that freed tensors go back to the OS): what the allocator took, fragmentation and Python's churn included.
Not checked here: what only a GPU shows (bf16 activations, CUDA's 1-byte dropout masks, ZeRO's buckets, the
CUDA context allowance). Last line: one JSON object, per case the planned and measured GiB and their ratio.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
import weakref

import torch
from harness import save_and_print
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from transformers import MllamaConfig, MllamaForConditionalGeneration

from ecg_core.model.lora import apply_lora
from ecg_core.model.shrunk import shrunk_config
from ecg_core.model.tiny import tiny_config, train_tokenizer
from ecg_core.train.plan import GIB, load_config, plan_training


def shrunk(slots: int) -> MllamaConfig:
    """ecg_core/model/shrunk.py's checkpoint config at widths 64 (vision) and 256 (text), with `slots` tile slots."""
    widths = dict(
        text=dict(hidden_size=256, intermediate_size=768),
        vision=dict(hidden_size=64, intermediate_size=256, attention_heads=4, vision_output_dim=3 * 64),
    )
    return load_config(shrunk_config(slots, **widths))


def tiny() -> MllamaConfig:
    return tiny_config(train_tokenizer(["sinus rhythm", "atrial fibrillation"], 300), 224)


# name: (config, batch size, text tokens, LoRA dropout, text layers checkpointed)
CASES = {
    "tiny": (tiny, 4, 128, 0.05, True),
    "shrunk-4": (lambda: shrunk(4), 2, 256, 0.05, True),
    "shrunk-1": (lambda: shrunk(1), 2, 256, 0.05, True),
    "shrunk-4-no-dropout": (lambda: shrunk(4), 2, 256, 0.0, True),
    "shrunk-4-batch-4": (lambda: shrunk(4), 4, 128, 0.05, True),
    "shrunk-1-no-checkpointing": (lambda: shrunk(1), 2, 512, 0.05, False),
}
QUICK = ["tiny", "shrunk-4"]


def processor_batch(config: MllamaConfig, batch_size: int, seq_len: int) -> dict:
    """Random inputs shaped as MllamaProcessor + the collator give them: BOS, <|image|>, text; all tiles used."""
    t, v = config.text_config, config.vision_config
    slots = v.max_num_tiles
    input_ids = torch.randint(0, min(t.vocab_size, 128000), (batch_size, seq_len))
    input_ids[:, 0], input_ids[:, 1] = t.bos_token_id, config.image_token_index
    attention_mask = torch.ones_like(input_ids)
    attention_mask[-1, -seq_len // 8 :] = 0  # the last sample is shorter: right padding, as in a real batch
    input_ids[attention_mask == 0] = t.pad_token_id
    labels = input_ids.masked_fill((attention_mask == 0) | (input_ids == config.image_token_index), -100)
    # Text from the image token on attends to the image's tiles (the processor's dense cross-attention mask)
    cross_attention_mask = torch.zeros(batch_size, seq_len, 1, slots, dtype=torch.long)
    cross_attention_mask[:, 1:] = 1
    ratios = v.supported_aspect_ratios
    largest = max(range(len(ratios)), key=lambda i: ratios[i][0] * ratios[i][1])
    return dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        labels=labels,
        pixel_values=torch.randn(batch_size, 1, slots, 3, v.image_size, v.image_size),
        aspect_ratio_ids=torch.full((batch_size, 1), largest + 1),  # ids count from 1; 0 is "no image"
        aspect_ratio_mask=torch.ones(batch_size, 1, slots, dtype=torch.long),
        cross_attention_mask=cross_attention_mask,
    )


class PeakTensorBytes(TorchDispatchMode):
    """Live bytes of the tensor storages that ops create under it, and their peak."""

    def __init__(self, known: list[torch.Tensor]):
        super().__init__()
        self.seen = {t.untyped_storage()._cdata for t in known}  # existing storages, updated in place: not new
        self.live = self.peak = 0

    def _free(self, key: int, size: int) -> None:
        self.seen.discard(key)
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type == "cpu":
                storage = t.untyped_storage()
                if storage._cdata not in self.seen:
                    self.seen.add(storage._cdata)
                    self.live += storage.nbytes()
                    weakref.finalize(storage, self._free, storage._cdata, storage.nbytes())
        self.peak = max(self.peak, self.live)
        return out


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def measure(case: str, steps: int = 2) -> dict:
    """Train `case` for `steps` steps in this process; peak growth per step in GiB, and the plan's figures."""
    make_config, batch_size, seq_len, dropout, checkpointing = CASES[case]
    torch.manual_seed(0)
    config = make_config()
    model = MllamaForConditionalGeneration(config)
    model.config.text_config.use_cache = False
    model.train()
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_lora(model, r=64, alpha=128, dropout=dropout)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    batch = processor_batch(config, batch_size, seq_len)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss_base = vm_kib("VmRSS:")
    tracker = PeakTensorBytes([*model.parameters(), *model.buffers(), *batch.values()])
    measured, started = [], time.perf_counter()
    for _ in range(steps):
        tracker.peak = tracker.live
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        with tracker:
            loss = model(**batch).loss  # the output (and its logits) goes at once, as in the Trainer
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        measured.append({"tensor_peak_gib": tracker.peak / GIB, "rss_peak_gib": (vm_kib("VmHWM:") - rss_base) / 2**20})
    plan = plan_training(
        config,
        seq_len=seq_len,
        batch_size=batch_size,
        zero_stage=0,
        num_gpus=1,
        lora_r=64,
        lora_dropout=dropout,
        gradient_checkpointing=checkpointing,
        weight_bytes=4,
        device="cpu",
    )
    mem = plan.memory_gib
    activations = {k.removeprefix("activations: "): v for k, v in mem.items() if k.startswith("activations")}
    grads = next(v for k, v in mem.items() if k.startswith("LoRA gradients"))
    optimizer_state = next(v for k, v in mem.items() if k.startswith("optimizer"))
    return {
        "case": case,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "tile_slots": config.vision_config.max_num_tiles,
        "params": plan.params["total"],
        "trainable": plan.params["trainable"],
        "seconds": round(time.perf_counter() - started, 1),
        "planned_step1_gib": sum(activations.values()) + grads,  # no optimizer state before the first update
        "planned_gib": sum(activations.values()) + grads + optimizer_state,
        "planned_activations_gib": activations,
        "measured": measured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}: about a minute on 2 cores")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the subprocess: measure one case
    args = parser.parse_args()
    if args.case:
        torch.set_num_threads(2)
        print(json.dumps(measure(args.case)))
        return
    # A fresh process per case: nothing another case allocated stays in the RSS; fixed mmap threshold: freed
    # tensors return to the OS at once, so RSS follows live memory.
    env = os.environ | {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    figures = {}
    for case in QUICK if args.quick else CASES:
        run = subprocess.run([sys.executable, __file__, "--case", case], env=env, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"{case} failed:\n{run.stderr[-3000:]}")
        r = json.loads(run.stdout.strip().splitlines()[-1])
        step1, step2 = r["measured"]
        print(
            f"{case}: batch {r['batch_size']} x {r['seq_len']} tokens, {r['tile_slots']} tile slot(s), "
            f"{r['params'] / 1e6:.1f} M parameters ({r['trainable'] / 1e6:.2f} M LoRA), {r['seconds']} s\n"
            f"  step 1 (activations + gradients): planned {r['planned_step1_gib']:.3f} GiB, tensor peak "
            f"{step1['tensor_peak_gib']:.3f} ({step1['tensor_peak_gib'] / r['planned_step1_gib']:.2f}x), "
            f"RSS peak {step1['rss_peak_gib']:.3f}\n"
            f"  step 2 (+ AdamW state):           planned {r['planned_gib']:.3f} GiB, tensor peak "
            f"{step2['tensor_peak_gib']:.3f} ({step2['tensor_peak_gib'] / r['planned_gib']:.2f}x), "
            f"RSS peak {step2['rss_peak_gib']:.3f} ({step2['rss_peak_gib'] / r['planned_gib']:.2f}x)"
        )
        figures[case] = {
            "planned_gib": round(r["planned_gib"], 4),
            "tensor_peak_gib": round(step2["tensor_peak_gib"], 4),
            "rss_peak_gib": round(step2["rss_peak_gib"], 4),
            "ratio_measured_to_planned": round(step2["tensor_peak_gib"] / r["planned_gib"], 3),
            "planned_step1_gib": round(r["planned_step1_gib"], 4),
            "tensor_peak_step1_gib": round(step1["tensor_peak_gib"], 4),
            "planned_activations_gib": {k: round(v, 4) for k, v in r["planned_activations_gib"].items()},
        }
    save_and_print("plan_memory", figures, quick=args.quick)


if __name__ == "__main__":
    main()
