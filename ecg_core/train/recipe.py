"""The LoRA fine-tuning recipe (torchtune-style: setup / train / save) on Hugging Face's Trainer.

Writes to `output_dir`: `adapter/` (the LoRA weights, loadable with peft), `train_log.jsonl` (one line per
logging step and evaluation, then a summary line: train_runtime, train_loss, eval_loss, seconds_per_step,
parameter counts) and `config.json` (the resolved config).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora, count_parameters, lora_target_modules
from ecg_core.train.config import TrainConfig

log = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class JsonlLogCallback(TrainerCallback):
    """Appends every Trainer log record (loss, learning_rate, grad_norm, eval_loss, train_runtime...) as JSON."""

    def __init__(self, path: Path):
        self.path = path
        path.write_text("")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.write({"step": state.global_step, **logs})

    def write(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def training_arguments(config: TrainConfig) -> TrainingArguments:
    scheduler_kwargs = {"min_lr_rate": config.min_lr_rate} if config.lr_scheduler_type == "cosine_with_min_lr" else {}
    return TrainingArguments(
        output_dir=config.output_dir,
        learning_rate=config.lr,
        lr_scheduler_type=config.lr_scheduler_type,
        lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        optim=config.optim,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        bf16=config.bf16,
        activation_checkpointing=config.gradient_checkpointing,
        # Non-reentrant checkpointing works with a frozen base (no inputs that require grad).
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning only helps host-to-GPU copies
        deepspeed=config.deepspeed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy=config.eval_strategy if config.val_jsonl else "no",
        save_strategy=config.save_strategy,
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),  # lets the bf16 recipe run (slowly) on a CPU-only machine
        remove_unused_columns=False,  # the collator needs the raw records (image path, conversations)
        label_names=["labels"],  # a PeftModel hides the forward signature Trainer would read this from
        report_to=[],
    )


class LoraFinetuneRecipe:
    def __init__(self, config: TrainConfig):
        self.config = config
        self.output_dir = Path(config.output_dir)

    def setup(self) -> None:
        config = self.config
        config.check()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        (self.output_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

        dtype = torch.bfloat16 if config.bf16 else torch.float32
        model, self.processor = load_model_and_processor(config.model, dtype=dtype)
        model.config.text_config.use_cache = False  # no KV cache while training: it is never read
        self.targets = lora_target_modules(model)
        self.model = apply_lora(model, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout)

        collator = InstructionCollator(
            self.processor, config.image_root, config.image_size, config.max_length, config.cache_images
        )
        self.log_callback = JsonlLogCallback(self.output_dir / "train_log.jsonl")
        self.trainer = Trainer(
            model=self.model,
            args=training_arguments(config),
            train_dataset=read_jsonl(config.train_jsonl),
            eval_dataset=read_jsonl(config.val_jsonl) if config.val_jsonl else None,
            data_collator=collator,
            callbacks=[self.log_callback],
        )

    def train(self) -> dict:
        result = self.trainer.train()
        metrics = dict(result.metrics)
        if self.trainer.eval_dataset is not None:
            # The last scheduled evaluation, or one now when none was scheduled (eval_strategy "no").
            evals = [r for r in self.trainer.state.log_history if "eval_loss" in r] or [self.trainer.evaluate()]
            metrics.update({k: v for k, v in evals[-1].items() if k.startswith("eval_")})
        trainable, total = count_parameters(self.model)
        metrics.update(
            global_step=result.global_step,
            seconds_per_step=metrics["train_runtime"] / max(result.global_step, 1),
            trainable_parameters=trainable,
            base_parameters=total - trainable,
            lora_modules=len(self.targets),
        )
        if self.trainer.is_world_process_zero():
            self.log_callback.write({"step": result.global_step, **metrics})  # the run's summary: last line
        return metrics

    def save(self) -> Path:
        adapter_dir = self.output_dir / "adapter"
        if self.trainer.is_world_process_zero():
            self.model.save_pretrained(adapter_dir)
        return adapter_dir


def run_training(config: TrainConfig) -> dict:
    """Fine-tune, save the adapter and return the run's metrics (train_loss, eval_loss, seconds_per_step...)."""
    recipe = LoraFinetuneRecipe(config)
    recipe.setup()
    metrics = recipe.train()
    metrics["adapter_dir"] = str(recipe.save())
    log.info("training done: %s", metrics)
    return metrics
