"""Ablations: LoRA rank sweep, LoRA vs partial tuning, data sources; one named run per variant, then one
comparison table (test-split metrics, trainable parameters, wall time, samples/s).

    ecgflow ablate --name abl --model ./demo-store/models/tiny-mllama --instruct demo --store ./demo-store
"""

from pathlib import Path

import yaml
from prefect import flow

from ecg_core.train.ablation import ablation_variants
from flows import CONFIGS
from flows.evaluate import evaluate_flow
from flows.train import train_flow
from tasks.ablation import instruction_sources, source_subset, variant_row, write_ablation_table

DEFAULT_CONFIG = CONFIGS / "ablation.yaml"


@flow(name="ablation", flow_run_name="ablation {name}")
def ablation_flow(
    store: str,
    name: str,
    model: str,
    instruct: str,
    config: str | None = None,
    overrides: dict | None = None,
    launch: dict | None = None,
    eval_batch_size: int = 16,
) -> list[dict]:
    """`overrides` replace keys of the ablation config (e.g. {"variants": {...}, "train_overrides": {...}})."""
    settings = yaml.safe_load(Path(config or DEFAULT_CONFIG).read_text()) | (overrides or {})
    sources = instruction_sources(store, instruct)
    variants = ablation_variants(settings["variants"], sources, settings["source_ablation"])
    rows = []
    for variant, keys in variants.items():
        run_id = f"{name}-{variant}"
        data = source_subset(store, instruct, keys.pop("sources"), run_id) if "sources" in keys else instruct
        recipe = {k: str(v) for k, v in (settings["train_overrides"] | keys).items()}
        train_flow(
            store, run_id, str(CONFIGS / settings["train_config"]), model, data, recipe, launch, create_gpu_limit=True
        )
        metrics = evaluate_flow(
            store, run_id, model, instruct, run_id=run_id, batch_size=eval_batch_size, baseline=False
        )
        rows.append(variant_row(store, variant, run_id, data, metrics["abnormality_detection"]["finetuned"]))
    return write_ablation_table(store, name, rows)
