"""The whole story: ingest -> render -> instruction set -> (tiny model) -> fine-tune -> evaluate.

ecgflow pipeline --config configs/demo.yaml --store ./demo-store     # any settings file
ecgflow demo --store ./demo-store                                     # configs/demo.yaml
"""

from pathlib import Path

import yaml
from prefect import flow

from flows import CONFIGS
from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from flows.train import train_flow
from tasks.model import build_tiny_model
from tasks.storage import run_cached


@flow(name="pipeline", flow_run_name="pipeline {name}")
def pipeline_flow(
    store: str,
    name: str = "demo",
    model: str | None = None,
    n_records: int = 1600,
    fs: float = 250.0,
    seconds: float = 10.0,
    render_config: str = "render/plain.yaml",
    instruct_config: str = "instruct/demo.yaml",
    dpi: float = 100.0,
    seed: int = 0,
    train_config: str = "tiny-cpu.yaml",
    train_overrides: dict | None = None,
    tiny_tile_size: int = 224,
    eval_batch_size: int = 32,
    judge: str = "labels",
    judge_settings: dict | None = None,
    baselines: dict | None = None,
) -> dict:
    ingest_flow(
        store,
        "synthetic",
        options={"n_records": n_records, "seed": seed, "fs": fs, "seconds": seconds},
        split_seed=seed,
    )
    images = render_flow(store, "synthetic", str(CONFIGS / render_config), {"dpi": dpi})
    instruct_flow(store, name, ["synthetic"], str(CONFIGS / instruct_config), {"seed": seed})
    model = model or run_cached(
        build_tiny_model,
        reads=[f"instruct/{name}/train.jsonl"],
        writes="models/tiny-mllama/config.json",
        store_uri=store,
        instruct_name=name,
        key="models/tiny-mllama",
        image_size=tiny_tile_size,
        seed=seed,
    )
    train_flow(store, name, str(CONFIGS / train_config), model, name, train_overrides, create_gpu_limit=True)
    return evaluate_flow(
        store,
        name,
        model,
        name,
        run_id=name,
        batch_size=eval_batch_size,
        example_image=images[0]["image"],
        judge=judge,
        judge_settings=judge_settings,
        baselines=baselines,
        baseline_datasets=["synthetic"],
    )


def load_settings(path: str | Path) -> dict:
    """Pipeline parameters from a YAML settings file (see configs/demo.yaml)."""
    return yaml.safe_load(Path(path).read_text())
