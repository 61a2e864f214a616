"""Instruction set: records + rendered images -> `instruct/<name>/{train,val,test}.jsonl` in the
ECGInstruct format (+ stats, skipped, and a Hugging Face datasets export when asked).

    ecgflow instruct mine --datasets synthetic --config configs/instruct/default.yaml --store ./demo-store
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import flow

from ecg_core.image_store import index_key
from ecg_core.record_store import records_prefix
from flows import CONFIGS
from tasks.instruct import build_instruction_set
from tasks.storage import run_cached

DEFAULT_CONFIG = CONFIGS / "instruct" / "default.yaml"


@flow(name="instruct", flow_run_name="instruct {name}")
def instruct_flow(
    store: str, name: str, datasets: list[str], config: str | None = None, overrides: dict | None = None
) -> dict:
    """`overrides` replace keys of the config file (e.g. {"seed": 1, "families": ["rhythm"]}).
    Cached: the same settings over the same records and images reuse the set already built."""
    settings = yaml.safe_load(Path(config or DEFAULT_CONFIG).read_text()) | (overrides or {})
    reads = [key for d in datasets for key in (f"{records_prefix(d)}/manifest.json", index_key(d))]
    return run_cached(
        build_instruction_set,
        reads=reads,
        writes=f"instruct/{name}/stats.json",
        store_uri=store,
        name=name,
        datasets=datasets,
        settings=settings,
    )
