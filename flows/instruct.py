"""Instruction set: records + rendered images -> `instruct/<name>/{train,val,test}.jsonl` in the
ECGInstruct format (+ stats, skipped, and a Hugging Face datasets export when asked).

    ecgflow instruct mine --datasets synthetic --config configs/instruct/default.yaml --store ./demo-store
"""

from __future__ import annotations

from prefect import flow

from ecg_core import layout
from ecg_core.instruct.instruct_config import InstructConfig
from tasks.instruct import build_instruction_set
from tasks.storage import run_cached


@flow(name="instruct", flow_run_name="instruct {name}")
def instruct_flow(
    *,
    store: str,
    name: str,
    datasets: tuple[str, ...] = ("synthetic",),
    settings: InstructConfig = InstructConfig(),
) -> dict:
    """Build an ECGInstruct-format instruction set under instruct/<name>/; returns its statistics. Cached: the same settings over the same records and
    images reuse the set already built.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        name: instruction set name: instruct/<name>/
        datasets: datasets to draw from (records and rendered images)
        settings: families, filters, mixing caps, seed; default configs/instruct/default.yaml: a settings file and
            keys to replace (`--config instruct/demo.yaml --set seed=1`; a deployment's JSON: {"config":
            "instruct/demo.yaml", "overrides": {"seed": 1}})
    """
    datasets = list(datasets)
    reads = [key for d in datasets for key in (layout.manifest_key(d), layout.index_key(d))]
    return run_cached(
        build_instruction_set,
        reads=reads,
        writes=layout.instruct_stats_key(name),
        store_uri=store,
        name=name,
        datasets=datasets,
        config=settings,
    )
