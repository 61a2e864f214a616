"""Training: the recipes, the real entry point, and proof that LoRA on the tiny model learns to read pages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from peft import PeftModel

from ecg_core.model.load import load_model_and_processor
from ecg_core.reading.generate import generate_answers
from ecg_core.train import TrainConfig
from ecg_core.train.__main__ import parse_args

REPO = Path(__file__).resolve().parents[1]
PAPER, TINY = REPO / "configs" / "paper.yaml", REPO / "configs" / "tiny-cpu.yaml"
TINY_PAGES = TrainConfig.load(TINY).pages  # how the tiny recipe shows pages: one stretched tile


def test_both_recipes_use_the_papers_lora():
    paper, tiny = TrainConfig.load(PAPER), TrainConfig.load(TINY)
    for config in (paper, tiny):
        assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (64, 128, 0.05)
        assert config.max_grad_norm == 1.0
    assert (paper.lr, paper.lr_scheduler_type, paper.num_train_epochs) == (2e-4, "cosine", 3)
    assert (paper.per_device_train_batch_size, paper.gradient_accumulation_steps) == (4, 1)
    assert paper.bf16 and paper.gradient_checkpointing
    assert (tiny.lr, tiny.warmup_steps, tiny.max_grad_norm) == (1e-3, 10, 1.0)
    assert (tiny.lr_scheduler_type, tiny.min_lr_rate) == ("cosine_with_min_lr", 0.1)
    assert tiny.per_device_train_batch_size == 8 and not tiny.bf16


# In a process of its own: the flow's module and its preflight on the tiny checkpoint, then what they imported.
FLOW_PROCESS = """
import sys
import flows.train
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from ecg_core.train.preflight import preflight
paths = dict(zip(("model", "train_jsonl", "image_root", "output_dir"), sys.argv[1:]))
preflight(TrainConfig.load("tiny-cpu.yaml", paths), Launch())
print(*[name for name in ("torch", "transformers", "peft", "datasets") if name in sys.modules])
"""


def test_the_training_flow_checks_a_run_without_the_model_libraries(tiny_mllama_dir, stripe_pages, tmp_path):
    """The flow that launches a training checks, queues and streams; the model's libraries load in the training
    process alone (imported in both, each launch paid about 7 CPU-s twice)."""
    root = stripe_pages.root
    paths = [str(p) for p in (tiny_mllama_dir, root / "train.jsonl", root, tmp_path / "run")]
    out = subprocess.run([sys.executable, "-c", FLOW_PROCESS, *paths], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == []


@pytest.mark.parametrize("path", [PAPER, TINY])
def test_every_knob_has_a_comment(path):
    knobs = [line for line in path.read_text().splitlines() if re.match(r"^\w+:", line)]
    assert knobs and all("#" in line for line in knobs)


def test_command_line_overrides_are_typed_by_the_config():
    config = parse_args(
        [
            "--config",
            str(TINY),
            "--max-steps",
            "7",
            "--lr",
            "5e-4",
            "--val-jsonl",
            "null",
            "--bf16",
            "true",
            "--max_tiles",
            "2",
            "--model",
            "m",
        ]
    )
    assert (config.max_steps, config.lr, config.val_jsonl) == (7, 5e-4, None)
    assert config.bf16 is True and (config.max_tiles, config.page_fit) == (2, "stretch")
    assert config.model == "m" and config.lora_r == 64  # untouched keys keep the YAML's value
    with pytest.raises(ValueError, match="missing required"):
        config.check()


@pytest.mark.slow
def test_entry_point_writes_adapter_log_and_config(tiny_mllama_dir, stripe_pages, tmp_path):
    root = stripe_pages.root
    command = [
        sys.executable,
        "-m",
        "ecg_core.train",
        "--config",
        str(TINY),
        "--model",
        str(tiny_mllama_dir),
        "--train-jsonl",
        str(root / "train.jsonl"),
        "--val-jsonl",
        str(root / "val.jsonl"),
        "--image-root",
        str(root),
        "--output-dir",
        str(tmp_path / "run"),
        "--max-steps",
        "3",
        "--logging-steps",
        "1",
    ]
    subprocess.run(command, cwd=REPO, check=True, timeout=300)

    run = tmp_path / "run"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (run / "adapter").iterdir()}
    config = json.loads((run / "config.json").read_text())
    assert config["max_steps"] == 3 and config["lora_r"] == 64 and config["model"] == str(tiny_mllama_dir)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    assert all({"epoch", "loss", "learning_rate", "grad_norm"} <= set(r) for r in steps)
    assert {"train_runtime", "eval_loss", "seconds_per_step", "trainable_parameters"} <= set(log[-1])
    # the saved adapter loads back onto the base model
    model, _ = load_model_and_processor(tiny_mllama_dir)
    assert isinstance(PeftModel.from_pretrained(model, run / "adapter"), PeftModel)


@pytest.mark.slow
def test_lora_training_learns_to_read_the_pages(tiny_mllama_dir, stripe_pages, tuned_run):
    """~80 steps: the tuned model names the class of held-out pages; the base cannot."""
    root, test = stripe_pages.root, stripe_pages.test
    base, processor = load_model_and_processor(tiny_mllama_dir)
    base_answers = generate_answers(base, processor, test, root, pages=TINY_PAGES, max_new_tokens=4)
    base_accuracy = stripe_pages.accuracy(base_answers, test)

    metrics, run = tuned_run
    tuned, processor = load_model_and_processor(tiny_mllama_dir, adapter=metrics["adapter_dir"])
    answers = generate_answers(tuned, processor, test, root, pages=TINY_PAGES, max_new_tokens=4)
    tuned_accuracy = stripe_pages.accuracy(answers, test)
    print(f"accuracy {base_accuracy:.2f} -> {tuned_accuracy:.2f}; {metrics['seconds_per_step']:.3f} s/step")

    assert base_accuracy <= 0.2  # chance is 0.2; the untrained model does not even write class names
    assert tuned_accuracy >= 0.7
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert losses[-1] < 0.1 * losses[0] and metrics["eval_loss"] < 0.5
    lrs = [r["learning_rate"] for r in log if "learning_rate" in r]
    assert max(lrs) <= 1e-3 and lrs[-1] == pytest.approx(1e-4, rel=0.1)  # cosine down to 10% of the peak


def test_a_checkpoint_cut_short_while_saving_is_not_resumed_from(tmp_path):
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    from ecg_core.train.checkpoints import CHECKPOINT_PREFIX, last_complete_checkpoint

    assert CHECKPOINT_PREFIX == PREFIX_CHECKPOINT_DIR  # the folder name the Trainer saves under, spelt without it

    for step in (5, 10, 15):
        (tmp_path / f"checkpoint-{step}").mkdir()
    for step in (5, 10):
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")  # 15: Ctrl-C mid-save
