"""Which model answers: the registry's champion (the default), a training run's adapter, or the base checkpoint;
and what it is, said in every reading: base, adapter, run, registry entry, the data it was trained on, the pages
it expects."""

from __future__ import annotations

from pathlib import PurePosixPath

from ecg_core import layout
from ecg_core.errors import MissingInput, WrongInput
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.registry import champion_base, read_champion
from ecg_core.store import Store


def answering_model(store: Store, model_dir: str | None, run_id: str | None, champion: bool) -> dict:
    """{"model_dir", "adapter": store prefix or None, "run_id", "registry", "trained_on", "run_config"} of the
    chosen model; the champion brings its own base checkpoint unless `model_dir` names one. A missing adapter,
    champion or base raises, saying what to do."""
    registry = None
    if run_id is None and champion:
        record = read_champion(store)
        if record is None:
            raise MissingInput(
                f"no champion in {store.url(layout.champion_key())}: promote one (ecgflow retrain), name a run "
                "(--run-id ID), or read with the base model (--no-champion)"
            )
        run_id, adapter = record["run_id"], record["adapter"]
        registry = {"champion": run_id, "adapter": adapter, "metrics": record.get("metrics")}
        model_dir = model_dir or champion_base(store, record)
    else:
        adapter = layout.adapter_prefix(run_id) if run_id else None
    if model_dir is None:
        raise WrongInput("name the base checkpoint (--model DIR): only the registry's champion brings its own")
    if adapter and not store.list(adapter):
        raise MissingInput(f"no adapter under {store.url(adapter)}: train run {run_id} first")
    run_config = (
        store.get_json(layout.run_config_key(run_id))
        if run_id and store.exists(layout.run_config_key(run_id))
        else None
    )
    return {
        "model_dir": model_dir,
        "base": PurePosixPath(model_dir).name,
        "adapter": adapter,
        "run_id": run_id,
        "registry": registry,
        "trained_on": trained_on(store, run_config),
        "run_config": run_config,
    }


def trained_on(store: Store, run_config: dict | None) -> dict | None:
    """The instruction set a run learnt from and its source datasets (from the set's stats)."""
    if run_config is None:
        return None
    name = PurePosixPath(run_config["train_jsonl"]).parent.name
    stats_key = layout.instruct_stats_key(name)
    stats = store.get_json(stats_key) if store.exists(stats_key) else {}
    return {
        "instruction_set": name,
        "datasets": sorted(stats.get("per_source", {})),
        "steps": run_config.get("max_steps"),
    }


def preprocessing_of(run_config: dict | None, checkpoint_max_tiles: int) -> PagePreprocessing:
    """The pages the adapter was trained on; the base model: every tile it takes, padded."""
    return PagePreprocessing.of_run(run_config) if run_config else PagePreprocessing(checkpoint_max_tiles, "pad")
