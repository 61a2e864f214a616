"""Instruction-set task: records + images -> ECGInstruct-format JSONL splits, with a statistics table."""

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from ecg_core.instruct.dataset import write_instruction_set
from ecg_core.store import open_store


@task(name="build-instruction-set", tags=["cpu"])
def build_instruction_set(store_uri: str, name: str, datasets: list[str], families: list[str], seed: int) -> dict:
    stats = write_instruction_set(open_store(store_uri), name, datasets, families, seed=seed)
    get_run_logger().info("instruction set %r: %d samples, %d records skipped", name, stats["n"], stats["skipped"])
    table = [{"group": group, "key": key, "count": count} for group in ("per_split", "per_family", "per_source", "per_label") for key, count in stats[group].items()]
    create_table_artifact(table=table, key=f"instruct-{name}-stats".replace("_", "-").lower(), description=f"Instruction set {name}")
    return stats
