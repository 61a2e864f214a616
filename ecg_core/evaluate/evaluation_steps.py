"""An evaluation's steps on a store under `eval/<eval_id>/`: each task's questions, the pages Mllama rows read,
each candidate's answers (resumed from what is stored), the report judge,
then the leaderboard and Table I with their pictures. `evaluation.evaluate` runs them in order. Pure of
Prefect: `log` is whatever logger the caller gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecg_core import layout
from ecg_core.evaluate.benchmark_tasks import Task, resolve
from ecg_core.evaluate.candidates import Candidate
from ecg_core.evaluate.detection import check_label_set
from ecg_core.evaluate.endpoint import StoreCache
from ecg_core.evaluate.grading import task_metrics
from ecg_core.evaluate.judge import JudgeConfig, judge_reports
from ecg_core.evaluate.leaderboard import leaderboard, leaderboard_markdown
from ecg_core.evaluate.metrics import mean_interval
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.evaluate.questions import task_questions
from ecg_core.evaluate.results import evaluation_metrics, roc_inputs
from ecg_core.evaluate.table import report_table, table_one
from ecg_core.labels import SUPERCLASSES
from ecg_core.plots import per_label_f1_png, roc_curves_png
from ecg_core.reading.reader import Reader
from ecg_core.resumable import resume

if TYPE_CHECKING:  # (the answering module imports torch and transformers; the result type needs neither)
    from ecg_core.evaluate.candidate_answers import Answers


@dataclass(frozen=True)
class CandidateResult:
    """One candidate on every task: each task's metrics, and what an endpoint billed (None for a local model)."""

    tasks: dict[str, dict]
    usage: dict | None


def task_of(store, task_id: str) -> Task:
    """The task named `<set>/<task>` in the store."""
    return resolve(store, [task_id], None)[0]


def task_keys(eval_id: str, task: Task) -> tuple[str, str, str]:
    """Where a task's files are under eval/<eval_id>/: (eval id, instruction set, task)."""
    return eval_id, task.instruct, task.kind.name


def prepare_tasks(store, eval_id: str, task_ids: list[str], instruct: str | None, log) -> list[dict]:
    """Each task's questions, with their pages, in eval/<eval_id>/<set>/<task>/questions.jsonl and those left
    out, with the reason, in skipped.jsonl; returns the tasks' leaderboard entries."""
    entries, tests = [], {}
    for one in resolve(store, task_ids, instruct):
        if one.instruct not in tests:
            tests[one.instruct] = store.get_jsonl(layout.split_key(one.instruct, "test"))
        questions, skipped = task_questions(store, one, tests[one.instruct])
        store.put_jsonl(layout.questions_key(*task_keys(eval_id, one)), questions)
        store.put_jsonl(layout.task_skipped_key(*task_keys(eval_id, one)), skipped)
        if skipped:
            where = layout.task_skipped_key(*task_keys(eval_id, one))
            log.warning("%s: %d question(s) skipped, reasons in %s", one.id, len(skipped), where)
        entries.append(
            {"task": one.id, "title": one.kind.title, "metric": one.kind.metric, "questions": len(questions)}
            | {"skipped": len(skipped), "kind": one.kind.name}
        )
    return entries


def chosen_pages(store, eval_id: str, reader: Reader) -> dict:
    """How every Mllama row sees pages: `reader`'s preprocessing, kept in eval/<eval_id>/preprocessing.json; an
    evaluation whose predictions were made otherwise is refused."""
    described = reader.pages.describe(reader.tile)
    chosen = described | {"from": reader.pages_from}
    key = layout.preprocessing_key(eval_id)
    if store.exists(key) and {k: v for k, v in store.get_json(key).items() if k != "from"} != described:
        raise ValueError(
            f"{key}: predictions there were made with {store.get_json(key)}, not {chosen}; "
            f"use another eval id (or delete {layout.eval_prefix(eval_id)}/)"
        )
    store.put_json(key, chosen)
    return chosen


def answer_tasks(
    store, eval_id: str, candidate: Candidate, answers: Answers, task_ids: list[str], log
) -> CandidateResult:
    """The candidate's answers to every task, each resumed from its stored predictions (failed answers asked
    again) and saved every `answers.chunk` questions; each task's metrics."""
    results = {}
    for task_id in task_ids:
        one = task_of(store, task_id)
        key = layout.predictions_key(*task_keys(eval_id, one), candidate.slug)
        questions = store.get_jsonl(layout.questions_key(*task_keys(eval_id, one)))
        done = [r for r in (store.get_jsonl(key) if store.exists(key) else []) if not r.get("error")]
        check_label_set(done, key, one.kind.name)
        if done:
            log.info("%s: %d of %d answers already there, resuming", key, len(done), len(questions))
        rows = resume(
            questions,
            done,
            lambda chunk, one=one: answers(one, chunk),
            lambda rows: store.put_jsonl(key, rows),
            answers.chunk,
        )
        results[task_id] = task_metrics(one, rows)
        log.info("%s on %s: %s", candidate.row, one.id, headline(results[task_id]))
    usage = answers.usage()
    if usage:
        log.info("%s: %s", candidate.row, usage)
    return CandidateResult(results, usage)


def headline(metrics: dict) -> str:
    shown = ("auc", "macro_f1", "hamming", "accuracy", "score", "n_unparsed", "n")
    return ", ".join(
        f"{k} {metrics[k]:.3f}" if isinstance(metrics[k], float) else f"{k} {metrics[k]}" for k in shown if k in metrics
    )


def judge_task(
    store, eval_id: str, task_id: str, candidate: Candidate, judge: JudgeConfig, api_key: str | None, log
) -> dict:
    """The LLM judge over one candidate's reports on one task: judge-<row>.jsonl and the summary (with a 95%
    interval of the mean)."""
    one = task_of(store, task_id)
    rows = store.get_jsonl(layout.predictions_key(*task_keys(eval_id, one), candidate.slug))
    items = [
        {"id": r["id"], "report": r["answer"], "reference": r["truth"], "credentialed": is_credentialed(r)}
        | ({"image": store.get_bytes(r["image"])} if judge.vision else {})
        for r in rows
    ]
    result = judge_reports(
        items,
        model=judge.model,
        rubric=judge.rubric,
        base_url=judge.base_url,
        api_key=api_key,
        cache=StoreCache(store, layout.judge_cache_prefix()),
        vision=judge.vision,
        allow_credentialed_remote=judge.allow_credentialed_remote,
    )
    store.put_jsonl(layout.judgements_key(*task_keys(eval_id, one), candidate.slug), result.results)
    summary = result.summary | {"ci95": mean_interval([r["score"] for r in result.results if not r["failed"]])}
    log.info(
        "judge %s on %s, %s: mean %s over %d, %d failed, %d cached, %d+%d tokens, cost %s USD",
        summary["model"],
        candidate.row,
        task_id,
        summary["mean_score"],
        summary["n_scored"],
        summary["n_failed"],
        summary["n_cached"],
        summary["prompt_tokens"],
        summary["completion_tokens"],
        summary["cost_usd"],
    )
    return summary


def write_leaderboard(store, eval_id: str, entries: list[dict], rows: dict, candidates: dict, usage: dict) -> dict:
    """Each task's metrics.json and leaderboard.json and .md under eval/<eval_id>/; returns the leaderboard."""
    for entry in entries:
        one = task_of(store, entry["task"])
        by_row = {row: by_task[entry["task"]] for row, by_task in rows.items() if entry["task"] in by_task}
        store.put_json(layout.task_metrics_key(*task_keys(eval_id, one)), {"task": entry, "rows": by_row})
    board = leaderboard(eval_id, entries, rows) | {"candidates": candidates, "api_usage": usage}
    store.put_json(layout.leaderboard_key(eval_id), board)
    store.put_bytes(layout.leaderboard_md_key(eval_id), leaderboard_markdown(board).encode())
    return board


def write_table_one(
    store,
    eval_id: str,
    detection: dict,
    reports: dict,
    example_image: str | None,
    pages: dict | None,
    prediction_keys: dict,
    board: dict,
) -> dict:
    """metrics.json (Table I: the PTB-XL superclass task and the report task, and the leaderboard), table.md,
    and with a detection task its ROC curves and per-label F1 under eval/<eval_id>/; returns the metrics."""
    metrics = evaluation_metrics(detection, reports, pages, example_image, board)
    store.put_json(layout.metrics_key(eval_id), metrics)
    store.put_bytes(layout.table_key(eval_id), (table_one(metrics) + "\n" + report_table(metrics)).encode())
    if detection:
        store.put_bytes(
            layout.per_label_f1_key(eval_id), per_label_f1_png(detection, "abnormality detection, per-label F1")
        )
        predictions = {name: store.get_jsonl(key) for name, key in prediction_keys.items()}
        with_scores = {name: rows for name, rows in predictions.items() if rows and all("scores" in r for r in rows)}
        store.put_bytes(
            layout.roc_curves_key(eval_id),
            roc_curves_png(
                roc_inputs(with_scores, SUPERCLASSES),
                list(SUPERCLASSES),
                "ROC per label (scores from the answer likelihood)",
            ),
        )
    return metrics
