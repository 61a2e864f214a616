"""Ablation tasks: the data-source subsets and the comparison table."""

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.instruct.dataset import read_split, training_sources, write_source_subset
from ecg_core.model.page_tiles import checkpoint_tiles
from ecg_core.train.ablation import ablation_markdown, ablation_row
from tasks.artifacts import artifact_key, publishing
from tasks.storage import open_store


@task
def instruction_sources(store_uri: str, instruct_name: str) -> list[str]:
    return training_sources(open_store(store_uri), instruct_name)


@task
def checkpoint_tile_slots(model_dir: str) -> int:
    return checkpoint_tiles(model_dir)[1]


@task
def source_subset(store_uri: str, instruct_name: str, sources: list[str], subset_name: str) -> str:
    write_source_subset(open_store(store_uri), instruct_name, sources, subset_name)
    return subset_name


@task
def variant_row(store_uri: str, variant: str, run_id: str, instruct_name: str, detection: dict) -> dict:
    store = open_store(store_uri)
    summary = store.get_jsonl(layout.train_log_key(run_id))[-1]
    recipe = store.get_json(layout.run_config_key(run_id))
    return ablation_row(variant, recipe, detection, summary, len(read_split(store, instruct_name, "train")))


@task
def write_ablation_table(store_uri: str, name: str, rows: list[dict]) -> list[dict]:
    """eval/<name>/ablation.{json,md}, mirrored as a Prefect table and a markdown artifact."""
    store = open_store(store_uri)
    table = ablation_markdown(rows)
    store.put_json(layout.ablation_rows_key(name), rows)
    store.put_bytes(layout.ablation_table_key(name), table.encode())
    with publishing(f"the ablation table of {name}", store.url(layout.ablation_table_key(name))):
        create_table_artifact(
            table=rows, key=artifact_key("ablation", name), description=f"Ablation {name}: one row per training variant"
        )
        create_markdown_artifact(
            markdown=f"# Ablation `{name}`\n\n{table}", key=artifact_key("ablation", name, "report")
        )
    return rows
