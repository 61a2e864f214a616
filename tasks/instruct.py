"""Instruction-set task: records + images -> ECGInstruct-format JSONL splits, with a statistics table."""

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from ecg_core import layout
from ecg_core.instruct.dataset import write_instruction_set
from ecg_core.instruct.instruct_config import InstructConfig
from tasks.artifacts import artifact_key, publishing
from tasks.storage import open_store

STAT_GROUPS = ("per_split", "per_family", "per_topic", "per_style", "per_source", "per_label")


@task
def build_instruction_set(store_uri: str, name: str, datasets: list[str], config: InstructConfig) -> dict:
    store = open_store(store_uri)
    stats = write_instruction_set(store, name, datasets, config)
    get_run_logger().info(
        "instruction set %r: %d samples, %d skipped (see skipped.jsonl), %d duplicates dropped",
        name,
        stats["n"],
        stats["skipped"],
        stats["duplicates_dropped"],
    )
    table = [
        {"group": group, "key": key, "count": count} for group in STAT_GROUPS for key, count in stats[group].items()
    ]
    table += [{"group": "build", "key": key, "count": stats[key]} for key in ("skipped", "duplicates_dropped")]
    with publishing(f"the statistics of instruction set {name}", store.url(layout.instruct_stats_key(name))):
        create_table_artifact(
            table=table, key=artifact_key("instruct", name, "stats"), description=f"Instruction set {name}"
        )
    return stats
