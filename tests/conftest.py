"""Shared fixtures: a tiny Mllama checkpoint and a small image set whose class is visible in the picture.

The pages are wide (550 x 300, the aspect of an ECG printout) with dark vertical stripes; the class sets
the stripe period, a random phase the position. The model must read the picture: classes are balanced,
so answering from the question alone scores 20%.

The suite runs on xdist workers (`make test`): each process computes on one thread (workers of two threads each
on two cores spend more time waiting for each other than computing: measured, 1.5x the wall time), the files
with slow tests start first so that their waits overlap the rest, and what several workers need is built once
for the whole run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported; inherited by every process a test starts

import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from ecg_core.model.tiny import build_tiny_mllama  # noqa: E402
from tests.built_once import built_once  # noqa: E402
from tests.fixtures import llama32_vision_files  # noqa: E402

SLOW_FIRST = ("ops", "flows")  # directories whose tests wait on servers and processes: scheduled first
# The longest files, by their time in `make test` on the 2-core machine (seconds, summed over their tests): xdist
# hands out files in collection order, so these start at once, longest first, and the short ones fill the end.
LONGEST_FIRST = (
    "ops/test_local_stack.py",  # 245
    "ops/test_machine_loss.py",  # 230
    "ops/test_postgres_stack.py",  # 200
    "ops/test_unattended.py",  # 180
    "flows/test_retrain_flow.py",  # 155
    "flows/test_real_files_flows.py",  # 120
    "ops/test_killed_run.py",  # 115
    "flows/test_pipeline_flow.py",  # 100
    "test_train_distributed.py",  # 95
    "flows/test_train_flows.py",  # 85
    "ops/test_server_lifecycle.py",  # 85
    "ops/test_shared_server.py",  # 65
    "ops/test_gpu_check.py",  # 65
    "flows/test_data_flows.py",  # 55
    "flows/test_interpret_flow.py",  # 55
    "ops/test_wheel.py",  # 50
    "test_real_files.py",  # 50
    "test_cnn.py",  # 45
)

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


def pytest_collection_modifyitems(items):
    """Every test under tests/flows (a Prefect API) and tests/ops (real servers, processes, signals) is slow. Files
    with slow tests run first: xdist hands out files in this order, so the long ones start early and the quick
    ones fill in at the end."""

    def directory(item) -> str:
        parts = item.path.relative_to(Path(__file__).parent).parts
        return parts[0] if len(parts) > 1 else ""

    for item in items:
        if directory(item) in SLOW_FIRST:
            item.add_marker(pytest.mark.slow)
    longest = {name: rank for rank, name in enumerate(LONGEST_FIRST)}
    order = {name: rank for rank, name in enumerate(SLOW_FIRST)}
    with_slow_tests = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item) -> tuple:
        """The longest files, then ops, flows, the other files that hold a slow test, the rest (file order kept)."""
        name = item.path.relative_to(Path(__file__).parent).as_posix()
        return longest.get(name, len(longest)), order.get(directory(item), len(order)), item.path not in with_slow_tests

    items.sort(key=rank)


@pytest.fixture(scope="session")
def stripe_pages(tmp_path_factory) -> StripePages:
    """240 training, 20 validation and 50 test pages, classes balanced."""

    def draw(root: Path) -> dict:
        (root / "images").mkdir(parents=True)
        splits = [("train", 240, 1), ("val", 20, 2), ("test", 50, 3)]
        return {split: write_split(root, split, n, seed) for split, n, seed in splits}

    root, splits = built_once(tmp_path_factory, "stripe-pages", draw)
    return StripePages(root, **splits)


@pytest.fixture(scope="session")
def tiny_mllama_dir(tmp_path_factory) -> Path:
    """A tiny random Mllama checkpoint whose tokenizer was trained on the fixture questions and answers."""
    corpus = [QUESTION, *CLASSES, REPORT, "Is the rhythm regular?"]
    folder, _ = built_once(tmp_path_factory, "tiny-mllama", lambda out: build_tiny_mllama(out, corpus=corpus, seed=0))
    return folder


@pytest.fixture(scope="session")
def tuned_run(tiny_mllama_dir, stripe_pages, tmp_path_factory) -> tuple[dict, Path]:
    """The tiny model after 80 LoRA steps on the stripe pages (~20-30 s on 2 cores): (metrics, run dir)."""
    from ecg_core.train.config import TrainConfig, write_run_config
    from ecg_core.train.recipe import run_training

    def train(run: Path) -> dict:
        root = stripe_pages.root
        overrides = {"train_jsonl": root / "train.jsonl", "val_jsonl": root / "val.jsonl", "image_root": root}
        overrides |= {"model": tiny_mllama_dir, "output_dir": run, "max_steps": 80, "save_strategy": "no"}
        config = TrainConfig.load("tiny-cpu.yaml", {k: str(v) for k, v in overrides.items()})
        write_run_config(config)
        return run_training(config)

    run, metrics = built_once(tmp_path_factory, "tuned-run", train)
    return metrics, run


@pytest.fixture(scope="session")
def prefect_database(tmp_path_factory) -> Path:
    """A Prefect server database migrated once for the whole run: a server started on an empty database spends
    about 13 of its 18 CPU-s migrating it, and the ops tests start a dozen (tests/ops/commands.py `seeded_home`).
    What a newcomer meets, an empty PREFECT_HOME, stays tested by the tests that start from one."""

    def migrate(folder: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PREFECT_HOME": str(folder)}
        upgrade = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "--yes"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True, timeout=300)

    folder, _ = built_once(tmp_path_factory, "prefect-database", migrate)
    return folder / "prefect.db"


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
    return built_once(tmp_path_factory, "llama32-vision", llama32_vision_files)[0]


@pytest.fixture(scope="session")
def shrunk_mllama_dir(llama_files, tmp_path_factory) -> Path:
    """The real 11B's tokenizer, chat template, image processor and generation config around small random
    weights saved under the hub's key names (ecg_core.model.shrunk)."""
    from ecg_core.model.shrunk import build_shrunk_mllama

    return built_once(tmp_path_factory, "shrunk-mllama", lambda folder: build_shrunk_mllama(llama_files, folder))[0]


@pytest.fixture(scope="session")
def ecg_pages(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Six synthetic ECGs printed at 100 dpi (A4 landscape, 1169 x 827 px, 3x4+1) and their superclass and report samples."""
    from ecg_core.instruct.printed import printed_samples

    root = tmp_path_factory.mktemp("ecg-pages")
    return root, printed_samples(root, 6, fs=250.0)
