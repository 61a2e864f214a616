"""An evaluation in one call: `evaluate(store, plan, steps, log)` answers a plan (candidates x tasks) and returns
a typed `Evaluation`. Everything lands under `eval/<eval_id>/` (questions, predictions, judgements, each task's
metrics, the leaderboard, Table I with its ROC curves) and a second call resumes from what is there.

The heavy steps (a candidate answering every task, the judge over one candidate's reports, a reference CNN)
come from `steps`: the evaluate flow passes them as Prefect tasks tagged gpu, api and judge, so that work pools
and limits see them; a script can pass plain functions. Pure of Prefect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ecg_core import layout
from ecg_core.evaluate.benchmark_tasks import default_tasks
from ecg_core.evaluate.candidates import Candidate
from ecg_core.evaluate.endpoint import EndpointConfig, StoreCache
from ecg_core.evaluate.evaluation_steps import (
    CandidateResult,
    chosen_pages,
    prepare_tasks,
    write_leaderboard,
    write_table_one,
)
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.evaluate.results import report_entry
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.reading.reader import Reader, choose_reader


@dataclass(frozen=True)
class EvaluationPlan:
    """What one evaluation answers and how; the evaluate flow's arguments, with the candidates parsed."""

    eval_id: str  # names the output: eval/<eval_id>/
    candidates: tuple[Candidate, ...]  # the leaderboard's rows, in order
    tasks: tuple[str, ...] = ()  # <set>/<task> ids; empty: the paper's tasks of `instruct`
    instruct: str | None = None  # the instruction set of tasks named without one
    model: str | None = None  # base checkpoint folder of the base and run: rows
    max_tiles: int | None = None  # tile budget per page; None: the first run's, else the checkpoint's
    page_fit: str | None = None  # pad or stretch; None: the first run's, else pad
    batch_size: int = 16  # generation batch size of Mllama rows
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)  # where openai: rows are served
    judge: JudgeConfig | None = None  # an LLM judge of the reports; None: the label-based score only
    example_image: str | None = None  # a page shown in the report (a store key)
    references: dict[str, dict] = field(default_factory=dict)  # reference CNN kind -> its CnnConfig keys
    reference_datasets: tuple[str, ...] = ()  # the records/ datasets the reference CNNs learn from

    def reader(self, store, candidate: Candidate, **pages) -> Reader:
        """The weights an Mllama row reads with (ecg_core/reading/reader.py): `model` + the row's adapter; the
        champion brings its own base."""
        return choose_reader(
            store, candidate.kind, candidate.target, None if candidate.kind == "champion" else self.model, **pages
        )

    def pages(self, store) -> Reader:
        """The reader whose pages every Mllama row reads: the first run's (runs/<run_id>/config.json), else the
        champion's, else the base checkpoint's; `max_tiles` and `page_fit` may repeat a run's, never contradict it."""
        mllama = [c for c in self.candidates if c.is_mllama]
        source = min(mllama, key=lambda c: ("run", "champion", "base").index(c.kind))
        return self.reader(store, source, max_tiles=self.max_tiles, page_fit=self.page_fit)


@dataclass(frozen=True)
class Steps:
    """The heavy steps of an evaluation, each a function of what it works on."""

    answer: Callable[[Candidate, list[str], dict | None], CandidateResult]  # a row on every task, with the pages
    judge: Callable[[str, Candidate], dict]  # the judge over one row's reports on one task
    reference: Callable[[str, dict], dict]  # a reference CNN trained and tested: kind, its settings -> metrics


@dataclass(frozen=True)
class Evaluation:
    """What an evaluation found: metrics.json's content (Table I and the leaderboard), by attribute."""

    eval_id: str
    metrics: dict

    @property
    def detection(self) -> dict[str, dict]:
        """Row -> its PTB-XL superclass metrics (Table I's abnormality detection)."""
        return self.metrics["abnormality_detection"]

    @property
    def reports(self) -> dict[str, dict]:
        """Row -> its report-generation entry (score 0-100, its scorer and interval)."""
        return self.metrics["report_generation"]

    @property
    def leaderboard(self) -> dict:
        return self.metrics["leaderboard"]


def evaluate(store, plan: EvaluationPlan, steps: Steps, log) -> Evaluation:
    """Every candidate of `plan` on every task, judged when a judge is named; the leaderboard and Table I (the
    first PTB-XL superclass task, the reference CNNs beside it, and the first report task)."""
    entries = prepare_tasks(
        store, plan.eval_id, list(plan.tasks or default_tasks(store, plan.instruct)), plan.instruct, log
    )
    task_ids = [entry["task"] for entry in entries]
    pages = None
    if any(c.is_mllama for c in plan.candidates):
        pages = chosen_pages(store, plan.eval_id, plan.pages(store))
        log.info("pages: %s", pages)
    answered = {c.row: steps.answer(c, task_ids, pages) for c in plan.candidates}
    rows = {row: result.tasks for row, result in answered.items()}
    usage = {row: result.usage for row, result in answered.items() if result.usage}
    report_tasks = [e["task"] for e in entries if e["metric"] == "report"]
    for c in plan.candidates:  # the label-based score stays beside the judge's, under "labels"
        for task_id in report_tasks:
            judged = steps.judge(task_id, c) if plan.judge else None
            rows[c.row][task_id] = report_entry(rows[c.row][task_id], judged)

    detection_task = next((e["task"] for e in entries if e["kind"] == "ptbxl-super"), None)
    prediction_keys = {
        c.row: layout.predictions_key(plan.eval_id, *detection_task.split("/"), c.slug)
        for c in plan.candidates
        if detection_task
    }
    for kind, settings in plan.references.items() if detection_task else ():
        rows[f"cnn-{kind}"] = {detection_task: steps.reference(kind, settings)}
        prediction_keys[f"cnn-{kind}"] = layout.cnn_predictions_key(plan.eval_id, kind)
    board = write_leaderboard(store, plan.eval_id, entries, rows, {c.row: c.spec for c in plan.candidates}, usage)
    detection = {row: by_task[detection_task] for row, by_task in rows.items() if detection_task in by_task}
    first_report = report_tasks[0] if report_tasks else None
    reports = {row: by_task[first_report] for row, by_task in rows.items() if first_report in by_task}
    metrics = write_table_one(
        store, plan.eval_id, detection, reports, plan.example_image, pages, prediction_keys, board
    )
    return Evaluation(plan.eval_id, metrics)


def candidate_answers(store, plan: EvaluationPlan, candidate: Candidate, pages: dict | None, api_key: str | None):
    """How `candidate` answers: its Mllama weights on the evaluation's pages, or its endpoint (answers cached in
    eval/answer-cache/)."""
    from ecg_core.evaluate.candidate_answers import EndpointAnswers, MllamaAnswers  # torch, only when answering
    from ecg_core.reading.stored import StoredMllama

    if candidate.is_mllama:
        reader = replace(plan.reader(store, candidate), pages=PagePreprocessing(pages["max_tiles"], pages["page_fit"]))
        return MllamaAnswers(StoredMllama(store, reader), plan.batch_size)
    cache = StoreCache(store, layout.answer_cache_prefix())
    return EndpointAnswers(candidate.target, plan.endpoint, api_key, cache, store.get_bytes)
