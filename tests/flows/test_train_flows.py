"""Fine-tuning on the GPU queue and the ablation flow, through a real Prefect API (the deployments: tests/ops)."""

import pytest
from prefect.client.orchestration import get_client

from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.render.variants import RenderConfig
from ecg_core.store import open_store
from ecg_core.train import TrainConfig
from ecg_core.train.ablation import AblationConfig
from flows.ablation import ablate_flow
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from flows.train import train_flow
from tasks.gpu import GPU_LIMIT, ensure_gpu_limit
from tasks.model import build_tiny_model

FEW_STEPS = {"max_steps": 4, "logging_steps": 1, "save_strategy": "no"}
NO_LIMIT_RUN = {
    "run_id": "no-limit",
    "instruct": "small",
    "recipe": {"config": "tiny-cpu.yaml", "overrides": FEW_STEPS},
}


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """40 synthetic records rendered once, the demo's instruction set, a tiny model trained on its texts."""
    store = str(tmp_path_factory.mktemp("train-flows") / "store")
    ingest_flow(store=store, source="synthetic", options={"n_records": 40, "seed": 5, "fs": 100.0})
    render_flow(store=store, dataset="synthetic", settings=RenderConfig.load("render/plain.yaml", {"dpi": 50.0}))
    instruct_flow(store=store, name="small", datasets=["synthetic"], settings=InstructConfig.load("instruct/demo.yaml"))
    model = build_tiny_model(store, "small", "models/tiny", 224, 0)
    return store, model


def _delete_gpu_limit() -> None:
    with get_client(sync_client=True) as client:
        if any(limit.name == GPU_LIMIT for limit in client.read_global_concurrency_limits(limit=100)):
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)


def test_training_refuses_to_run_without_the_gpu_limit(small_store):
    store, model = small_store
    _delete_gpu_limit()
    with pytest.raises(RuntimeError, match=f"no '{GPU_LIMIT}' global concurrency limit"):
        train_flow(**NO_LIMIT_RUN, store=store, model=model)
    assert not open_store(store).exists("runs/no-limit/train_log.jsonl")  # nothing ran
    # With the limit (as the CLI and the demo create it) the same run goes through; a null override (as a
    # deployment's JSON parameter gives it) reaches the trainer as null: tiny-cpu.yaml's limit of 1 checkpoint is lifted.
    ensure_gpu_limit()
    every_step = {"save_strategy": "steps", "save_steps": 1, "save_total_limit": None}
    recipe = {"config": "tiny-cpu.yaml", "overrides": FEW_STEPS | every_step}
    assert train_flow(**NO_LIMIT_RUN | {"recipe": recipe}, store=store, model=model)
    run = open_store(store)
    assert run.get_json("runs/no-limit/config.json") | every_step == run.get_json("runs/no-limit/config.json")
    checkpoints = {
        key.split("/")[2] for key in run.list("runs/no-limit") if key.split("/")[2].startswith("checkpoint-")
    }
    assert checkpoints == {f"checkpoint-{i}" for i in range(1, 5)}  # all kept


def test_ablation_flow_compares_ranks_tuning_modes_and_sources(small_store, gpu_limit):
    store_uri, model = small_store
    store = open_store(store_uri)
    # A second source: relabel half the training samples, as if the set mixed PTB-XL into synthetic data.
    train = store.get_jsonl("instruct/small/train.jsonl")
    store.put_jsonl(
        "instruct/small/train.jsonl", [s | {"source": "ptbxl"} if i % 2 else s for i, s in enumerate(train)]
    )

    rows = ablate_flow(
        store=store_uri,
        name="abl",
        model=model,
        instruct="small",
        settings=AblationConfig(
            # a rank variant (partial tuning itself is tested in test_train_distributed.py), and a tile budget the
            # tiny model (1 tile slot) cannot take
            variants={
                "lora-r16": {"lora_r": 16, "lora_alpha": 32, "save_total_limit": None},
                "tiles-4-pad": {"max_tiles": 4, "page_fit": "pad"},
            },
            recipe=TrainConfig.load("tiny-cpu.yaml", FEW_STEPS),
        ),
        eval_batch_size=8,
    )

    by_variant = {row["variant"]: row for row in rows}
    assert list(by_variant) == ["lora-r16", "tiles-4-pad", "only-ptbxl", "only-synthetic"]
    r16 = by_variant["lora-r16"]
    assert (r16["tuning"], r16["lora_r"], r16["tiles"], r16["vision"]) == ("lora", 16, "1 stretch", "trained")
    set_aside = by_variant.pop("tiles-4-pad")
    assert set_aside["note"] == "not run: max_tiles 4, the checkpoint has 1 tile slot(s)" and set_aside["auc"] is None
    assert not store.exists("runs/abl-tiles-4-pad/config.json")
    assert by_variant["only-ptbxl"]["train_samples"] + by_variant["only-synthetic"]["train_samples"] == len(train)
    assert (
        by_variant["lora-r16"]["trainable_parameters"] < by_variant["only-ptbxl"]["trainable_parameters"]
    )  # r16 < r64
    n_test = {len(store.get_jsonl(f"eval/abl-{v}/small/ptbxl-super/predictions-finetuned.jsonl")) for v in by_variant}
    assert len(n_test) == 1  # every variant scored on the same test questions
    assert store.get_json("eval/abl/ablation.json") == rows
    assert store.get_json("runs/abl-lora-r16/config.json")["save_total_limit"] is None  # the variant's null
    assert "| lora-r16 | lora | 16 |" in store.get_bytes("eval/abl/ablation.md").decode()
