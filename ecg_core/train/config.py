"""TrainConfig: one flat dataclass, read from a YAML recipe and overridden key by key (ecg_core/settings.py).

Field defaults are the paper's recipe, configs/paper.yaml (which says why each one is what it is, and is tested
to agree); the model and data paths have no default.

A run's settings are resolved once, by whoever starts it, and written to the run's `config.json`
(`write_run_config`); the training process reads that file (`read_run_config`) and nothing else, so parent and
ranks cannot disagree about the run (a `null` stays null; no recipe file is read twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ecg_core.layout import RUN_CONFIG
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.settings import Settings, config_path, knob

TUNING_MODES = ("lora", "partial")


@dataclass
class TrainConfig(Settings):
    # model and data (model, train_jsonl, image_root and output_dir are required)
    model: str = ""
    train_jsonl: str = ""
    val_jsonl: str | None = None
    image_root: str = ""
    output_dir: str = ""
    max_tiles: int = knob(4, "tile budget per page (1, 2 or 4 tiles of the checkpoint's tile size)")
    page_fit: str = knob(
        "pad", "how a page fills its tiles: pad (aspect kept) or stretch (see ecg_core/model/page_tiles.py)"
    )
    max_length: int = 2048
    cache_images: bool = False
    # what learns: "lora" (adapters, the paper) or "partial" (projector + cross-attention layers, no adapters)
    tuning: str = "lora"
    freeze_vision: bool = knob(False, "lora: no adapters in the vision tower")
    # LoRA
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    # optimisation
    lr: float = 2e-4
    lr_scheduler_type: str = "cosine"
    min_lr_rate: float = knob(0.0, 'only read by lr_scheduler_type "cosine_with_min_lr"')
    warmup_steps: float = knob(0.03, ">= 1: steps; < 1: fraction of all steps")
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    num_train_epochs: float = 3.0
    max_steps: int = -1
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    # precision, memory, speed
    bf16: bool = True
    gradient_checkpointing: bool = True
    checkpoint_vision: bool = knob(True, "with gradient_checkpointing: the vision tower too (transformers skips it)")
    dataloader_num_workers: int = 4
    group_by_length: bool = knob(True, "batch samples of similar token length together: less padding")
    deepspeed: str | None = knob("deepspeed/zero2.json", "ZeRO-2 config: a path, or a shipped one; None: no DeepSpeed")
    # bookkeeping
    logging_steps: int = 10
    eval_strategy: str = "epoch"
    save_strategy: str = knob("steps", "resumable checkpoints every save_steps")
    save_steps: int = knob(1000, 'read when save_strategy is "steps"')
    save_total_limit: int | None = 2
    resume: bool = knob(True, "continue from the newest checkpoint in output_dir, if there is one")
    checkpoint_store: str | None = knob(
        None, "a remote store (s3://...) each checkpoint is uploaded to as it is saved; set by the train task"
    )
    checkpoint_prefix: str = knob("", "the run's prefix in checkpoint_store (runs/<run_id>)")
    merge: bool = knob(False, "also save the base model with the adapter merged in (lora only)")
    seed: int = 42

    def __post_init__(self):
        if self.deepspeed:
            self.deepspeed = str(config_path(self.deepspeed).resolve())  # the launcher's ranks start elsewhere

    def check(self) -> None:
        missing = [k for k in ("model", "train_jsonl", "image_root", "output_dir") if not getattr(self, k)]
        if missing:
            raise ValueError(f"missing required config keys: {missing} (pass them as --key value)")
        if self.tuning not in TUNING_MODES:
            raise ValueError(f"tuning {self.tuning!r}: allowed {', '.join(TUNING_MODES)}")
        self.pages  # refuses an unknown fit or an empty budget
        if self.merge and self.tuning != "lora":
            raise ValueError("merge applies to LoRA runs only (partial runs save full tensors already)")

    @property
    def pages(self) -> PagePreprocessing:
        return PagePreprocessing(self.max_tiles, self.page_fit)


def write_run_config(config: TrainConfig) -> Path:
    """The run's resolved settings as `<output_dir>/config.json`: what the training process will run."""
    path = Path(config.output_dir) / RUN_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    return path


def read_run_config(path: str | Path) -> TrainConfig:
    return TrainConfig.from_mapping(json.loads(Path(path).read_text()), str(path))
