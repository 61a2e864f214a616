"""The fine-tuning recipe (torchtune-style: setup / train / save) on Hugging Face's Trainer.

Runs as one process, or as N ranks under the `deepspeed` / `torchrun` launchers (DeepSpeed ZeRO-2 when
`deepspeed` names its JSON config; the Trainer fills its "auto" values from the training arguments).

Writes to `output_dir`: `adapter/` (LoRA: the peft adapter; partial: `partial.safetensors`), `merged/`
(when `merge`), `checkpoint-<step>/` (Trainer checkpoints: weights, optimizer, scheduler, RNG states
and the step, from which a restarted run resumes; sent to the store as they are saved when `checkpoint_store`
names one: ecg_core/train/checkpoints.py), `train_log.jsonl` (one line per logging step and
evaluation, then a summary line: train_runtime, train_loss, eval_loss, seconds_per_step, parameter
counts) and `trainable.json` (tuning mode, parameter counts, the trained modules). The run's `config.json`
is written before, by whoever resolved the settings (ecg_core/train/config.py `write_run_config`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

from ecg_core.layout import ADAPTER, TRAIN_LOG
from ecg_core.model.checkpointing import checkpoint_vision_layers
from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora, count_parameters, lora_target_modules
from ecg_core.model.partial import apply_partial, partial_modules, save_partial
from ecg_core.store import Store, open_store
from ecg_core.train.checkpoints import (
    checkpoint_folder,
    checkpoint_step,
    last_complete_checkpoint,
    prune,
    upload_checkpoint,
)
from ecg_core.train.config import TrainConfig

log = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0  # set by the deepspeed / torchrun launchers


def instruction_dataset(path: str | Path, tokenizer) -> Dataset:
    """Image path, conversation and its token length (for length-grouped batches) per sample."""
    records = read_jsonl(path)
    texts = [" ".join(turn["value"] for turn in r["conversations"]) for r in records]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return Dataset.from_dict(
        {
            "image": [r["image"] for r in records],
            "conversations": [r["conversations"] for r in records],
            "length": lengths,
        }
    )


class JsonlLogCallback(TrainerCallback):
    """Appends every Trainer log record (loss, learning_rate, grad_norm, eval_loss, train_runtime...) as JSON.

    A resumed run keeps the lines up to its checkpoint's step, so the log reads as one uninterrupted run."""

    def __init__(self, path: Path, keep_through_step: int = 0):
        self.path = path
        if is_main_process():
            kept = (
                [line for line in self.read() if line.get("step", 0) <= keep_through_step] if keep_through_step else []
            )
            path.write_text("".join(json.dumps(line) + "\n" for line in kept))

    def read(self) -> list[dict]:
        return read_jsonl(self.path) if self.path.exists() else []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.write({"step": state.global_step, **logs})

    def write(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


class StoreCheckpoints(TrainerCallback):
    """Uploads each checkpoint the main process saves, in the background, to `prefix` in `store`.

    `on_step_end` of a step that will save waits for the previous upload (the Trainer's rotation could otherwise
    delete a folder being sent); `on_train_end` waits for the last one. `waited_s` sums the time training waited.
    """

    def __init__(self, store: Store, prefix: str, output_dir: Path, keep: int | None):
        self.store, self.prefix, self.output_dir, self.keep = store, prefix, Path(output_dir), keep
        self.upload: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.waited_s = 0.0

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save and state.is_world_process_zero:
            self.wait()

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.wait()
        checkpoint = self.output_dir / checkpoint_folder(state.global_step)
        train_log = self.output_dir / TRAIN_LOG  # read here: the training thread appends to it while the upload runs
        snapshot = train_log.read_bytes() if train_log.is_file() else None
        self.upload = threading.Thread(
            target=self._send, args=(checkpoint, snapshot), name="checkpoint-upload", daemon=True
        )
        self.upload.start()

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.wait()

    def wait(self) -> None:
        """Block until the upload in flight is done; an upload that failed fails the run here, in the training loop."""
        if self.upload is not None:
            started = time.monotonic()
            self.upload.join()
            self.upload = None
            self.waited_s += time.monotonic() - started
        if self.failure is not None:
            raise RuntimeError(f"uploading a checkpoint to {self.store.uri} failed") from self.failure

    def _send(self, checkpoint: Path, train_log: bytes | None) -> None:
        try:
            started = time.monotonic()
            keys = upload_checkpoint(self.store, self.prefix, checkpoint, train_log)
            removed = prune(self.store, self.prefix, self.keep)
            log.info(
                "checkpoint %s in %s: %d files in %.1f s%s",
                checkpoint.name,
                self.store.url(self.prefix),
                len(keys),
                time.monotonic() - started,
                f"; removed checkpoint(s) {removed}" if removed else "",
            )
        except BaseException as error:  # handed to the training thread, which fails the run at its next wait
            self.failure = error


def without_deepspeed_shared_memory_op() -> None:
    """On CPU ranks DeepSpeed builds and loads its shared-memory collective as it starts its backend: half a minute
    of C++ the first time on a machine. That op serves only inference's all-reduce; ZeRO-2's gradients go through
    gloo. DeepSpeed reads whether an op may be built from `deepspeed.ops.__compatible_ops__`, probed once per
    process and kept for edits like this one."""
    import deepspeed.ops
    from deepspeed.ops.op_builder.cpu import ShareMemCommBuilder

    deepspeed.ops.__compatible_ops__[ShareMemCommBuilder.NAME] = False


def training_arguments(config: TrainConfig) -> TrainingArguments:
    if config.deepspeed and not torch.cuda.is_available():
        without_deepspeed_shared_memory_op()  # before the arguments start DeepSpeed's backend
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
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning only helps host-to-GPU copies
        deepspeed=config.deepspeed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy=config.eval_strategy if config.val_jsonl else "no",
        save_strategy=config.save_strategy,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),  # lets the bf16 recipe run (slowly) on a CPU-only machine
        remove_unused_columns=False,  # the collator needs the raw records (image path, conversations)
        label_names=["labels"],  # a PeftModel hides the forward signature Trainer would read this from
        report_to=[],
    )


class FinetuneRecipe:
    def __init__(self, config: TrainConfig):
        self.config = config
        self.output_dir = Path(config.output_dir)

    def setup(self) -> None:
        config = self.config
        config.check()
        self.output_dir.mkdir(parents=True, exist_ok=True)

        set_seed(config.seed)  # before the adapters exist: their initialisation draws from it
        dtype = torch.bfloat16 if config.bf16 else torch.float32
        model, self.processor = load_model_and_processor(config.model, dtype=dtype, tile_slots=config.max_tiles)
        model.config.text_config.use_cache = False  # no KV cache while training: it is never read
        if config.gradient_checkpointing and config.checkpoint_vision:
            checkpoint_vision_layers(model)  # the Trainer checkpoints the text layers only
        if config.tuning == "lora":
            self.trained_modules = lora_target_modules(model, config.freeze_vision)
            self.model = apply_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout, config.freeze_vision)
        else:
            self.trained_modules = partial_modules(model)
            self.model = apply_partial(model)
        self.write_trainable()

        self.resume_from = last_complete_checkpoint(self.output_dir) if config.resume else None
        if self.resume_from:
            log.info("resuming from %s", self.resume_from)
        collator = InstructionCollator(
            self.processor, config.image_root, config.pages, config.max_length, config.cache_images
        )
        self.log_callback = JsonlLogCallback(self.output_dir / TRAIN_LOG, checkpoint_step(self.resume_from))
        self.uploads = None
        if config.checkpoint_store:  # a remote store: each checkpoint leaves this machine as soon as it is saved
            store = open_store(config.checkpoint_store)
            self.uploads = StoreCheckpoints(store, config.checkpoint_prefix, self.output_dir, config.save_total_limit)
        tokenizer = self.processor.tokenizer
        self.trainer = Trainer(
            model=self.model,
            args=training_arguments(config),
            train_dataset=instruction_dataset(config.train_jsonl, tokenizer),
            eval_dataset=instruction_dataset(config.val_jsonl, tokenizer) if config.val_jsonl else None,
            data_collator=collator,
            callbacks=[self.log_callback, *([self.uploads] if self.uploads else [])],
        )

    def write_trainable(self) -> None:
        trainable, total = count_parameters(self.model)
        self.parameters = {"trainable_parameters": trainable, "base_parameters": total - trainable}
        if is_main_process():
            log.info(
                "%s: %d trainable parameters in %d modules: %s",
                self.config.tuning,
                trainable,
                len(self.trained_modules),
                ", ".join(self.trained_modules),
            )
            summary = {"tuning": self.config.tuning, **self.parameters, "modules": self.trained_modules}
            (self.output_dir / "trainable.json").write_text(json.dumps(summary, indent=2) + "\n")

    def train(self) -> dict:
        result = self.trainer.train(resume_from_checkpoint=self.resume_from)
        metrics = dict(result.metrics)
        if self.trainer.eval_dataset is not None:
            # The last scheduled evaluation, or one now when none was scheduled (eval_strategy "no").
            evals = [r for r in self.trainer.state.log_history if "eval_loss" in r] or [self.trainer.evaluate()]
            metrics.update({k: v for k, v in evals[-1].items() if k.startswith("eval_")})
        metrics.update(
            global_step=result.global_step,
            # A resumed run timed only the steps it ran itself.
            seconds_per_step=metrics["train_runtime"] / max(result.global_step - checkpoint_step(self.resume_from), 1),
            tuning=self.config.tuning,
            trained_modules=len(self.trained_modules),
            resumed_from_step=checkpoint_step(self.resume_from),
            # how long training stood still for checkpoint uploads (only when a save would overtake one)
            checkpoint_upload_wait_s=self.uploads.waited_s if self.uploads else None,
            world_size=self.trainer.args.world_size,
            zero_stage=self.trainer.model_wrapped.zero_optimization_stage()
            if self.trainer.is_deepspeed_enabled
            else None,
            **self.parameters,
        )
        if self.trainer.is_world_process_zero():
            self.log_callback.write({"step": result.global_step, **metrics})  # the run's summary: last line
        return metrics

    def save(self) -> Path:
        adapter_dir = self.output_dir / ADAPTER
        if not self.trainer.is_world_process_zero():
            return adapter_dir
        if self.config.tuning == "partial":
            save_partial(self.model, adapter_dir)
            return adapter_dir
        self.model.save_pretrained(adapter_dir)
        if self.config.merge:
            merged = self.output_dir / "merged"
            self.model.merge_and_unload().save_pretrained(merged)
            self.processor.save_pretrained(merged)
        return adapter_dir


def run_training(config: TrainConfig) -> dict:
    """Fine-tune, save what was trained and return the run's metrics (train_loss, eval_loss, seconds_per_step...)."""
    recipe = FinetuneRecipe(config)
    recipe.setup()
    metrics = recipe.train()
    metrics["adapter_dir"] = str(recipe.save())
    log.info("training done: %s", metrics)
    return metrics
