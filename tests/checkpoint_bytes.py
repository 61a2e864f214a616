"""A checkpoint folder's bytes against the plan's checkpoint["bytes"] (ecg_core/train/plan.py), for the tests that
save one: a plain run (tests/test_plan.py) and DeepSpeed ZeRO-2 ranks (tests/test_train_distributed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecg_core.train.plan import plan_for_recipe

# The files of a checkpoint folder behind each item of the plan's checkpoint["bytes"] (by the item's first word)
CHECKPOINT_ITEMS = {
    "adapter": ["adapter_model.safetensors"],
    "LoRA": ["global_step*/mp_rank_00_model_states.pt"],
    "optimizer": ["optimizer.pt", "global_step*/*zero_pp_rank_*_optim_states.pt"],
}


def folder_bytes(checkpoint: Path) -> dict[str, int]:
    """The checkpoint folder's bytes by the plan's items, the files no item names under "scheduler", and "total"."""
    files = {p: p.stat().st_size for p in checkpoint.rglob("*") if p.is_file()}
    items = {
        item: sum(files.pop(p) for g in globs for p in checkpoint.glob(g)) for item, globs in CHECKPOINT_ITEMS.items()
    }
    items = {item: size for item, size in items.items() if size} | {"scheduler": sum(files.values())}
    return items | {"total": sum(items.values())}


def assert_planned_as_saved(checkpoint: Path, config, num_gpus: int) -> dict[str, int]:
    """Each planned item within 3% of the folder's (the small files, which move with library versions, 10%), the
    total within 1%; returns the measured items."""
    measured = folder_bytes(checkpoint)
    planned = plan_for_recipe(config.model, config, num_gpus=num_gpus).checkpoint["bytes"]
    planned = {key.split()[0].rstrip(","): size for key, size in planned.items()}
    assert set(planned) == set(measured), (planned, measured)
    for item, size in measured.items():
        assert planned[item] == pytest.approx(size, rel=0.1 if item == "scheduler" else 0.03), item
    assert planned["total"] == pytest.approx(measured["total"], rel=0.01)
    return measured
