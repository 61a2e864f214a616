"""Reference CNNs on synthetic ECGs (whose labels are visible by construction): both learn, the signal CNN
separates the superclasses, rows come in the shared Table-I format, runs repeat exactly by seed."""

import numpy as np
import pytest
import torch

from ecg_core.cnn import CnnConfig, train_cnn
from ecg_core.cnn.models import ResNet2d, load_torchvision_resnet
from ecg_core.evaluate.leaderboard import table_one
from ecg_core.image_store import render_shard
from ecg_core.ingest import ingest_source
from ecg_core.layout import index_key
from ecg_core.record_store import read_manifest, read_records
from ecg_core.render.variants import RenderConfig
from ecg_core.sources import make_source
from ecg_core.store import open_store

SMALL = {"width": 16, "blocks": [1, 1, 1, 1], "n_boot": 20}


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    """400 synthetic records at 100 Hz, each rendered once at 30 dpi."""
    store = open_store(tmp_path_factory.mktemp("cnn") / "store")
    ingest_source(store, make_source("synthetic", n_records=400, fs=100.0), None)
    config = RenderConfig.from_mapping(RenderConfig.load("configs/render/plain.yaml").to_dict() | {"dpi": 30.0})
    rows = []
    for shard in read_manifest(store, "synthetic").shards:
        rows += render_shard(store, "synthetic", shard, config, None)["rows"]
    store.put_jsonl(index_key("synthetic"), rows)
    return store


def _losses(store, kind: str) -> list[float]:
    return [r["loss"] for r in store.get_jsonl(f"cnn/t/{kind}/history.jsonl") if "loss" in r]


@pytest.mark.slow
def test_signal_cnn_separates_the_superclasses_and_reports_shared_rows(synthetic_store):
    row = train_cnn(
        synthetic_store, "signal", ["synthetic"], "t", CnnConfig.from_mapping(SMALL | {"width": 32, "epochs": 10})
    )
    assert row["auc"] >= 0.9 and row["auc_from"] == "scores" and row["n_unparsed"] == 0
    losses = _losses(synthetic_store, "signal")
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) / 2
    assert {"auc_hard", "auc_score", "macro_f1", "hamming", "exact_match", "ci95", "per_label", "n"} <= set(row)
    assert "| cnn-signal |" in table_one({"abnormality_detection": {"cnn-signal": row}})
    test_ids = {r.record_id for r in read_records(synthetic_store, "synthetic") if r.split == "test"}
    predictions = synthetic_store.get_jsonl("cnn/t/signal/predictions.jsonl")
    assert {p["record_id"] for p in predictions} == test_ids and len(predictions) == row["n"]
    assert synthetic_store.exists("cnn/t/signal/model.pt")


@pytest.mark.slow
def test_image_cnn_learns_from_the_pages_and_repeats_by_seed(synthetic_store):
    settings = SMALL | {"max_steps": 24, "image_size": [96, 192], "batch_size": 16}
    first = train_cnn(synthetic_store, "image", ["synthetic"], "t", CnnConfig.from_mapping(settings))
    losses = _losses(synthetic_store, "image")
    assert len(losses) == 24 and np.mean(losses[-6:]) < np.mean(losses[:6])
    again = train_cnn(synthetic_store, "image", ["synthetic"], "t", CnnConfig.from_mapping(settings))
    assert again["auc"] == first["auc"] and _losses(synthetic_store, "image") == losses


def test_bad_settings_and_missing_images_are_refused_with_the_reason(synthetic_store, tmp_path):
    with pytest.raises(ValueError, match=r"CnnConfig: unknown key\(s\) depth; allowed: .*blocks"):
        CnnConfig.from_mapping({"depth": 3})
    store = open_store(tmp_path / "no-images")
    ingest_source(store, make_source("synthetic", n_records=30, fs=100.0), None)
    with pytest.raises(ValueError, match="no labelled train records.*render first"):
        train_cnn(store, "image", ["synthetic"], "t", CnnConfig.from_mapping(SMALL))


def _torchvision_resnet18_state(seed: int = 0) -> dict:
    """Random tensors under torchvision's resnet18 names and shapes (as an ImageNet .pth file has them)."""
    g = torch.Generator().manual_seed(seed)
    state = {}

    def conv(name, c_out, c_in, k):
        state[f"{name}.weight"] = torch.randn(c_out, c_in, k, k, generator=g)

    def bn(name, c):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            state[f"{name}.{leaf}"] = torch.rand(c, generator=g)
        state[f"{name}.num_batches_tracked"] = torch.tensor(7)

    conv("conv1", 64, 3, 7), bn("bn1", 64)
    for i in range(1, 5):
        c_out = 64 * 2 ** (i - 1)
        for j in range(2):
            c_in = c_out // 2 if i > 1 and j == 0 else c_out
            conv(f"layer{i}.{j}.conv1", c_out, c_in, 3), bn(f"layer{i}.{j}.bn1", c_out)
            conv(f"layer{i}.{j}.conv2", c_out, c_out, 3), bn(f"layer{i}.{j}.bn2", c_out)
            if i > 1 and j == 0:
                conv(f"layer{i}.{j}.downsample.0", c_out, c_in, 1), bn(f"layer{i}.{j}.downsample.1", c_out)
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 512, generator=g), torch.randn(1000, generator=g)
    return state


def test_image_cnn_loads_local_torchvision_resnet18_weights():
    state = _torchvision_resnet18_state()
    model = ResNet2d(5)
    head = model.head.weight.clone()
    load_torchvision_resnet(model, state)
    loaded = model.state_dict()
    assert torch.equal(loaded["stem.0.0.weight"], state["conv1.weight"])
    assert torch.equal(loaded["stages.7.body.1.1.running_var"], state["layer4.1.bn2.running_var"])
    assert torch.equal(loaded["stages.2.shortcut.0.weight"], state["layer2.0.downsample.0.weight"])
    assert torch.equal(model.head.weight, head)  # 5 superclasses, not ImageNet's 1000
    with pytest.raises(ValueError, match="not a torchvision ResNet of this layout"):
        load_torchvision_resnet(ResNet2d(5), {k: v for k, v in state.items() if not k.startswith("layer4")})


def test_an_unreadable_page_is_set_aside_with_the_reason_and_training_goes_on(synthetic_store, tmp_path):
    store = open_store(tmp_path / "copy")
    for key in synthetic_store.list("records/synthetic") + synthetic_store.list("images/synthetic"):
        store.put_bytes(key, synthetic_store.get_bytes(key))
    test_ids = {r.record_id for r in read_records(store, "synthetic") if r.split == "test"}
    broken = next(r for r in store.get_jsonl(index_key("synthetic")) if r["record_id"] in test_ids)
    store.put_bytes(broken["image"], b"\x89PNG truncated")
    row = train_cnn(
        store,
        "image",
        ["synthetic"],
        "t",
        CnnConfig.from_mapping(SMALL | {"max_steps": 2, "image_size": [64, 128]}),
    )
    [reject] = store.get_jsonl("cnn/t/image/rejected.jsonl")
    assert (
        reject["id"] == broken["record_id"]
        and reject["image"] == broken["image"]
        and "unreadable image" in reject["reason"]
    )
    assert row["n_rejected"] == 1 and row["n"] == len(test_ids) - 1  # its only page was unreadable; the rest is scored
