"""Train a reference CNN, pick the checkpoint and per-label thresholds on the validation split, score the test
split with the shared detection metrics. Everything lands under `cnn/<name>/<kind>/` in the store:
model.pt (the best validation checkpoint), history.jsonl, predictions.jsonl (test), metrics.json, and
rejected.jsonl (images set aside, with the reason)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch.utils.data import DataLoader, TensorDataset

from ecg_core import layout
from ecg_core.cnn.data import PageImages, image_splits, signal_splits
from ecg_core.cnn.models import ResNet2d, XResNet1d, load_torchvision_resnet
from ecg_core.evaluate.grading import detection_metrics, macro_auc
from ecg_core.labels import SUPERCLASSES
from ecg_core.settings import Settings, knob
from ecg_core.store import Store

KINDS = ("signal", "image")


@dataclass
class CnnConfig(Settings):
    epochs: int = knob(30, "upper bound; early stopping usually ends sooner")
    patience: int = knob(5, "epochs without a better validation macro AUC before stopping")
    max_steps: int | None = knob(None, "hard cap on optimizer steps (tests, smoke runs)")
    batch_size: int = 32
    lr: float = knob(1e-3, "AdamW")
    weight_decay: float = 1e-2
    seed: int = 0
    width: int = knob(64, "channels of the first stage (64: xresnet1d / ResNet-18 proper; smaller for CPU budgets)")
    blocks: list[int] = knob(factory=lambda: [2, 2, 2, 2], help="blocks per stage ([3, 4, 23, 3]: xresnet1d101)")
    fs: float = knob(100.0, "signal CNN: sampling rate the signals are resampled to (the PTB-XL benchmark's 100 Hz)")
    seconds: float = knob(10.0, "signal CNN: input length")
    image_size: list[int] = knob(factory=lambda: [224, 448], help="image CNN: H, W (an ECG page is wide)")
    pretrained: str | None = knob(None, "image CNN: a local torchvision resnet18 state dict (.pth), width 64")
    n_boot: int = knob(500, "bootstrap resamples for the 95% intervals")


def _loaders(store: Store, kind: str, datasets: list[str], config: CnnConfig):
    generator = torch.Generator().manual_seed(config.seed)
    rejected: list[dict] = []
    if kind == "signal":
        splits = signal_splits(store, datasets, config.fs, config.seconds)
        data = {s: TensorDataset(torch.from_numpy(x), torch.from_numpy(y)) for s, (x, y, _) in splits.items()}
        test_ids = splits["test"][2]
        model = XResNet1d(len(SUPERCLASSES), config.width, config.blocks)
    elif kind == "image":
        splits, rejected = image_splits(store, datasets)
        size = tuple(config.image_size)
        data = {s: PageImages(store, items, size, train=s == "train", seed=config.seed) for s, items in splits.items()}
        test_ids = [record_id for record_id, _, _ in splits["test"]]
        model = ResNet2d(len(SUPERCLASSES), config.width, config.blocks)
        if config.pretrained:
            load_torchvision_resnet(model, torch.load(config.pretrained, map_location="cpu", weights_only=True))
    else:
        raise ValueError(f"CNN kind {kind!r}: expected one of {KINDS}")
    for split in ("train", "val", "test"):
        if len(data[split]) == 0:
            raise ValueError(
                f"{kind} CNN on {', '.join(datasets)}: no labelled {split} records (ingest{' and render' if kind == 'image' else ''} first)"
            )
    loaders = {
        s: DataLoader(
            d, batch_size=config.batch_size, shuffle=s == "train", generator=generator if s == "train" else None
        )
        for s, d in data.items()
    }
    return model, loaders, test_ids, rejected


@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, device: str) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    scores, truth = [], []
    for x, y in loader:
        scores.append(torch.sigmoid(model(x.to(device))).cpu().numpy())
        truth.append(y.numpy())
    return np.concatenate(scores), np.concatenate(truth)


def tune_thresholds(scores: np.ndarray, truth: np.ndarray) -> list[float]:
    """Per label, the score cut with the best F1 on the validation split (0.5 when the label is absent)."""
    cuts = []
    for j in range(truth.shape[1]):
        if truth[:, j].sum() == 0:
            cuts.append(0.5)
            continue
        candidates = np.unique(np.quantile(scores[:, j], np.linspace(0.02, 0.98, 49)))
        f1s = [f1_score(truth[:, j], scores[:, j] >= c, zero_division=0) for c in candidates]
        cuts.append(float(candidates[int(np.argmax(f1s))]))
    return cuts


def train_cnn(
    store: Store,
    kind: str,
    datasets: list[str],
    name: str,
    config: CnnConfig,
    device: str = "cpu",
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Train, early-stop on validation macro AUC, tune thresholds on validation, score test; returns the
    metrics row (the shared detection-metrics format, plus training facts)."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    model, loaders, test_ids, rejected = _loaders(store, kind, datasets, config)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    store.put_jsonl(layout.cnn_rejected_key(name, kind), rejected)
    history, best, best_state, stale, step, started = [], -1.0, None, 0, 0, time.time()
    total_steps = config.max_steps or config.epochs * len(loaders["train"])
    for epoch in range(config.epochs):
        model.train()
        for x, y in loaders["train"]:
            loss = loss_fn(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            history.append({"step": step, "epoch": epoch, "loss": loss.item()})
            if on_progress:
                on_progress(step, total_steps, history[-1]["loss"])
            if step == config.max_steps:
                break
        val_scores, val_truth = predict(model, loaders["val"], device)
        val_auc = macro_auc(val_truth, val_scores) or 0.0
        history.append({"step": step, "epoch": epoch, "val_macro_auc": val_auc})
        if val_auc > best:
            best, stale = val_auc, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if stale >= config.patience or step == config.max_steps:
            break
    model.load_state_dict(best_state)
    buffer = io.BytesIO()
    torch.save(best_state, buffer)
    store.put_bytes(layout.cnn_weights_key(name, kind), buffer.getvalue())
    store.put_jsonl(layout.cnn_history_key(name, kind), history)

    thresholds = tune_thresholds(*predict(model, loaders["val"], device))
    scores, truth = predict(model, loaders["test"], device)
    truth_sets, predicted_sets = _label_sets(truth > 0.5), _label_sets(scores >= np.array(thresholds))
    row = detection_metrics(truth_sets, predicted_sets, SUPERCLASSES, scores, config.n_boot)
    store.put_jsonl(
        layout.cnn_predictions_key(name, kind),
        [
            {"record_id": rid, "truth": t, "predicted": p, "scores": dict(zip(SUPERCLASSES, map(float, s)))}
            for rid, t, p, s in zip(test_ids, truth_sets, predicted_sets, scores, strict=True)
        ],
    )
    row |= {
        "model": f"cnn-{kind}",
        "thresholds": dict(zip(SUPERCLASSES, thresholds)),
        "best_val_macro_auc": best,
        "n_rejected": len(rejected),
        "steps": step,
        "train_seconds": round(time.time() - started, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
    }
    store.put_json(layout.cnn_metrics_key(name, kind), row)
    return row


def _label_sets(multi_hot: np.ndarray) -> list[list[str]]:
    return [[label for label, on in zip(SUPERCLASSES, row) if on] for row in multi_hot]
