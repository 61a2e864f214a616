"""What a stage reads, checked before any work: each function raises an input error (ecg_core/errors.py) whose
message says what is missing, where, and which command makes it. Cheap: a stat or a store lookup, no model load.
The `ecgflow` commands run these on their arguments before they start a server (cli/input_checks.py)."""

from __future__ import annotations

from pathlib import Path

from ecg_core import layout
from ecg_core.errors import MissingInput, WrongInput
from ecg_core.registry import read_champion
from ecg_core.store import Store

MLLAMA = "give a local Llama 3.2 Vision (Mllama) checkpoint folder"


def local_path(path: str, what: str) -> None:
    if not Path(path).expanduser().exists():
        raise MissingInput(f"{what} {path}: no such file or folder")


def model_folder(path: str) -> None:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise MissingInput(f"model {path}: no such folder; {MLLAMA}")
    if not (folder / "config.json").is_file():
        raise WrongInput(f"model {path}: no config.json there; {MLLAMA}")


def ingested(store: Store, dataset: str) -> None:
    key = layout.manifest_key(dataset)
    if not store.exists(key):
        raise MissingInput(
            f"no dataset {dataset!r} in store {store.uri} (no {key}): ingest it first (ecgflow ingest SOURCE PATH)"
        )


def rendered(store: Store, dataset: str) -> None:
    ingested(store, dataset)
    key = layout.index_key(dataset)
    if not store.exists(key):
        raise MissingInput(
            f"dataset {dataset!r} in store {store.uri} has no pages (no {key}): ecgflow render {dataset}"
        )


def instruction_set(store: Store, name: str) -> None:
    key = layout.split_key(name, "train")
    if not store.exists(key):
        raise MissingInput(
            f"no instruction set {name!r} in store {store.uri} (no {key}): build it first "
            f"(ecgflow instruct {name} --datasets ...)"
        )


def trained(store: Store, run_id: str) -> None:
    prefix = layout.adapter_prefix(run_id)
    if not store.list(prefix):
        raise MissingInput(f"no run {run_id!r} in store {store.uri} (nothing under {prefix}/): train it first")


def champion(store: Store) -> None:
    if read_champion(store) is None:
        raise MissingInput(
            f"no champion in {store.url(layout.champion_key())}: promote one (ecgflow retrain), name a run "
            "(--run-id ID), or read with the base model (--no-champion)"
        )


def evaluated(store: Store, eval_id: str) -> None:
    if not store.list(layout.eval_prefix(eval_id)):
        raise MissingInput(
            f"no evaluation {eval_id!r} in store {store.uri}: run ecgflow evaluate --eval-id {eval_id} first"
        )
