"""Model tasks: build the tiny Mllama the demo and tests train (a real checkpoint needs no task)."""

from prefect import task

from ecg_core.instruct.dataset import read_split
from ecg_core.model.tiny import build_tiny_mllama
from tasks.storage import open_store


@task
def build_tiny_model(store_uri: str, instruct_name: str, key: str, image_size: int, seed: int) -> str:
    """Write a tiny random Mllama whose tokenizer is trained on the instruction texts; returns its local path."""
    store = open_store(store_uri)
    corpus = [turn["value"] for s in read_split(store, instruct_name, "train") for turn in s["conversations"]]
    out_dir = store.local_dir(key)
    build_tiny_mllama(out_dir, corpus=corpus, image_size=image_size, seed=seed)
    store.put_dir(out_dir, key)
    return str(out_dir)
