"""Shared fixtures: a tiny Mllama checkpoint and a small image set whose class is visible in the picture.

The pages are wide (550 x 300, the aspect of an ECG printout) with dark vertical stripes; the class sets
the stripe period, a random phase the position. The model must read the picture: classes are balanced,
so answering from the question alone scores 20%.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ecg_core.model.tiny import build_tiny_mllama
from tests.fixtures import llama32_vision_files

CLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
STRIPE_PERIOD_PX = dict(zip(CLASSES, (20, 34, 50, 72, 104)))
QUESTION = "Which of the following diagnostic classes does this ECG show: NORM, MI, STTC, CD, HYP?"
REPORT = "Sinus rhythm. Left bundle branch block."


def draw_page(label: str, rng: random.Random, size: tuple[int, int] = (550, 300)) -> Image.Image:
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    period = STRIPE_PERIOD_PX[label]
    for x in range(-rng.randrange(period), size[0], period):
        draw.rectangle([x, 0, x + period // 2, size[1]], fill=(40, 40, 40))
    return page


def instruction_record(record_id: str, image: str, label: str) -> dict:
    return {
        "id": record_id,
        "image": image,
        "conversations": [{"from": "human", "value": f"<image>\n{QUESTION}"}, {"from": "gpt", "value": label}],
        "task_family": "abnormality_detection",
        "labels": [label],
    }


def write_split(root: Path, split: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = CLASSES[i % len(CLASSES)]
        image = f"images/{split}-{i:04d}.png"
        draw_page(label, rng).save(root / image)
        records.append(instruction_record(f"{split}-{i:04d}", image, label))
    (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


@dataclass
class StripePages:
    """The fixture image set: `root` holds images/ and {train,val,test}.jsonl."""

    root: Path
    train: list[dict]
    val: list[dict]
    test: list[dict]
    classes = CLASSES
    question = QUESTION
    report = REPORT

    def accuracy(self, answers: list[str], records: list[dict]) -> float:
        return sum(a == r["labels"][0] for a, r in zip(answers, records, strict=True)) / len(records)


@pytest.fixture(scope="session")
def stripe_pages(tmp_path_factory) -> StripePages:
    """240 training, 20 validation and 50 test pages, classes balanced."""
    root = tmp_path_factory.mktemp("stripe-pages")
    (root / "images").mkdir()
    splits = [
        write_split(root, split, n, seed) for split, n, seed in [("train", 240, 1), ("val", 20, 2), ("test", 50, 3)]
    ]
    return StripePages(root, *splits)


@pytest.fixture(scope="session")
def tiny_mllama_dir(tmp_path_factory) -> Path:
    """A tiny random Mllama checkpoint whose tokenizer was trained on the fixture questions and answers."""
    corpus = [QUESTION, *CLASSES, REPORT, "Is the rhythm regular?"]
    return build_tiny_mllama(tmp_path_factory.mktemp("tiny-mllama"), corpus=corpus, seed=0)


@pytest.fixture(scope="session")
def tuned_run(tiny_mllama_dir, stripe_pages, tmp_path_factory) -> tuple[dict, Path]:
    """The tiny model after 80 LoRA steps on the stripe pages (~20-30 s on 2 cores): (metrics, run dir)."""
    from ecg_core.train import TrainConfig
    from ecg_core.train.recipe import run_training

    root, run = stripe_pages.root, tmp_path_factory.mktemp("tuned") / "run"
    config = TrainConfig.load(
        Path(__file__).resolve().parents[1] / "configs" / "tiny-cpu.yaml",
        {
            "model": str(tiny_mllama_dir),
            "train_jsonl": str(root / "train.jsonl"),
            "val_jsonl": str(root / "val.jsonl"),
            "image_root": str(root),
            "output_dir": str(run),
            "max_steps": "80",
            "save_strategy": "no",
        },
    )
    return run_training(config), run


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1: real HTTP for boto3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch, tmp_path):
    """The AWS environment pointed at the moto server, and a fresh bucket: (client, bucket name)."""
    import boto3

    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "ECGFLOW_S3_CACHE": str(tmp_path / "s3-cache"),
    }
    for key, value in aws.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    bucket = f"b-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.fixture(scope="session")
def llama_files(tmp_path_factory) -> Path:
    """The real Llama 3.2 11B Vision Instruct folder but the weights (tests/fixtures/llama32-vision)."""
    return llama32_vision_files(tmp_path_factory.mktemp("llama32-vision") / "files")


@pytest.fixture(scope="session")
def shrunk_mllama_dir(llama_files, tmp_path_factory) -> Path:
    """The real 11B's tokenizer, chat template, image processor and generation config around small random
    weights saved under the hub's key names (ecg_core.model.shrunk)."""
    from ecg_core.model.shrunk import build_shrunk_mllama

    return build_shrunk_mllama(llama_files, tmp_path_factory.mktemp("shrunk-mllama"))


@pytest.fixture(scope="session")
def ecg_pages(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Six synthetic ECGs printed at 100 dpi (A4 landscape, 1169 x 827 px, 3x4+1) and their superclass and report samples."""
    from ecg_core.instruct.printed import printed_samples

    root = tmp_path_factory.mktemp("ecg-pages")
    return root, printed_samples(root, 6, fs=250.0)
