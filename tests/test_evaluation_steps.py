"""The evaluation library without Prefect (ecg_core/evaluate/evaluation.py and its steps): a task's questions
prepared in a store, a candidate's answers saved chunk by chunk and resumed, failed answers asked again; a plan
answered in one call, with a typed result."""

from __future__ import annotations

import logging

from ecg_core import layout
from ecg_core.evaluate.candidates import parse_candidates
from ecg_core.evaluate.evaluation import EvaluationPlan, Steps, evaluate
from ecg_core.evaluate.evaluation_steps import answer_tasks, prepare_tasks
from ecg_core.evaluate.grading import prediction_row
from ecg_core.store import LocalStore
from tests.factories import sample

TASK = "mine/ptbxl-super"
LOG = logging.getLogger(__name__)


class Scripted:
    """Answers every question with its truth, but `failing` ones with an error (as an endpoint that timed out)."""

    chunk = 2

    def __init__(self, failing=()):
        self.failing, self.asked = set(failing), []

    def __call__(self, task, questions):
        self.asked += [q["id"] for q in questions]
        return [
            prediction_row(task, q, ", ".join(q["labels"]), None)
            | ({"error": "timeout"} if q["id"] in self.failing else {})
            for q in questions
        ]

    def usage(self):
        return None


def test_answers_are_saved_by_chunk_and_a_second_pass_asks_only_what_failed(tmp_path):
    store = _store_with_questions(tmp_path)
    [entry] = prepare_tasks(store, "ev", [TASK], None, LOG)
    assert (entry["task"], entry["questions"], entry["skipped"]) == (TASK, 6, 0)
    [candidate] = parse_candidates(["openai:vlm"])

    first = Scripted(failing={"s3"})
    answer_tasks(store, "ev", candidate, first, [TASK], LOG)
    saved = store.get_jsonl("eval/ev/mine/ptbxl-super/predictions-openai-vlm.jsonl")
    assert first.asked == [f"s{i}" for i in range(6)] and [r.get("error") for r in saved].count("timeout") == 1

    again = Scripted()
    result = answer_tasks(store, "ev", candidate, again, [TASK], LOG)
    assert again.asked == ["s3"]  # the rest came from the store
    metrics = result.tasks[TASK]
    assert (metrics["n"], metrics["macro_f1"], result.usage) == (6, 1.0, None)


def test_a_plan_is_answered_in_one_call_and_read_by_attribute(tmp_path):
    store = _store_with_questions(tmp_path)
    plan = EvaluationPlan("ev", tuple(parse_candidates(["openai:vlm", "openai:other"])), tasks=(TASK,))
    asked = []

    def answer(candidate, task_ids, pages):
        asked.append((candidate.row, task_ids, pages))
        return answer_tasks(store, plan.eval_id, candidate, Scripted(), task_ids, LOG)

    evaluation = evaluate(store, plan, Steps(answer, judge=None, reference=None), LOG)
    assert asked == [("openai:vlm", [TASK], None), ("openai:other", [TASK], None)]  # no Mllama row: no pages
    assert set(evaluation.detection) == {"openai:vlm", "openai:other"} and evaluation.reports == {}
    assert evaluation.detection["openai:vlm"]["n"] == 6 and evaluation.detection["openai:vlm"]["macro_f1"] == 1.0
    assert evaluation.leaderboard["rows"]["openai:other"][TASK]["n"] == 6
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
