"""Ablations: LoRA rank sweep, LoRA vs partial tuning, tile budget, vision tower trained or frozen, data sources;
one named run per variant, then one comparison table (test-split metrics, trainable parameters, wall time,
samples/s). A variant the checkpoint cannot run (more tiles than it has slots) gets a row saying so.

    ecgflow ablate --name abl --model ./demo-store/models/tiny-mllama-demo --instruct demo --store ./demo-store
"""

from prefect import flow

from ecg_core.train.ablation import AblationConfig, ablation_variants, beyond_the_checkpoint, set_aside_row
from ecg_core.train.launch import Launch
from flows.train_and_evaluate import train_and_evaluate
from tasks.ablation import (
    checkpoint_tile_slots,
    instruction_sources,
    source_subset,
    variant_row,
    write_ablation_table,
)


@flow(name="ablate", flow_run_name="ablate {name}")
def ablate_flow(
    *,
    store: str,
    name: str,
    model: str,
    instruct: str,
    settings: AblationConfig = AblationConfig(),
    launch: Launch = Launch(),
    eval_batch_size: int = 16,
) -> list[dict]:
    """Ablations (LoRA ranks, LoRA vs partial, tile budgets, frozen vision, data sources): one training run per
    variant, each scored on the same test split, then one comparison table under eval/<name>/; returns its rows.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        name: ablation name: runs/<name>-<variant>/, eval/<name>/ablation.md
        model: base Mllama checkpoint folder
        instruct: instruction set name
        settings: base recipe, variants, source ablation; default configs/ablation.yaml: a settings file and keys to
            replace (`--set recipe.max_steps=100`; a deployment's JSON: {"config": "ablation.yaml", "overrides":
            {"recipe.max_steps": 100}})
        launch: how each run's training processes start: launcher, GPUs per node, nodes, hostfile
        eval_batch_size: generation batch size of each variant's evaluation
    """
    sources = instruction_sources(store, instruct)
    variants = ablation_variants(settings.variants, sources, settings.source_ablation)
    slots = checkpoint_tile_slots(model)
    rows = []
    for variant, keys in variants.items():
        subset = keys.pop("sources", None)  # a source variant: the base recipe on part of the data
        recipe = settings.recipes.get(variant, settings.recipe)
        if reason := beyond_the_checkpoint(recipe, slots):
            rows.append(set_aside_row(variant, reason))  # the table says why; the other variants go on
            continue
        run_id = f"{name}-{variant}"
        data = source_subset(store, instruct, subset, run_id) if subset else instruct
        trained = train_and_evaluate(
            store=store,
            run_id=run_id,
            model=model,
            instruct=instruct,
            train_instruct=data,
            recipe=recipe,
            launch=launch,
            batch_size=eval_batch_size,
        )
        rows.append(variant_row(store, variant, run_id, data, trained.finetuned))
    return write_ablation_table(store, name, rows)
