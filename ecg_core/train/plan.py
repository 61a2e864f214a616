"""A training plan before any GPU time: parameters, per-rank memory, FLOPs and throughput of LoRA on Mllama.

    ecgflow plan --num-gpus 8          # plan_for_recipe: configs/paper.yaml on configs/models/llama-3.2-11b-vision.json

Counted from the config with the shapes of transformers' Mllama modules, for this project's recipe: LoRA on every
nn.Linear but lm_head (ecg_core/model/lora.py), frozen base, sdpa attention (no score matrices kept), HF Trainer or
DeepSpeed ZeRO. tests/test_plan.py checks parameters against built models and FLOPs against torch's FLOP counter;
benchmarks/plan_memory.py the memory against measured peaks. Two facts of transformers 5 decide the memory:

- Only the text decoder layers are checkpointed: `MllamaVisionEncoderLayer` is no `GradientCheckpointingLayer`, so
  `gradient_checkpointing_enable()` leaves the vision tower's activations stored in full (the 11B: 40 layers over
  4 x 1608 tokens per image). `checkpoint_vision=True` plans a recipe that checkpoints them itself.
- Every image is encoded as the run's tile budget (`max_tiles`) of tile slots, the model cut to it at load
  (ecg_core/model/tile_slots.py), and both vision encoders attend over all of them at once: the plan is that of
  the cut model.

The plan also sizes one Trainer checkpoint file by file (`checkpoint_files`; tests/test_plan.py checks it against
the folders a one-process and a ZeRO-2 run write) and how far apart saves must be for its upload to the store
(ecg_core/train/checkpoints.py, in the background) to stay a small share of training (`save_interval`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from transformers import MllamaConfig

from ecg_core.model.tile_slots import with_tile_slots

GIB = 2**30
# GPU: (memory in GiB as nvidia-smi reports it, peak dense bf16 TFLOP/s)
GPUS = {
    "H100 80GB": (81559 / 1024, 989.0),
    "H200 141GB": (143771 / 1024, 989.0),
    "A100 40GB": (40960 / 1024, 312.0),
    "A100 80GB": (81920 / 1024, 312.0),
}
# Not modelled tensor by tensor: CUDA context and cuBLAS workspaces (~1 GiB), NCCL buffers (~0.5 GiB), the caching
# allocator's fragmentation (~1.5 GiB).
RESERVED_GIB = 3.0
ZERO_BUCKET = 200_000_000  # reduce_bucket_size (elements) of configs/deepspeed/zero2.json; overlap_comm keeps two

# A checkpoint's files, as transformers 5, peft 0.21 and DeepSpeed 0.19 write them, measured on the tiny model's:
# bytes a file stores per LoRA tensor besides its data (its ~100-character name, shape, offsets): safetensors' header;
# optimizer.pt's pickle with three zip entries a tensor (step, exp_avg, exp_avg_sq); DeepSpeed's model states, which
# name each tensor twice (state dict and param_shapes); its optimizer shards, once (param_slice_mappings).
INDEX_BYTES = {"safetensors": 150, "optimizer.pt": 820, "model states": 950, "optimizer shards": 230}
# The small files: training arguments, adapter config, model card, scheduler, trainer state (its log history grows
# by ~0.2 KB a logged step: ~2 MB after 100k steps); an RNG state per rank; DeepSpeed's recovery scripts
# (zero_to_fp32.py, zero_to_torch.py).
SMALL_FILES_BYTES, RNG_STATE_BYTES, ZERO_SCRIPTS_BYTES = 14_500, 14_300, 41_000
MB = 1e6


@dataclass(frozen=True)
class SaveCosts:
    """What the save interval is planned on."""

    upload_mb_per_s: float = 100.0  # one machine's sustained upload to S3 (one sequential stream of large objects)
    write_mb_per_s: float = 1000.0  # torch.save to a local NVMe disk: the part of a save that training waits for
    upload_share: float = 0.03  # the most of the time between saves an upload may take
    requeue_minutes: float = 2.0  # how long a lost machine's run takes to be seen, requeued and started again


@dataclass
class TrainingPlan:
    setup: dict  # the arguments, and what they mean in tokens
    params: dict  # parameter counts by part, "total" and "trainable" (LoRA)
    memory_gib: dict  # per rank, item by item (activations by part), and "total"
    activations_without_checkpointing_gib: float  # for comparison: the same run with no layer checkpointed
    flops: dict  # per training sample: "train" (what samples/s divides), "forward", and forward by part
    samples_per_s: dict  # per GPU of each type, at the assumed MFU
    headroom_gib: dict  # per GPU type: memory left on each rank (negative: it does not fit)
    checkpoint: dict  # one checkpoint's "bytes" by file (and "total"), its upload and the save interval it asks

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        s, p = self.setup, self.params
        checkpointed = "text + vision" if s["checkpoint_vision"] else "text" if s["gradient_checkpointing"] else "none"
        rows = [
            f"{p['total'] / 1e9:.3f} B parameters, {p['trainable'] / 1e6:.1f} M trainable (LoRA r={s['lora_r']}); "
            f"per GPU {s['batch_size']} x ({s['seq_len']} text + {s['vision_tokens']} vision tokens: "
            f"{s['max_tiles']} of the checkpoint's {s['tile_slots']} tile slots); {s['num_gpus']} GPU, ZeRO-{s['zero_stage']}, "
            f"checkpointed: {checkpointed}",
            "",
            "| per rank | GiB |",
            "|---|---:|",
            *(f"| {k} | {v:.2f} |" for k, v in self.memory_gib.items()),
            f"| (activations with no checkpointing) | {self.activations_without_checkpointing_gib:.2f} |",
            "",
            f"FLOPs per sample: {self.flops['forward'] / 1e12:.2f} T forward, {self.flops['train'] / 1e12:.2f} T "
            f"training; at MFU {s['mfu']}:",
            "",
            f"| GPU | fits | headroom GiB | samples/s per GPU | samples/s on {s['num_gpus']} |",
            "|---|---|---:|---:|---:|",
        ]
        for gpu, left in self.headroom_gib.items():
            rate, fits = self.samples_per_s[gpu], "yes" if left >= 0 else "no"
            rows.append(f"| {gpu} | {fits} | {left:.1f} | {rate:.2f} | {rate * s['num_gpus']:.2f} |")
        return rows + self.checkpoint_lines()

    def checkpoint_lines(self) -> list[str]:
        c, costs = self.checkpoint, self.setup["save_costs"]
        rows = [
            "",
            "One checkpoint (checkpoint-<step>/, every rank's files):",
            "",
            "| file | MB |",
            "|---|---:|",
            *(f"| {k} | {v / MB:.1f} |" for k, v in c["bytes"].items()),
            "",
            f"Saving stops training {c['write_s']:.1f} s (written at {costs.write_mb_per_s:g} MB/s); the upload takes "
            f"{c['upload_s']:.0f} s at {costs.upload_mb_per_s:g} MB/s, at most {costs.upload_share:.0%} of the time "
            f"between saves when they are {c['interval_min']:.1f} min apart or more. A lost machine costs on average "
            f"half an interval of steps redone + {costs.requeue_minutes:g} min to requeue:",
            "",
            f"| GPU | save_steps (global batch {c['global_batch']}) | min between saves | lost machine, min |",
            "|---|---:|---:|---:|",
        ]
        for gpu, steps in c["save_steps"].items():
            rows.append(
                f"| {gpu} | {steps} | {c['minutes_between_saves'][gpu]:.1f} | {c['lost_machine_min'][gpu]:.1f} |"
            )
        return rows


def render_plan(plan: TrainingPlan) -> str:
    return "\n".join(plan.lines())


def load_config(model_config: dict | MllamaConfig | str | Path) -> MllamaConfig:
    """An MllamaConfig from itself, from a config.json-style dict, or from the path of one."""
    if isinstance(model_config, MllamaConfig):
        return model_config
    if isinstance(model_config, (str, Path)):
        model_config = json.loads(Path(model_config).read_text())
    skip = ("architectures", "model_type", "torch_dtype")  # config.json bookkeeping, no MllamaConfig arguments
    return MllamaConfig(**{k: v for k, v in model_config.items() if k not in skip})


def tile_tokens(config: MllamaConfig) -> tuple[int, int]:
    """Tokens per tile: patches + the class token (1601 for the 11B), and padded to a multiple of 8 (1608) as the
    vision encoders run them."""
    positions = (config.vision_config.image_size // config.vision_config.patch_size) ** 2 + 1
    return positions, -(-positions // 8) * 8


def linear_layers(config: MllamaConfig) -> dict[str, list[tuple[int, int, bool, int]]]:
    """Every nn.Linear as (in, out, bias, count), by the tokens it runs on: vision (padded tiles), projector and
    cross_kv (cross-attention keys and values: vision tokens), text (text tokens), lm_head."""
    v, t = config.vision_config, config.text_config
    n_vision = v.num_hidden_layers + v.num_global_layers
    n_text, n_cross = t.num_hidden_layers, len(t.cross_attention_layers)
    hv, fv, h, f = v.hidden_size, v.intermediate_size, t.hidden_size, t.intermediate_size
    kv = t.num_key_value_heads * h // t.num_attention_heads
    return {
        "vision": [(hv, hv, False, 4 * n_vision), (hv, fv, True, n_vision), (fv, hv, True, n_vision)],  # qkvo, fc1, fc2
        "projector": [(v.vision_output_dim, h, True, 1)],
        "text": [
            (h, h, False, 2 * n_text),  # q_proj, o_proj
            (h, kv, False, 2 * (n_text - n_cross)),  # k_proj, v_proj of the self-attention layers
            (h, f, False, 2 * n_text),  # gate_proj, up_proj
            (f, h, False, n_text),  # down_proj
        ],
        "cross_kv": [(h, kv, False, 2 * n_cross)],
        "lm_head": [(h, t.vocab_size, False, 1)],
    }


def count_parameters(config: MllamaConfig) -> dict[str, int]:
    """Parameters by part, as MllamaForConditionalGeneration holds them."""
    v, t = config.vision_config, config.text_config
    linear = {part: sum((i * o + o * bias) * k for i, o, bias, k in ls) for part, ls in linear_layers(config).items()}
    (positions, _), slots, ratios, hv = tile_tokens(config), v.max_num_tiles, v.max_aspect_ratio_id + 1, v.hidden_size
    vision = [
        v.num_channels * v.patch_size**2 * hv,  # patch embedding: a conv without bias
        hv,  # class embedding
        1 + positions * hv + ratios * slots * positions * hv,  # gated position embedding and its tile-position table
        2 * (ratios * slots * hv + 1),  # pre- and post-tile embeddings with their gates
        (2 + 2 * (v.num_hidden_layers + v.num_global_layers)) * 2 * hv,  # LayerNorms: pre, post, 2 per encoder layer
        2 * v.num_global_layers,  # the global layers' attention and MLP gates
    ]
    text = [
        (t.vocab_size + 8) * t.hidden_size,  # embed_tokens: 8 rows past the text vocabulary, <|image|> among them
        (2 * t.num_hidden_layers + 1) * t.hidden_size,  # two RMSNorms per layer and the final one
        len(t.cross_attention_layers) * (2 * t.hidden_size // t.num_attention_heads + 2),  # q_norm, k_norm, 2 gates
    ]
    parts = {
        "vision": linear["vision"] + sum(vision),
        "projector": linear["projector"],
        "text": linear["text"] + linear["cross_kv"] + sum(text),
        "lm_head": linear["lm_head"],
    }
    return parts | {"total": sum(parts.values())}


def adapted_linears(config: MllamaConfig, freeze_vision: bool = False) -> list[tuple[int, int, int]]:
    """(in, out, count) of the nn.Linears LoRA adapts: all but lm_head (and the vision tower's when it is frozen)."""
    parts = ["projector", "text", "cross_kv"] + ([] if freeze_vision else ["vision"])
    return [(i, o, k) for part in parts for i, o, _, k in linear_layers(config)[part]]


def lora_parameters(config: MllamaConfig, r: int, freeze_vision: bool = False) -> int:
    """r x (in + out) per adapted nn.Linear."""
    return sum(r * (i + o) * k for i, o, k in adapted_linears(config, freeze_vision))


def checkpoint_files(trainable: int, tensors: int, zero_stage: int, lora_bytes: int, num_gpus: int) -> dict[str, int]:
    """Bytes of one Trainer checkpoint folder of a peft model, by file, for `trainable` LoRA parameters in `tensors`
    tensors held in `lora_bytes` bytes each.

    The Trainer saves the adapter with peft's save_pretrained (the LoRA tensors only, at their dtype: fp32 as peft
    keeps them in a plain run, the engine's dtype under DeepSpeed). Plain AdamW writes optimizer.pt: two fp32
    moments a parameter. Under DeepSpeed ZeRO the engine's save_checkpoint writes its module states (the Trainer
    passes exclude_frozen_parameters for a peft model, so the LoRA tensors again, not the frozen base) and one
    optimizer shard a rank: the fp32 master copy ZeRO always keeps and two fp32 moments, the same total on any
    number of ranks. Scheduler, RNG states and trainer state are small."""
    small = SMALL_FILES_BYTES + RNG_STATE_BYTES * num_gpus
    files = {"adapter (adapter_model.safetensors)": lora_bytes * trainable + INDEX_BYTES["safetensors"] * tensors}
    if zero_stage:
        files["LoRA weights (global_step*/mp_rank_00_model_states.pt)"] = (
            lora_bytes * trainable + INDEX_BYTES["model states"] * tensors
        )
        files["optimizer state (global_step*/*zero_pp_rank_*_optim_states.pt, a shard a rank)"] = (
            12 * trainable + INDEX_BYTES["optimizer shards"] * tensors
        )
        small += ZERO_SCRIPTS_BYTES
    else:
        files["optimizer state (optimizer.pt)"] = 8 * trainable + INDEX_BYTES["optimizer.pt"] * tensors
    files["scheduler, RNG states, trainer state, configs"] = small
    return files | {"total": sum(files.values())}


def save_interval(
    checkpoint_bytes: int,
    samples_per_s: dict[str, float],
    global_batch: int,
    num_gpus: int,
    costs: SaveCosts = SaveCosts(),
) -> dict:
    """How far apart saves of `checkpoint_bytes` must be for their upload to take at most `upload_share` of the time
    between them, and what a lost machine then costs; per GPU type (`samples_per_s` per GPU) in optimizer steps of
    `global_batch` samples over `num_gpus` GPUs.

    Training waits for the local write of each save, and for an upload only when the next save would overtake it,
    which a share below 1 rules out. A machine lost between saves costs the steps since the last save, half an
    interval on average, and the minutes to notice, requeue and restart the run on another machine."""
    upload_s = checkpoint_bytes / (costs.upload_mb_per_s * MB)
    interval_s = upload_s / costs.upload_share
    step_s = {gpu: global_batch / (rate * num_gpus) for gpu, rate in samples_per_s.items()}
    save_steps = {gpu: max(1, math.ceil(interval_s / s)) for gpu, s in step_s.items()}
    between = {gpu: save_steps[gpu] * step_s[gpu] / 60 for gpu in step_s}
    return {
        "write_s": checkpoint_bytes / (costs.write_mb_per_s * MB),
        "upload_s": upload_s,
        "interval_min": interval_s / 60,
        "global_batch": global_batch,
        "save_steps": save_steps,
        "minutes_between_saves": between,
        "lost_machine_min": {gpu: minutes / 2 + costs.requeue_minutes for gpu, minutes in between.items()},
    }


def _lora_saved(tokens: int, width: int, layers: int, r: int, a: int, mask: int) -> int:
    """Bytes that `layers` LoRA-wrapped frozen Linears reading one (tokens, width) input keep for backward: each
    dropout its output and its mask (`mask` bytes an element; 0: no dropout, lora_A keeps the shared input once),
    each lora_A its (tokens, r) output. A frozen base layer keeps nothing."""
    return (layers * (a + mask) if mask else a) * tokens * width + layers * a * tokens * r


def _layer_bytes(kind: str, config: MllamaConfig, n: int, m: int, r: int, a: int, mask: int) -> int:
    """What one layer keeps for backward, on n tokens (and m vision tokens for cross-attention keys and values).
    RMSNorm keeps an fp32 copy of its input, LayerNorm its input, sdpa q, k, v and its output (the text model's
    masked sdpa repeats k and v to all heads), gelu and silu their input, the gated product both factors."""

    def lora(tokens: int, width: int, layers: int) -> int:
        return _lora_saved(tokens, width, layers, r, a, mask)

    if kind == "vision":
        h, f = config.vision_config.hidden_size, config.vision_config.intermediate_size
        return 2 * a * n * h + lora(n, h, 3) + 4 * a * n * h + 2 * lora(n, h, 1) + a * n * f + lora(n, f, 1)
    t = config.text_config
    h, f, kv = t.hidden_size, t.intermediate_size, t.num_key_value_heads * t.hidden_size // t.num_attention_heads
    attention = 4 * n * h + 2 * a * n * h + lora(n, h, 1)  # input norm; q into sdpa and its output; o_proj
    mlp = 4 * n * h + lora(n, h, 2) + 3 * a * n * f + lora(n, f, 1)  # norm; gate, up; silu in, both factors; down
    if kind == "self":
        return attention + lora(n, h, 3) + 2 * a * n * h + mlp  # q, k, v projections; k, v repeated
    # q_proj, q_norm; k/v LoRA on the vision states (kept once by the model without dropout), k_norm, k/v repeated
    keys = lora(n, h, 1) + 4 * n * h + (lora(m, h, 2) if mask else 2 * a * m * r) + 4 * m * kv + 2 * a * m * h
    return attention + keys + mlp


def activation_bytes(config: MllamaConfig, setup: dict) -> dict[str, int]:
    """Activations at the peak of a step, by part: what the forward keeps, then the most that backward adds, at its
    start (the logits' gradients) or in a recomputed layer. `setup` holds plan_training's arguments."""
    v, t = config.vision_config, config.text_config
    a, r, b, s = setup["weight_bytes"], setup["lora_r"], setup["batch_size"], setup["seq_len"]
    # bytes of a dropout mask: CUDA's fused dropout keeps a bool, the CPU's a float; 0: no dropout
    mask = 0 if setup["lora_dropout"] == 0 else 1 if setup["device"] == "cuda" else a
    positions, padded = tile_tokens(config)
    n, m, nv = b * s, b * v.max_num_tiles * positions, b * v.max_num_tiles * padded  # text, vision, encoded tokens

    def layer(kind: str) -> int:
        return _layer_bytes(kind, config, nv if kind == "vision" else n, m, r, a, mask)

    n_vision, n_cross = v.num_hidden_layers + v.num_global_layers, len(t.cross_attention_layers)

    def first_layer_less(tokens: int, h: int, norm_bytes: int) -> int:
        """A tower's first layer reads an input that needs no gradient: its first norm and q/k/v dropouts keep none."""
        return (norm_bytes + 3 * mask) * tokens * h

    recompute = 0
    if setup["gradient_checkpointing"]:  # each layer keeps its input; backward recomputes one layer at a time
        text = t.num_hidden_layers * a * n * t.hidden_size
        recompute = max(layer("self"), layer("cross")) + a * m * t.hidden_size  # + the vision states' gradient
    else:
        text = (t.num_hidden_layers - n_cross) * layer("self") + n_cross * layer("cross")
        text -= first_layer_less(n, t.hidden_size, 4)
    vision = 0
    if not setup["freeze_vision"]:  # a frozen tower keeps nothing: nothing in it needs a gradient
        vision = a * nv * v.hidden_size  # layernorm_post's input
        if setup["checkpoint_vision"]:
            vision += n_vision * a * nv * v.hidden_size
            recompute = max(recompute, layer("vision"))
        else:
            vision += n_vision * layer("vision") - first_layer_less(nv, v.hidden_size, a)
    vision_mask = 0 if setup["freeze_vision"] else b * (v.max_num_tiles * padded) ** 2  # all slots x all slots
    return {
        "vision tower": vision,
        "text decoder": text + 4 * n * t.hidden_size,  # + the final RMSNorm
        # the projector's input (the last and 5 intermediate vision layers' states) and output (the vision states)
        # (the latter kept by checkpointed layers as their input, or by k/v's lora_A without dropout)
        "vision states": _lora_saved(m, v.vision_output_dim, 1, r, a, mask)
        + a * m * t.hidden_size * (setup["gradient_checkpointing"] or not mask),
        "masks": a * (vision_mask + s * m + b * s * s),  # additive masks sdpa keeps: vision, cross-attention, causal
        "logits": 4 * n * t.vocab_size,  # log_softmax's fp32 output, kept for the loss's backward
        "backward peak": max(recompute, 8 * n * t.vocab_size),  # + log_softmax's and the logits' fp32 gradients
    }


def forward_flops(config: MllamaConfig, seq_len: int, lora_r: int, freeze_vision: bool = False) -> dict[str, float]:
    """Forward FLOPs of one sample by part: 2 x the multiply-adds of every Linear (LoRA's included) and of the
    patch conv, and of the attention matmuls (QK^T and AV over full squares: sdpa is given explicit masks).
    Norms, softmax and element-wise ops are left out."""
    v, t = config.vision_config, config.text_config
    (positions, padded), slots = tile_tokens(config), v.max_num_tiles
    n_vision, n_cross = v.num_hidden_layers + v.num_global_layers, len(t.cross_attention_layers)

    def linear(part: str, tokens: int, adapted: bool = True) -> int:
        return sum(2 * tokens * (i * o + adapted * lora_r * (i + o)) * k for i, o, _, k in linear_layers(config)[part])

    vision_tokens, encoded = slots * positions, slots * padded
    vision = linear("vision", encoded, not freeze_vision)
    vision += 2 * slots * (positions - 1) * v.num_channels * v.patch_size**2 * v.hidden_size  # the patch conv
    vision += n_vision * 4 * encoded**2 * v.hidden_size  # both encoders attend over all slots at once
    decoder = linear("text", seq_len) + linear("cross_kv", vision_tokens)
    decoder += 4 * seq_len * t.hidden_size * ((t.num_hidden_layers - n_cross) * seq_len + n_cross * vision_tokens)
    projector, lm_head = linear("projector", vision_tokens), linear("lm_head", seq_len, adapted=False)
    return {"vision": vision, "projector": projector, "decoder": decoder, "lm_head": lm_head}


def plan_training(
    model_config: dict | MllamaConfig | str | Path,
    *,
    max_tiles: int | None = None,
    seq_len: int = 512,
    batch_size: int = 4,
    zero_stage: int = 2,
    num_gpus: int = 1,
    lora_r: int = 64,
    lora_dropout: float = 0.05,
    gradient_checkpointing: bool = True,
    checkpoint_vision: bool = False,
    freeze_vision: bool = False,
    mfu: float = 0.35,
    weight_bytes: int = 2,
    device: str = "cuda",
    gradient_accumulation_steps: int = 1,
    save_costs: SaveCosts = SaveCosts(),
) -> TrainingPlan:
    """Plan LoRA fine-tuning of `model_config` (a config.json path or dict, or an MllamaConfig) on `batch_size`
    samples of `seq_len` tokens per GPU, each with one image.

    `max_tiles` is the run's tile budget (default: all slots): the model is planned cut to it. zero_stage 0 is plain data parallel
    with AdamW (peft keeps the adapters in fp32); 1 and 2 are DeepSpeed ZeRO, which casts all weights to
    `weight_bytes` bytes and shards the optimizer state (1) and the gradients too (2), never the weights. `mfu` is
    the share of a GPU's peak bf16 FLOP/s spent on flops["train"] (recomputation included). `device="cpu"` plans
    benchmarks/plan_memory.py's runs. The checkpoint's save interval (`save_interval`) is counted in optimizer steps
    of batch_size x num_gpus x gradient_accumulation_steps samples.
    """
    setup = {k: v for k, v in locals().items() if k != "model_config"}  # the arguments, as the plan records them
    config = load_config(model_config)
    slots = config.vision_config.max_num_tiles
    budget = max_tiles or slots
    if not 1 <= budget <= slots or zero_stage not in (0, 1, 2):
        raise ValueError(f"max_tiles {max_tiles} (this model has {slots} tile slots) or zero_stage {zero_stage} (0-2)")
    config = with_tile_slots(config, budget)
    setup |= {"max_tiles": budget, "tile_slots": slots, "vision_tokens": budget * tile_tokens(config)[0]}
    setup["checkpoint_vision"] = checkpoint_vision = checkpoint_vision and gradient_checkpointing
    params, trainable = count_parameters(config), lora_parameters(config, lora_r, freeze_vision)
    lora_bytes = 4 if zero_stage == 0 else weight_bytes
    optimizer_shard, grad_shard = (num_gpus if zero_stage >= stage else 1 for stage in (1, 2))
    memory = {
        "weights (frozen, replicated)": weight_bytes * params["total"],
        "LoRA weights": lora_bytes * trainable,
        f"LoRA gradients (1/{grad_shard})": lora_bytes * trainable / grad_shard,
        # ZeRO's two reduce buckets; plain DDP keeps a bucket copy of all gradients
        "gradient buckets": 2 * ZERO_BUCKET * weight_bytes if zero_stage else lora_bytes * trainable * (num_gpus > 1),
        # AdamW's m and v in fp32, plus an fp32 master copy of adapters held in 16 bits
        f"optimizer state (1/{optimizer_shard})": (8 + 4 * (lora_bytes < 4)) * trainable / optimizer_shard,
        **{f"activations: {k}": b for k, b in activation_bytes(config, setup).items()},
        "CUDA context, fragmentation (fixed)": RESERVED_GIB * GIB,
    }
    memory = {k: b / GIB for k, b in memory.items()}
    memory["total"] = sum(memory.values())
    no_checkpointing = activation_bytes(config, setup | {"gradient_checkpointing": False, "checkpoint_vision": False})

    forward = forward_flops(config, seq_len, lora_r, freeze_vision)
    # Training = 3 x forward (backward = 2 x), the usual count although a frozen base skips its weight gradients;
    # a checkpointed part runs its forward twice; a frozen vision tower runs no backward.
    train = (1 if freeze_vision else 3 + checkpoint_vision) * forward["vision"]
    train += 3 * (forward["projector"] + forward["lm_head"]) + (3 + gradient_checkpointing) * forward["decoder"]
    samples_per_s = {gpu: mfu * tflops * 1e12 / train for gpu, (_, tflops) in GPUS.items()}
    tensors = 2 * sum(k for *_, k in adapted_linears(config, freeze_vision))  # lora_A and lora_B
    files = checkpoint_files(trainable, tensors, zero_stage, lora_bytes, num_gpus)
    interval = save_interval(
        files["total"],
        samples_per_s,
        batch_size * num_gpus * gradient_accumulation_steps,
        num_gpus,
        save_costs,
    )
    return TrainingPlan(
        setup=setup,
        params=params | {"trainable": trainable},
        memory_gib=memory,
        activations_without_checkpointing_gib=sum(no_checkpointing.values()) / GIB,
        flops={"train": train, "forward": sum(forward.values())} | {f"forward {k}": f for k, f in forward.items()},
        samples_per_s=samples_per_s,
        headroom_gib={gpu: gib - memory["total"] for gpu, (gib, _) in GPUS.items()},
        checkpoint={"bytes": files} | interval,
    )


def plan_for_recipe(
    model_config: str | Path,
    recipe,
    *,
    seq_len: int = 512,
    num_gpus: int = 1,
    mfu: float = 0.35,
    save_costs: SaveCosts = SaveCosts(),
) -> TrainingPlan:
    """The plan of a LoRA training recipe (a TrainConfig, e.g. configs/paper.yaml) on `model_config`: a
    config.json, or a checkpoint folder holding one. The ZeRO stage is read from the recipe's DeepSpeed config."""
    path = Path(model_config)
    if recipe.tuning != "lora":
        raise ValueError(f"tuning {recipe.tuning!r}: the plan covers LoRA recipes")
    zero = json.loads(Path(recipe.deepspeed).read_text())["zero_optimization"]["stage"] if recipe.deepspeed else 0
    return plan_training(
        path / "config.json" if path.is_dir() else path,
        max_tiles=recipe.max_tiles,
        seq_len=seq_len,
        batch_size=recipe.per_device_train_batch_size,
        zero_stage=zero,
        num_gpus=num_gpus,
        lora_r=recipe.lora_r,
        lora_dropout=recipe.lora_dropout,
        gradient_checkpointing=recipe.gradient_checkpointing,
        checkpoint_vision=recipe.checkpoint_vision,
        freeze_vision=recipe.freeze_vision,
        mfu=mfu,
        weight_bytes=2 if recipe.bf16 else 4,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        save_costs=save_costs,
    )
