"""Instruction set: records + rendered images -> `instruct/<name>/{train,val,test}.jsonl` in the
ECGInstruct format (+ stats, skipped, and a Hugging Face datasets export when asked).

    ecgflow instruct mine --datasets synthetic --config configs/instruct/default.yaml --store ./demo-store
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import flow

from flows import CONFIGS
from tasks.instruct import build_instruction_set

DEFAULT_CONFIG = CONFIGS / "instruct" / "default.yaml"


@flow(name="instruct", flow_run_name="instruct {name}")
def instruct_flow(store: str, name: str, datasets: list[str], config: str | None = None, overrides: dict | None = None) -> dict:
    """`overrides` replace keys of the config file (e.g. {"seed": 1, "families": ["rhythm"]})."""
    settings = yaml.safe_load(Path(config or DEFAULT_CONFIG).read_text()) | (overrides or {})
    return build_instruction_set(store, name, datasets, settings)
