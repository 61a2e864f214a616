"""A stage stopped on one machine and run again on another: an S3 store (moto's server, real HTTP) and a new,
empty local cache. The work the first machine finished is read from the store and not done again, the result
equals an uninterrupted run, and the second machine's cache holds only what its stage read (no mirror of the store).

Render batches resume from their done markers, evaluation answers from the predictions saved chunk by chunk. An
instruction build is one task: a finished one is skipped through Prefect's results kept in the store
(tests/flows/test_cached_tasks.py); here, a build run again on the second machine fetches nothing it does not write.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import ecg_core.image_store as image_store
from ecg_core import layout
from ecg_core.evaluate.evaluation import (
    EvaluationPlan,
    Steps,
    answer_benchmarks,
    candidate_answers,
    evaluate,
    parse_candidates,
)
from ecg_core.image_store import render_shard
from ecg_core.instruct.dataset import write_instruction_set
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.record_store import read_manifest, write_records
from ecg_core.render.variants import RenderConfig
from ecg_core.store import LocalStore, S3Store
from ecg_core.synth import synthesize_records

LOG = logging.getLogger(__name__)
BENCHMARK = "e/ptbxl-super"


def _machine(bucket: str, cache: Path) -> S3Store:
    """The store as a machine with its own local cache sees it."""
    return S3Store(f"s3://{bucket}/ecg", cache_dir=cache)


def _cached(store: S3Store) -> set[str]:
    """The keys a machine holds a local copy of."""
    root = store.cache
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_render_resumes_finished_batches_from_the_store(s3_env, tmp_path, monkeypatch):
    records = synthesize_records(4, seed=0, fs=100.0, seconds=4.0)
    config = RenderConfig.load("render/plain.yaml", {"dpi": 30.0})
    first = _machine(s3_env[1], tmp_path / "first")
    write_records(first, "synthetic", records, shard_size=2)
    shards = read_manifest(first, "synthetic").shards
    assert len(shards) == 2
    render_shard(first, "synthetic", shards[0], config)  # then the machine is lost

    drawn = []
    real = image_store.render_records
    monkeypatch.setattr(
        image_store, "render_records", lambda s, rs, c: drawn.extend(r.record_id for r in rs) or real(s, rs, c)
    )
    second = _machine(s3_env[1], tmp_path / "second")
    resumed = [render_shard(second, "synthetic", shard, config) for shard in shards]
    assert drawn == [r.record_id for r in records[2:]]  # the first batch came from its marker

    whole = LocalStore(tmp_path / "uninterrupted")
    write_records(whole, "synthetic", records, shard_size=2)
    assert resumed == [render_shard(whole, "synthetic", shard, config) for shard in shards]
    for batch in resumed:
        for row in batch["rows"]:
            assert second.get_bytes(row["image"]) == whole.get_bytes(row["image"])
            assert second.get_bytes(row["geometry"]) == whole.get_bytes(row["geometry"])
    assert _cached(second) == set()  # markers, records and pages were read from the store


def test_an_instruction_build_run_again_on_another_machine_fetches_nothing(s3_env, tmp_path):
    records = synthesize_records(6, seed=1, fs=100.0, seconds=4.0)
    config = RenderConfig.load("render/plain.yaml", {"dpi": 20.0})
    first = _machine(s3_env[1], tmp_path / "first")
    write_records(first, "synthetic", records)
    rows = render_shard(first, "synthetic", read_manifest(first, "synthetic").shards[0], config)["rows"]
    first.put_jsonl(layout.index_key("synthetic"), rows)
    settings = InstructConfig(families=["abnormality_detection"], topics=["superclass"], styles=["open"])
    stats = write_instruction_set(first, "t", ["synthetic"], settings)
    splits = {split: first.get_bytes(layout.split_key("t", split)) for split in ("train", "val", "test")}

    second = _machine(s3_env[1], tmp_path / "second")
    assert write_instruction_set(second, "t", ["synthetic"], settings) == stats
    assert {split: second.get_bytes(layout.split_key("t", split)) for split in splits} == splits
    exported = {key for key in _cached(second) if key.startswith(("instruct/t/hf/", "instruct/t/parquet/"))}
    assert exported and _cached(second) == exported  # only the export it wrote: not the splits, records or pages
    assert exported <= set(second.list("instruct/t"))  # and sent to the store


class MachineLost(Exception):
    """The machine answering went away (a preempted GPU machine)."""


class Machine:
    """A candidate's real answers on one machine: which questions it was asked, and whether it is lost after
    `chunks` chunks. Two questions a chunk, so six questions are three saves."""

    chunk = 2

    def __init__(self, answers, chunks: int | None = None):
        self.answers, self.left, self.asked = answers, chunks, []

    def __call__(self, benchmark, questions):
        if self.left == 0:
            raise MachineLost
        self.left = None if self.left is None else self.left - 1
        self.asked += [q["id"] for q in questions]
        return self.answers(benchmark, questions)

    def usage(self):
        return self.answers.usage()


@pytest.fixture
def evaluation_store(s3_env, tmp_path, tiny_mllama_dir, ecg_pages) -> tuple[str, list[dict]]:
    """A bucket with instruction set `e` (six PTB-XL superclass questions on printed pages), run `r` (an adapter
    and a checkpoint the evaluation must not fetch) and another dataset's pages: (bucket, the questions)."""
    from ecg_core.model.load import load_model_and_processor
    from ecg_core.model.lora import apply_lora

    root, samples = ecg_pages
    questions = [s for s in samples if s["topic"] == "superclass"]
    store = _machine(s3_env[1], tmp_path / "setup")
    for s in samples:
        store.put_bytes(s["image"], (root / s["image"]).read_bytes())
    store.put_jsonl(layout.split_key("e", "test"), questions)
    model, _ = load_model_and_processor(tiny_mllama_dir)
    apply_lora(model, r=4, alpha=8).save_pretrained(tmp_path / "adapter")
    store.put_dir(tmp_path / "adapter", layout.adapter_prefix("r"))
    store.put_json(layout.run_config_key("r"), {"max_tiles": 1, "page_fit": "pad"})
    store.put_bytes(f"{layout.run_prefix('r')}/checkpoint-40/optimizer.pt", bytes(2**20))
    store.put_bytes(layout.image_key("other", "x", 0, ".png"), (root / samples[0]["image"]).read_bytes())
    return s3_env[1], questions


def test_evaluation_resumes_its_answers_and_fetches_only_the_pages_left(evaluation_store, tmp_path, tiny_mllama_dir):
    bucket, questions = evaluation_store
    machines = []

    def run(store: S3Store, eval_id: str, lost_after: int | None = None):
        plan = EvaluationPlan(
            eval_id, tuple(parse_candidates(["run:r"])), benchmarks=(BENCHMARK,), model=str(tiny_mllama_dir)
        )

        def answer(candidate, benchmarks, pages):
            machine = Machine(candidate_answers(store, plan, candidate, pages, None), lost_after)
            machines.append(machine)
            return answer_benchmarks(store, eval_id, candidate, machine, benchmarks, LOG)

        return evaluate(store, plan, Steps(answer, judge=None, reference=None), LOG)

    first = _machine(bucket, tmp_path / "first")
    with pytest.raises(MachineLost):
        run(first, "ev", lost_after=1)
    [candidate] = parse_candidates(["run:r"])
    key = layout.predictions_key("ev", "e", "ptbxl-super", candidate.slug)
    saved = first.get_jsonl(key)
    assert [r["id"] for r in saved] == machines[0].asked == [q["id"] for q in questions[:2]]

    second = _machine(bucket, tmp_path / "second")
    resumed = run(second, "ev")
    assert machines[1].asked == [q["id"] for q in questions[2:]]  # the saved chunk was not asked again
    rows = second.get_jsonl(key)
    assert rows[:2] == saved and len(rows) == len(questions)
    adapter = set(second.list(layout.adapter_prefix("r")))
    assert _cached(second) == adapter | {q["image"] for q in questions[2:]}  # no checkpoint, no page answered before

    whole = run(_machine(bucket, tmp_path / "third"), "whole")
    assert rows == first.get_jsonl(layout.predictions_key("whole", "e", "ptbxl-super", candidate.slug))
    assert resumed.detection == whole.detection
