"""Instruction set: records + images -> `instruct/<name>/{train,val,test}.jsonl` in the ECGInstruct format.

    ecgflow instruct demo --datasets synthetic --store ./demo-store
"""

from prefect import flow

from ecg_core.instruct import TASK_FAMILIES
from tasks.instruct import build_instruction_set


@flow(name="instruct", flow_run_name="instruct {name}")
def instruct_flow(store: str, name: str, datasets: list[str], families: list[str] | None = None, seed: int = 0) -> dict:
    return build_instruction_set(store, name, datasets, families or list(TASK_FAMILIES), seed)
