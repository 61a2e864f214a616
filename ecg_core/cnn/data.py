"""Training data for the reference CNNs from the store: the records' own patient-level splits (the same ones
the instruction sets use) and their PTB-XL superclasses as multi-hot targets."""

from __future__ import annotations

import io
import random

import numpy as np
import torch
from PIL import Image
from scipy.signal import resample
from torch.utils.data import Dataset

from ecg_core.image_store import read_index
from ecg_core.labels import SUPERCLASSES
from ecg_core.record_store import read_records
from ecg_core.store import Store

SPLITS = ("train", "val", "test")
IMAGENET_MEAN, IMAGENET_STD = (
    torch.tensor([0.485, 0.456, 0.406])[:, None, None],
    torch.tensor([0.229, 0.224, 0.225])[:, None, None],
)


def targets(superclasses: list[str]) -> np.ndarray:
    return np.array([label in superclasses for label in SUPERCLASSES], dtype=np.float32)


def signal_splits(
    store: Store, datasets: list[str], fs: float, seconds: float
) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """split -> (signals [n, 12, fs*seconds] in mV, resampled, cropped or zero-padded; targets [n, labels];
    record ids). Records without a superclass label are left out (they have nothing to learn from)."""
    length = int(round(fs * seconds))
    out: dict[str, tuple[list, list, list]] = {split: ([], [], []) for split in SPLITS}
    for dataset in datasets:
        for record in read_records(store, dataset):
            if not record.superclasses or record.split not in out:
                continue
            signal = record.signal.astype(np.float32)
            if record.fs != fs:
                signal = resample(signal, int(round(signal.shape[1] * fs / record.fs)), axis=1).astype(np.float32)
            fitted = np.zeros((12, length), dtype=np.float32)
            fitted[:, : min(length, signal.shape[1])] = signal[:, :length]
            out[record.split][0].append(np.clip(fitted, -5.0, 5.0))  # a lead-off spike must not dominate a batch
            out[record.split][1].append(targets(record.superclasses))
            out[record.split][2].append(record.record_id)
    return {
        split: (
            np.stack(x) if x else np.zeros((0, 12, length), np.float32),
            np.stack(y) if y else np.zeros((0, len(SUPERCLASSES)), np.float32),
            ids,
        )
        for split, (x, y, ids) in out.items()
    }


def image_splits(
    store: Store, datasets: list[str]
) -> tuple[dict[str, list[tuple[str, list[str], np.ndarray]]], list[dict]]:
    """(split -> [(record id, its readable image keys with variant 0 first, targets)], rejects). An image
    that is missing or does not decode is set aside with the reason; a record keeps its other variants,
    and is left out only when none is readable."""
    out: dict[str, list] = {split: [] for split in SPLITS}
    rejected = []
    for dataset in datasets:
        images = read_index(store, dataset)
        for record in read_records(store, dataset):
            if not (record.superclasses and record.split in out and images.get(record.record_id)):
                continue
            readable = []
            for key in images[record.record_id]:
                if (reason := _unreadable(store, key)) is None:
                    readable.append(key)
                else:
                    rejected.append({"id": record.record_id, "image": key, "reason": reason})
            if readable:
                out[record.split].append((record.record_id, readable, targets(record.superclasses)))
    return out, rejected


def _unreadable(store: Store, key: str) -> str | None:
    try:
        Image.open(io.BytesIO(store.get_bytes(key))).verify()
    except Exception as err:  # a missing or damaged file costs that image only
        return f"unreadable image: {type(err).__name__}: {err}"
    return None


class PageImages(Dataset):
    """Rendered pages as [3, H, W] tensors, normalised as ImageNet models expect. Training draws any variant of a record (the rendered
    artefacts are the augmentation) and shifts it by a few pixels; evaluation reads variant 0."""

    def __init__(
        self,
        store: Store,
        items: list[tuple[str, list[str], np.ndarray]],
        size: tuple[int, int],
        train: bool,
        seed: int = 0,
    ):
        self.store, self.items, self.size, self.train = store, items, size, train
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, keys, y = self.items[i]
        key = self.rng.choice(keys) if self.train else keys[0]
        height, width = self.size
        page = Image.open(io.BytesIO(self.store.get_bytes(key))).convert("RGB").resize((width, height), Image.BILINEAR)
        x = (
            torch.from_numpy(np.asarray(page, dtype=np.float32) / 255.0).permute(2, 0, 1) - IMAGENET_MEAN
        ) / IMAGENET_STD
        if self.train:
            dy, dx = self.rng.randint(-4, 4), self.rng.randint(-8, 8)
            x = torch.roll(x, shifts=(dy, dx), dims=(1, 2))
        return x, torch.from_numpy(y)
