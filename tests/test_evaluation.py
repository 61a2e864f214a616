"""The evaluation library without Prefect (ecg_core/evaluate/evaluation.py): a benchmark's questions
prepared in a store, a candidate's answers saved chunk by chunk and resumed, failed answers asked again; a plan
answered in one call, with a typed result."""

from __future__ import annotations

import logging

from ecg_core import layout
from ecg_core.evaluate.benchmarks import resolve
from ecg_core.evaluate.evaluation import (
    EvaluationPlan,
    Steps,
    answer_benchmarks,
    evaluate,
    parse_candidates,
    prepare_benchmarks,
)
from ecg_core.evaluate.grading import prediction_row
from ecg_core.store import LocalStore
from tests.factories import sample

BENCHMARK = "mine/ptbxl-super"
LOG = logging.getLogger(__name__)


class Scripted:
    """Answers every question with its truth, but `failing` ones with an error (as an endpoint that timed out)."""

    chunk = 2

    def __init__(self, failing=()):
        self.failing, self.asked = set(failing), []

    def __call__(self, benchmark, questions):
        self.asked += [q["id"] for q in questions]
        return [
            prediction_row(benchmark, q, ", ".join(q["labels"]), None)
            | ({"error": "timeout"} if q["id"] in self.failing else {})
            for q in questions
        ]

    def usage(self):
        return None


def test_answers_are_saved_by_chunk_and_a_second_pass_asks_only_what_failed(tmp_path):
    store = _store_with_questions(tmp_path)
    benchmarks = tuple(resolve(store, [BENCHMARK], None))
    [entry] = prepare_benchmarks(store, "ev", benchmarks, LOG)
    assert (entry["task"], entry["questions"], entry["skipped"]) == (BENCHMARK, 6, 0)
    [candidate] = parse_candidates(["openai:vlm"])

    first = Scripted(failing={"s3"})
    answer_benchmarks(store, "ev", candidate, first, benchmarks, LOG)
    saved = store.get_jsonl("eval/ev/mine/ptbxl-super/predictions-openai-vlm.jsonl")
    assert first.asked == [f"s{i}" for i in range(6)] and [r.get("error") for r in saved].count("timeout") == 1

    again = Scripted()
    result = answer_benchmarks(store, "ev", candidate, again, benchmarks, LOG)
    assert again.asked == ["s3"]  # the rest came from the store
    metrics = result.benchmarks[BENCHMARK]
    assert (metrics["n"], metrics["macro_f1"], result.usage) == (6, 1.0, None)


def test_a_plan_is_answered_in_one_call_and_read_by_attribute(tmp_path):
    store = _store_with_questions(tmp_path)
    plan = EvaluationPlan("ev", tuple(parse_candidates(["openai:vlm", "openai:other"])), benchmarks=(BENCHMARK,))
    asked = []

    def answer(candidate, benchmarks, pages):
        asked.append((candidate.row, [b.id for b in benchmarks], pages))
        return answer_benchmarks(store, plan.eval_id, candidate, Scripted(), benchmarks, LOG)

    evaluation = evaluate(store, plan, Steps(answer, judge=None, reference=None), LOG)
    assert asked == [("openai:vlm", [BENCHMARK], None), ("openai:other", [BENCHMARK], None)]  # no Mllama row: no pages
    assert set(evaluation.detection) == {"openai:vlm", "openai:other"} and evaluation.reports == {}
    assert evaluation.detection["openai:vlm"]["n"] == 6 and evaluation.detection["openai:vlm"]["macro_f1"] == 1.0
    assert evaluation.leaderboard["rows"]["openai:other"][BENCHMARK]["n"] == 6
    assert store.get_json(layout.metrics_key("ev")) == evaluation.metrics  # what was returned is what was stored
    assert store.exists(layout.roc_curves_key("ev")) and store.exists(layout.leaderboard_md_key("ev"))


def _store_with_questions(tmp_path) -> LocalStore:
    """A store with instruction set `mine`: six PTB-XL superclass test questions."""
    store = LocalStore(tmp_path)
    samples = [
        sample(i, "superclass", "open", label, [label])
        for i, label in enumerate(["NORM", "MI", "STTC", "CD", "HYP", "MI"])
    ]
    for s in samples:
        store.put_bytes(s["image"], b"\x89PNG page")
    store.put_jsonl("instruct/mine/test.jsonl", samples)
    return store
