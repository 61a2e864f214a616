"""Each `ecgflow` command's inputs, checked from its arguments before it starts a server, renders a page or loads
a model (ecg_core/preconditions.py): a mistake costs seconds and ends in one line (cli/main.py)."""

from __future__ import annotations

from ecg_core import preconditions as needs
from ecg_core.settings import config_path
from ecg_core.store import Store, open_store


def _store(kwargs: dict, made_here: bool = False) -> Store:
    """The command's store; one that only gets read must be there (a typo must not make an empty folder). An S3
    store checks its bucket and credentials as it opens."""
    if not made_here and "://" not in kwargs["store"]:
        needs.local_path(kwargs["store"], "store")
    return open_store(kwargs["store"])


def ingest(kwargs: dict) -> None:
    _store(kwargs, made_here=True)
    if kwargs.get("path"):
        needs.local_path(kwargs["path"], f"{kwargs['source']} dataset")


def render(kwargs: dict) -> None:
    needs.ingested(_store(kwargs), kwargs["dataset"])


def instruct(kwargs: dict) -> None:
    store = _store(kwargs)
    for dataset in kwargs.get("datasets") or ():
        needs.rendered(store, dataset)


def train(kwargs: dict) -> None:
    needs.model_folder(kwargs["model"])
    needs.instruction_set(_store(kwargs), kwargs["instruct"])


def evaluate(kwargs: dict) -> None:
    if kwargs.get("model"):
        needs.model_folder(kwargs["model"])
    store = _store(kwargs)
    if kwargs.get("instruct"):
        needs.instruction_set(store, kwargs["instruct"])
    for candidate in kwargs.get("candidates") or ():
        if candidate.startswith("run:"):
            needs.trained(store, candidate.removeprefix("run:"))
        elif candidate == "champion":
            needs.champion(store)


def interpret(kwargs: dict) -> None:
    for given in kwargs.get("inputs") or ():
        if not given.startswith("s3://"):
            needs.local_path(given, "input")
    if kwargs.get("model"):
        needs.model_folder(kwargs["model"])
    reads_the_store = kwargs.get("run_id") or kwargs.get("champion", True)  # else a base model reads into a new one
    store = _store(kwargs, made_here=not reads_the_store)
    if kwargs.get("run_id"):
        needs.trained(store, kwargs["run_id"])
    elif kwargs.get("champion", True):
        needs.champion(store)


def cnn(kwargs: dict) -> None:
    store = _store(kwargs)
    read = needs.rendered if "image" in kwargs.get("kinds", ("image",)) else needs.ingested  # the image CNN: pages
    for dataset in kwargs.get("datasets") or ():
        read(store, dataset)


def plan(kwargs: dict) -> None:
    if "model_config" in kwargs:  # else the shipped 11B shapes
        needs.local_path(str(config_path(kwargs["model_config"])), "model config")  # a shipped name, or a path


def pipeline(kwargs: dict) -> None:
    _store(kwargs, made_here=True)
