"""The training plan: parameters against built models, FLOPs against torch's counter, activations against the
tensors a real model keeps for backward, how memory moves with GPUs, tile slots and checkpointing, and the
checkpoint's size against the folders real runs write."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import MllamaConfig, MllamaForConditionalGeneration

from ecg_core.model.lora import apply_lora
from ecg_core.model.tile_slots import cut_tile_slots
from ecg_core.train.config import TrainConfig
from ecg_core.train.plan import (
    GIB,
    GPUS,
    SaveCosts,
    count_parameters,
    load_config,
    lora_parameters,
    plan_training,
    render_plan,
    save_interval,
    tile_tokens,
)
from ecg_core.train.recipe import run_training
from tests.checkpoint_bytes import assert_planned_as_saved

REPO = Path(__file__).resolve().parents[1]
MODEL_11B = REPO / "configs" / "models" / "llama-3.2-11b-vision.json"
PAPER = dict(max_tiles=4, seq_len=512, batch_size=4, zero_stage=2, lora_r=64, gradient_checkpointing=True)
ASPECT_RATIOS = {1: [[1, 1]], 2: [[1, 1], [1, 2], [2, 1]], 4: None}  # None: the 11B's eight


def small_config(slots: int = 2) -> MllamaConfig:
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_global_layers=1,
        attention_heads=2,
        image_size=56,
        patch_size=14,
        max_num_tiles=slots,
        supported_aspect_ratios=ASPECT_RATIOS[slots],
        intermediate_layers_indices=[0, 2],
        vision_output_dim=3 * 32,
    )
    text = dict(
        vocab_size=120,
        hidden_size=32,
        intermediate_size=80,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        cross_attention_layers=[1, 3],
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return MllamaConfig(vision_config=vision, text_config=text, image_token_index=120)


def eleven_b_with_slots(slots: int) -> dict:
    """The 11B's config with its tile slots cut to `slots` (tile embeddings shrink with them)."""
    config = json.loads(MODEL_11B.read_text())
    config["vision_config"] |= {"max_num_tiles": slots, "supported_aspect_ratios": ASPECT_RATIOS[slots]}
    return config


def batch_for(config: MllamaConfig, batch_size: int, seq_len: int, device: str = "cpu") -> dict:
    """Inputs shaped as MllamaProcessor gives them: BOS, <|image|>, text attending to every tile; one padded sample."""
    v, slots = config.vision_config, config.vision_config.max_num_tiles
    input_ids = torch.randint(3, config.text_config.vocab_size, (batch_size, seq_len))
    input_ids[:, 0], input_ids[:, 1] = 1, config.image_token_index
    attention_mask = torch.ones_like(input_ids)
    attention_mask[-1, -2:] = 0
    cross_attention_mask = torch.zeros(batch_size, seq_len, 1, slots, dtype=torch.long)
    cross_attention_mask[:, 1:] = 1
    batch = dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        labels=input_ids.masked_fill(input_ids == config.image_token_index, -100),
        pixel_values=torch.randn(batch_size, 1, slots, 3, v.image_size, v.image_size),
        aspect_ratio_ids=torch.ones(batch_size, 1, dtype=torch.long),
        aspect_ratio_mask=torch.ones(batch_size, 1, slots, dtype=torch.long),
        cross_attention_mask=cross_attention_mask,
    )
    return {k: t.to(device) for k, t in batch.items()}


def counted_by_part(model: torch.nn.Module) -> dict[str, int]:
    parts = {"vision": 0, "projector": 0, "text": 0, "lm_head": 0}
    for name, param in model.named_parameters():
        part = next((p for p in ("vision", "projector", "lm_head") if p in name), "text")
        parts[part] += param.numel()
    return parts | {"total": sum(parts.values())}


def activations(plan) -> float:
    return sum(v for k, v in plan.memory_gib.items() if k.startswith("activations"))


def item(plan, prefix: str) -> float:
    return next(v for k, v in plan.memory_gib.items() if k.startswith(prefix))


def test_11b_parameters_equal_the_model_built_on_the_meta_device():
    config = load_config(MODEL_11B)
    with torch.device("meta"):
        model = MllamaForConditionalGeneration(config)
    planned = count_parameters(config)
    assert planned == counted_by_part(model)
    assert 10.6e9 < planned["total"] < 10.7e9


@pytest.mark.parametrize("slots", [1, 2, 4])
def test_small_config_parameters_equal_a_real_model(slots):
    config = small_config(slots)
    assert count_parameters(config) == counted_by_part(MllamaForConditionalGeneration(config))


@pytest.mark.parametrize("freeze_vision", [False, True])
def test_lora_parameters_equal_what_peft_trains(freeze_vision):
    config = small_config()
    model = apply_lora(MllamaForConditionalGeneration(config), r=8, freeze_vision=freeze_vision)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == lora_parameters(config, 8, freeze_vision) > 0


@pytest.mark.parametrize("budget", [1, 2, 4])
def test_forward_flops_of_a_tile_budget_equal_torch_flop_counter(budget):
    """The plan of a budget is that of the model cut to it (ecg_core/model/tile_slots.py), as the counter sees it."""
    config, seq_len = small_config(slots=4), 24
    with torch.device("meta"):
        model = apply_lora(cut_tile_slots(MllamaForConditionalGeneration(config), budget), r=8, dropout=0.0)
    batch = batch_for(model.config, 1, seq_len, device="meta")
    del batch["attention_mask"]  # a padded batch's causal mask needs real values, which meta tensors lack
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(**batch)
    # The counter also sees the vision mask being built: an outer product of all slots' tokens with themselves.
    mask_product = 2 * (budget * tile_tokens(config)[1]) ** 2
    planned = plan_training(config, max_tiles=budget, seq_len=seq_len, lora_r=8, batch_size=1)
    assert counter.get_total_flops() == planned.flops["forward"] + mask_product


def test_activation_model_matches_what_a_small_model_keeps_for_backward():
    """Every distinct tensor autograd saves in one forward (no checkpointing, LoRA with dropout, fp32 on CPU)
    against the plan's forward part (all but the backward peak)."""
    config, batch_size, seq_len = small_config(slots=2), 2, 24
    torch.manual_seed(0)
    model = apply_lora(MllamaForConditionalGeneration(config), r=8, dropout=0.05)
    known = {p.untyped_storage()._cdata for p in model.parameters()}
    saved = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage._cdata not in known:
            saved[storage._cdata] = storage.nbytes()
        return tensor

    batch = batch_for(config, batch_size, seq_len)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(**batch).loss.backward()
    plan = plan_training(
        config,
        seq_len=seq_len,
        batch_size=batch_size,
        zero_stage=0,
        lora_r=8,
        gradient_checkpointing=False,
        weight_bytes=4,
        device="cpu",
    )
    planned = (activations(plan) - plan.memory_gib["activations: backward peak"]) * GIB
    assert sum(saved.values()) == pytest.approx(planned, rel=0.03)


def test_transformers_checkpoints_the_text_decoder_but_not_the_vision_tower():
    """The plan's premise (checkpoint_vision=False): in backward the text layers run again, the vision layers not."""
    config = small_config()
    model = MllamaForConditionalGeneration(config).train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_lora(model, r=8)
    calls = {"vision": 0, "text": 0}
    for name, module in model.named_modules():
        if name.endswith(("self_attn", "cross_attn")) and "layers" in name:
            tower = "vision" if "vision_model" in name else "text"
            module.register_forward_hook(lambda *_, tower=tower: calls.__setitem__(tower, calls[tower] + 1))
    loss = model(**batch_for(config, 1, 12)).loss
    forward = dict(calls)
    loss.backward()
    n_vision = config.vision_config.num_hidden_layers + config.vision_config.num_global_layers
    assert forward == {"vision": n_vision, "text": config.text_config.num_hidden_layers}
    assert calls == {"vision": n_vision, "text": 2 * config.text_config.num_hidden_layers}


def test_zero2_shards_optimizer_state_and_gradients_never_weights():
    one, two = (plan_training(MODEL_11B, **PAPER, num_gpus=n) for n in (1, 2))
    assert item(two, "optimizer") == pytest.approx(item(one, "optimizer") / 2)
    assert item(two, "LoRA gradients") == pytest.approx(item(one, "LoRA gradients") / 2)
    assert item(two, "weights") == item(one, "weights") and activations(two) == activations(one)
    stage1 = plan_training(MODEL_11B, **PAPER | {"zero_stage": 1}, num_gpus=2)  # ZeRO-1: optimizer state only
    assert item(stage1, "optimizer") == item(two, "optimizer")
    assert item(stage1, "LoRA gradients") == item(one, "LoRA gradients")
    # Plain AdamW (zero_stage 0) shards nothing; its fp32 adapters need no master copy: 8 bytes a parameter, not 12.
    plain = [plan_training(MODEL_11B, **PAPER | {"zero_stage": 0}, num_gpus=n) for n in (1, 2)]
    assert item(plain[0], "optimizer") == item(plain[1], "optimizer") == pytest.approx(item(one, "optimizer") * 8 / 12)


def test_a_tile_budget_is_planned_as_the_model_cut_to_it():
    one, two, four = (plan_training(MODEL_11B, **PAPER | {"max_tiles": n}) for n in (1, 2, 4))
    assert four.setup["vision_tokens"] == 4 * one.setup["vision_tokens"] == 4 * 1601
    vision, masks = "activations: vision tower", "activations: masks"
    assert four.memory_gib[vision] == pytest.approx(4 * one.memory_gib[vision])  # sdpa: linear in tokens
    assert four.memory_gib[masks] > 4 * one.memory_gib[masks]  # the vision mask: all slots x all slots
    assert activations(four) > 3 * activations(one)
    assert four.flops["forward vision"] > 4 * one.flops["forward vision"]  # attention over all slots
    assert four.flops["forward decoder"] > one.flops["forward decoder"]  # cross-attention keys
    # A budget is planned as a checkpoint of that many slots, its tile tables cut with it.
    as_checkpoint = plan_training(eleven_b_with_slots(2), **PAPER | {"max_tiles": 2})
    assert (two.flops, two.memory_gib, two.params) == (
        as_checkpoint.flops,
        as_checkpoint.memory_gib,
        as_checkpoint.params,
    )
    assert two.params["vision"] < four.params["vision"]
    # The paper recipe (its vision tower checkpointed): the tower is ~19 of the 30.9 TFLOP forward at 4 tiles; at 2
    # its linear layers halve and its attention across tiles quarters. Frozen, 2 tiles plan over 7 samples/s.
    paper = {n: plan_training(MODEL_11B, **PAPER | {"max_tiles": n}, checkpoint_vision=True) for n in (2, 4)}
    assert paper[2].flops["train"] <= 0.62 * paper[4].flops["train"]
    frozen = plan_training(MODEL_11B, **PAPER | {"max_tiles": 2}, checkpoint_vision=True, freeze_vision=True)
    assert frozen.samples_per_s["H100 80GB"] >= 7
    with pytest.raises(ValueError, match="max_tiles"):
        plan_training(MODEL_11B, max_tiles=5)


def test_checkpointing_trades_activations_for_a_recomputed_forward():
    text_only = plan_training(MODEL_11B, **PAPER)
    none = plan_training(MODEL_11B, **PAPER | {"gradient_checkpointing": False})
    both = plan_training(MODEL_11B, **PAPER, checkpoint_vision=True)
    assert activations(none) == pytest.approx(text_only.activations_without_checkpointing_gib)
    assert activations(none) > activations(text_only) > activations(both)
    assert text_only.flops["train"] - none.flops["train"] == pytest.approx(text_only.flops["forward decoder"])
    assert both.flops["train"] - text_only.flops["train"] == pytest.approx(both.flops["forward vision"])
    # A frozen vision tower keeps no activations at all
    frozen = plan_training(MODEL_11B, **PAPER, freeze_vision=True)
    assert frozen.memory_gib["activations: vision tower"] == 0
    assert 0 < frozen.params["trainable"] < text_only.params["trainable"]


def test_the_paper_recipe_needs_the_vision_tower_checkpointed_to_fit_an_h100():
    plan = plan_training(MODEL_11B, **PAPER, num_gpus=8)
    h100_gib = GPUS["H100 80GB"][0]
    assert plan.headroom_gib["H100 80GB"] == pytest.approx(h100_gib - plan.memory_gib["total"])
    # What the model predicts, and why: transformers checkpoints no vision layer, so the tower's activations are
    # the largest item, larger than all the rest together, and push the rank past 80 GB. Checkpointing them fits.
    vision = plan.memory_gib["activations: vision tower"]
    assert vision > plan.memory_gib["total"] - vision
    assert plan.headroom_gib["H100 80GB"] < 0 < plan.headroom_gib["H200 141GB"]
    checkpointed = plan_training(MODEL_11B, **PAPER, num_gpus=8, checkpoint_vision=True)
    assert checkpointed.headroom_gib["H100 80GB"] > 0
    assert "| H100 80GB | no |" in render_plan(plan) and "| H100 80GB | yes |" in render_plan(checkpointed)


def test_plan_reads_a_path_a_dict_or_a_config_and_serialises():
    from_path = plan_training(MODEL_11B, **PAPER)
    from_dict = plan_training(json.loads(MODEL_11B.read_text()), **PAPER)
    from_config = plan_training(load_config(MODEL_11B), **PAPER)
    assert from_path.to_dict() == from_dict.to_dict() == from_config.to_dict()
    as_json = json.loads(json.dumps(from_path.to_dict()))
    assert as_json["params"]["total"] == from_path.params["total"] and set(as_json["headroom_gib"]) == set(GPUS)
    text = render_plan(from_path)
    assert all(f"| {key} |" in text for key in from_path.memory_gib)


def test_ecgflow_plan_reads_the_recipe_and_says_what_fits(capsys):
    """The paper recipe checkpoints the vision tower too and fits an 80 GB H100; without that it does not."""
    from cli.main import main

    def plan(*extra: str) -> dict:
        assert main(["plan", "--num-gpus", "8", "--json-output", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    paper = plan()
    expected = {"zero_stage": 2, "num_gpus": 8, "batch_size": 4, "max_tiles": 4, "lora_r": 64}
    assert {key: paper["setup"][key] for key in expected} == expected
    assert paper["setup"]["checkpoint_vision"] and paper["headroom_gib"]["H100 80GB"] > 0
    assert plan("--set", "checkpoint_vision=false")["headroom_gib"]["H100 80GB"] < 0
    # The checkpoint, at the plan's documented defaults, and its interval moved by the options
    setup, checkpoint = paper["setup"], paper["checkpoint"]
    assert setup["save_costs"] == asdict(SaveCosts())  # the CLI's defaults are the library's
    assert checkpoint["upload_s"] == pytest.approx(checkpoint["bytes"]["total"] / (SaveCosts().upload_mb_per_s * 1e6))
    slower = plan("--upload-mb-per-s", "50", "--upload-share", "0.06", "--requeue-minutes", "5")["checkpoint"]
    assert slower["interval_min"] == pytest.approx(checkpoint["interval_min"])
    assert slower["lost_machine_min"]["H100 80GB"] == pytest.approx(checkpoint["lost_machine_min"]["H100 80GB"] + 3)
    assert main(["plan", "--num-gpus", "8"]) == 0
    text = capsys.readouterr().out
    assert "| H100 80GB | yes |" in text
    assert "| adapter (adapter_model.safetensors) |" in text and "| optimizer state (global_step*/" in text
    assert f"| H100 80GB | {checkpoint['save_steps']['H100 80GB']} |" in text


@pytest.mark.slow
def test_checkpoint_size_equals_the_folder_a_two_step_run_saves(tiny_mllama_dir, stripe_pages, tmp_path):
    """The tiny recipe (paper LoRA r=64) saved at step 2 by one fp32 process with AdamW (tiny-cpu.yaml as it is):
    12 bytes a LoRA parameter (fp32 adapter, two moments). ZeRO-2's folder is checked where its ranks already run
    (tests/test_train_distributed.py)."""
    root = stripe_pages.root
    keys = {"model": tiny_mllama_dir, "train_jsonl": root / "train.jsonl", "image_root": root, "output_dir": tmp_path}
    keys |= {"max_steps": 2, "save_strategy": "steps", "save_steps": 2}
    config = TrainConfig.load("tiny-cpu.yaml", {k: str(v) for k, v in keys.items()})
    run_training(config)
    measured = assert_planned_as_saved(tmp_path / "checkpoint-2", config, num_gpus=1)
    assert measured["total"] - measured["scheduler"] == pytest.approx(12 * 385_024, rel=0.03)


def test_save_interval_keeps_the_upload_to_its_share_counted_by_hand():
    """2.9 GB at 100 MB/s: a 29 s upload, 4% of 725 s. Global batch 4 x 8 GPUs x 2 accumulated = 64 samples at
    2 samples/s on each of 8 GPUs: a step every 4 s, so 181.25 steps, rounded up to 182 (728 s); a lost machine
    costs half of it, 364 s, plus 2 min."""
    interval = save_interval(
        2_900_000_000, {"GPU": 2.0}, 64, 8, SaveCosts(upload_mb_per_s=100, write_mb_per_s=1000, upload_share=0.04)
    )
    assert interval["upload_s"] == pytest.approx(29) and interval["write_s"] == pytest.approx(2.9)
    assert interval["interval_min"] == pytest.approx(725 / 60)
    assert interval["save_steps"] == {"GPU": 182}
    assert interval["minutes_between_saves"]["GPU"] == pytest.approx(728 / 60)
    assert interval["lost_machine_min"]["GPU"] == pytest.approx(364 / 60 + 2)
    # A step longer than the interval: a save every step
    assert save_interval(2_900_000_000, {"GPU": 0.001}, 64, 8)["save_steps"] == {"GPU": 1}


def test_the_11b_checkpoint_is_16_bytes_a_lora_parameter_under_zero2_and_12_without():
    """ZeRO-2 in bf16: adapter 2 + module states 2 + fp32 master copy and moments 12, the same on any number of
    ranks but their RNG states; plain AdamW: fp32 adapter 4 + moments 8. Accumulated steps are counted."""
    one, eight = (plan_training(MODEL_11B, **PAPER, num_gpus=n) for n in (1, 8))
    trainable = one.params["trainable"]
    assert one.checkpoint["bytes"]["total"] == pytest.approx(16 * trainable, rel=1e-3)
    assert 0 < eight.checkpoint["bytes"]["total"] - one.checkpoint["bytes"]["total"] < 7 * 20_000
    plain = plan_training(MODEL_11B, **PAPER | {"zero_stage": 0})
    assert plain.checkpoint["bytes"]["total"] == pytest.approx(12 * trainable, rel=1e-3)
    accumulated = plan_training(MODEL_11B, **PAPER, num_gpus=8, gradient_accumulation_steps=2)
    assert accumulated.checkpoint["global_batch"] == 2 * eight.checkpoint["global_batch"] == 64
    assert accumulated.checkpoint["save_steps"]["H100 80GB"] == pytest.approx(
        eight.checkpoint["save_steps"]["H100 80GB"] / 2, abs=1
    )
