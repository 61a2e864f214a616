"""Training at scale on CPU: the real deepspeed launcher with 2 gloo ranks running ZeRO-2 on the tiny model,
partial tuning, kill-and-resume, and the checks that stop a bad run before it starts."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

from ecg_core.model.load import load_model_and_processor
from ecg_core.model.partial import WEIGHTS_FILE, partial_modules
from ecg_core.train.config import TrainConfig, write_run_config
from ecg_core.train.launch import Launch, launch_environment, training_command
from ecg_core.train.preflight import PreflightError, preflight
from ecg_core.train.recipe import run_training
from tests.checkpoint_bytes import assert_planned_as_saved

REPO = Path(__file__).resolve().parents[1]
TINY, ZERO2 = REPO / "configs" / "tiny-cpu.yaml", "configs/deepspeed/zero2.json"


def _options(pages, model: Path, out: Path, **extra) -> dict:
    return {
        "model": model,
        "train_jsonl": pages.root / "train.jsonl",
        "image_root": pages.root,
        "output_dir": out,
        "logging_steps": 1,
        **extra,
    }


def _command(options: dict, launch: Launch = Launch()) -> list[str]:
    """The launched training, as ecgflow starts it: the run's config.json resolved and written, then read."""
    config = TrainConfig.load(TINY, {k: None if v is None else str(v) for k, v in options.items()})
    return training_command(write_run_config(config), launch)


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_deepspeed_zero2_on_two_gloo_ranks_learns_a_repeated_batch(tiny_mllama_dir, stripe_pages, tmp_path):
    # 8 samples = one global batch (2 ranks x 4): every step sees the same batch, so the loss must fall.
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(s) + "\n" for s in stripe_pages.train[:8]))
    run = tmp_path / "run"
    options = _options(
        stripe_pages,
        tiny_mllama_dir,
        run,
        train_jsonl=train,
        max_steps=6,
        deepspeed=ZERO2,
        per_device_train_batch_size=4,
        save_steps=6,  # one checkpoint, at the end: its folder is the plan's (ecg_core/train/plan.py)
    )
    launch = Launch("deepspeed", num_gpus=2)
    built_ops = tmp_path / "torch-extensions"  # where the ranks would build a DeepSpeed C++ op
    out = subprocess.run(
        _command(options, launch),
        cwd=REPO,
        env=launch_environment(launch) | {"TORCH_EXTENSIONS_DIR": str(built_ops)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert not built_ops.exists()  # gloo carries the gradients: no shared-memory op compiled or loaded

    steps = [r for r in _log(run) if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]
    assert steps[-1]["loss"] < 0.7 * steps[0]["loss"]
    # One epoch per step means both ranks each took 4 of the 8 samples: data parallel over 2 ranks.
    assert steps[-1]["epoch"] == pytest.approx(6.0)
    summary = _log(run)[-1]
    assert (summary["world_size"], summary["zero_stage"]) == (2, 2)  # DeepSpeed's engine ran ZeRO stage 2
    # The adapter is the paper's, and nothing is adapted in lm_head or the embeddings.
    adapter = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"], adapter["lora_dropout"]) == (64, 128, 0.05)
    trainable = json.loads((run / "trainable.json").read_text())
    assert trainable["tuning"] == "lora" and len(trainable["modules"]) == 40  # every nn.Linear of the tiny model
    assert {m.rsplit(".", 1)[-1] for m in trainable["modules"]} == set(adapter["target_modules"])
    assert not [m for m in trainable["modules"] if m.endswith(("lm_head", "embed_tokens"))]
    # The checkpoint ZeRO-2 saved, file by file, is the one `ecgflow plan` sizes: adapter, the engine's module states
    # (LoRA tensors only), a shard a rank of the fp32 master copy and two moments: 20 bytes a LoRA parameter in fp32.
    config = TrainConfig.from_mapping(json.loads((run / "config.json").read_text()), "config.json")
    measured = assert_planned_as_saved(run / "checkpoint-6", config, num_gpus=2)
    assert measured["total"] - measured["scheduler"] == pytest.approx(20 * trainable["trainable_parameters"], rel=0.03)


def test_partial_tuning_trains_only_the_projector_and_cross_attention(tiny_mllama_dir, stripe_pages, tmp_path):
    config = TrainConfig.load(
        TINY,
        {
            k: str(v)
            for k, v in _options(
                stripe_pages, tiny_mllama_dir, tmp_path / "run", tuning="partial", max_steps=3, save_strategy="no"
            ).items()
        },
    )
    metrics = run_training(config)

    base, _ = load_model_and_processor(tiny_mllama_dir)
    expected = partial_modules(base)  # the projector and the cross-attention decoder layer(s)
    trained = load_file(Path(metrics["adapter_dir"]) / WEIGHTS_FILE)
    assert trained and all(name.startswith(tuple(m + "." for m in expected)) for name in trained)
    owners = {m for m in expected if any(n.startswith(m + ".") for n in trained)}
    assert owners == set(expected)
    assert metrics["trainable_parameters"] == sum(t.numel() for t in trained.values())
    base_state = base.state_dict()
    assert any(not (trained[n] == base_state[n]).all() for n in trained)  # the weights moved
    tuned, _ = load_model_and_processor(tiny_mllama_dir, adapter=metrics["adapter_dir"])
    assert all((tuned.state_dict()[n] == trained[n]).all() for n in trained)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_steps_and_losses(tiny_mllama_dir, stripe_pages, tmp_path):
    def command(run: Path) -> list[str]:
        return _command(_options(stripe_pages, tiny_mllama_dir, run, max_steps=20, save_steps=10, warmup_steps=2))

    straight = tmp_path / "straight"
    subprocess.run(command(straight), cwd=REPO, check=True, capture_output=True, timeout=600)

    resumed = tmp_path / "resumed"
    proc = subprocess.Popen(command(resumed), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = resumed / "checkpoint-10" / "trainer_state.json"  # written last: the checkpoint is complete
    while not checkpoint.exists() and proc.poll() is None:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert checkpoint.exists() and not (resumed / "adapter").exists()  # killed between checkpoint and the end
    subprocess.run(command(resumed), cwd=REPO, check=True, capture_output=True, timeout=600)

    summary = _log(resumed)[-1]
    assert summary["resumed_from_step"] == 10 and summary["global_step"] == 20
    losses = {run: [(r["step"], r["loss"]) for r in _log(run) if "loss" in r] for run in (straight, resumed)}
    assert [s for s, _ in losses[resumed]] == [s for s, _ in losses[straight]] == list(range(1, 21))
    assert [loss for _, loss in losses[resumed]] == pytest.approx([loss for _, loss in losses[straight]], rel=1e-3)


def _config(model: Path, pages, tmp_path: Path, **overrides) -> TrainConfig:
    values = {k: str(v) for k, v in _options(pages, model, tmp_path / "run").items()} | overrides
    return TrainConfig.load(TINY, values)


def test_preflight_names_what_to_fix(tiny_mllama_dir, stripe_pages, tmp_path):
    preflight(_config(tiny_mllama_dir, stripe_pages, tmp_path), Launch())  # the good case passes

    with pytest.raises(PreflightError, match="no config.json"):
        preflight(_config(tmp_path / "nowhere", stripe_pages, tmp_path), Launch())

    plain = tmp_path / "no-image-token"
    shutil.copytree(tiny_mllama_dir, plain)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    )
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (plain / name).unlink()
    tokenizer.save_pretrained(plain)
    with pytest.raises(PreflightError, match=r"no <\|image\|> token"):
        preflight(_config(plain, stripe_pages, tmp_path), Launch())

    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        json.dumps(stripe_pages.train[0])
        + "\n"
        + json.dumps(stripe_pages.train[1] | {"image": "images/gone.png"})
        + "\n"
    )
    with pytest.raises(PreflightError, match=r"broken.jsonl:2 .*images/gone.png is missing"):
        preflight(_config(tiny_mllama_dir, stripe_pages, tmp_path, train_jsonl=str(broken)), Launch())

    fixed_batch = tmp_path / "ds.json"
    fixed_batch.write_text(json.dumps({"train_batch_size": 12, "zero_optimization": {"stage": 2}}))
    with pytest.raises(PreflightError, match=r"train_batch_size 12 != .* 8 x grad-accum 1 x 2 ranks = 16"):
        preflight(
            _config(tiny_mllama_dir, stripe_pages, tmp_path, deepspeed=str(fixed_batch)),
            Launch("deepspeed", num_gpus=2),
        )

    with pytest.raises(PreflightError, match="tuning 'full'"):
        preflight(_config(tiny_mllama_dir, stripe_pages, tmp_path, tuning="full"), Launch())
    with pytest.raises(ValueError, match="python launcher runs one process"):
        Launch("python", num_gpus=2)
