"""An evaluation in one call: `evaluate(store, plan, steps, log)` answers a plan (candidates x benchmarks) and
returns a typed `Evaluation`. Everything lands under `eval/<eval_id>/` (questions, predictions, judgements, each
benchmark's metrics, the leaderboard, Table I with its ROC curves) and a second call resumes from what is there.

What an evaluation compares, one leaderboard row each, from `--candidates`:

    base              the Mllama checkpoint of --model, untrained for ECGs      row "baseline"
    run:<run_id>      that checkpoint + the run's adapter                       row "finetuned" ("finetuned:<run_id>"
                                                                                when several runs are compared)
    champion          the registry's champion: its adapter in registry/,       row "champion"
                      on the base model it was trained on
    openai:<model>    any OpenAI-compatible chat endpoint that reads images     row "openai:<model>"
                      (GPT-4o, or a vLLM/TGI server of another VLM)

Every Mllama row reads the same pages (eval/<eval_id>/preprocessing.json): the first run's, else the champion's,
else the checkpoint's. The heavy steps (a candidate answering every benchmark, the judge over one candidate's
reports, a reference CNN) come from `steps`: the evaluate flow passes Prefect tasks tagged gpu, api and judge, so
that work pools and limits see them, and each calls back into `answer_candidate` or `judge_benchmark` here; a
script can pass plain functions. Pure of Prefect: `log` is whatever logger the caller gives."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ecg_core import layout
from ecg_core.evaluate.answering import Answers, EndpointAnswers, MllamaAnswers, check_label_set
from ecg_core.evaluate.benchmarks import Benchmark, benchmark_questions, default_benchmarks, resolve
from ecg_core.evaluate.endpoint import EndpointConfig, StoreCache, is_credentialed
from ecg_core.evaluate.grading import benchmark_metrics, mean_interval
from ecg_core.evaluate.judge import JudgeConfig, judge_reports
from ecg_core.evaluate.leaderboard import (
    evaluation_metrics,
    leaderboard,
    leaderboard_markdown,
    report_entry,
    report_table,
    roc_inputs,
    table_one,
)
from ecg_core.labels import SUPERCLASSES
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.plots import per_label_f1_png, roc_curves_png
from ecg_core.reading.reader import Reader, choose_reader
from ecg_core.reading.stored import StoredMllama
from ecg_core.resumable import resume

KINDS = ("base", "run", "champion", "openai")
UNTARGETED = ("base", "champion")  # named without a target


@dataclass(frozen=True)
class Candidate:
    kind: str  # one of KINDS
    target: str | None  # the run id or the endpoint's model name
    row: str  # its name in tables and files

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @property
    def slug(self) -> str:
        """The row as a file-name part: an endpoint model may be "meta-llama/Llama-3.2-11B-Vision-Instruct"."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.row)

    @property
    def is_mllama(self) -> bool:
        return self.kind != "openai"


def parse_candidates(specs: list[str]) -> list[Candidate]:
    """Candidates from their specs, in order; a malformed or repeated spec raises, naming it and the forms."""
    parsed = []
    for spec in specs:
        kind, _, target = spec.partition(":")
        if kind not in KINDS or (kind in UNTARGETED) != (target == ""):
            raise ValueError(f"candidate {spec!r}: expected base, run:<run_id>, champion or openai:<model>")
        parsed.append((kind, target or None))
    if len(set(parsed)) != len(parsed):
        raise ValueError(f"candidates {specs}: each may be named once")
    several_runs = sum(kind == "run" for kind, _ in parsed) > 1
    rows = {
        "base": lambda _: "baseline",
        "run": lambda t: f"finetuned:{t}" if several_runs else "finetuned",
        "champion": lambda _: "champion",
    }
    return [Candidate(kind, target, rows.get(kind, lambda t: f"openai:{t}")(target)) for kind, target in parsed]


@dataclass(frozen=True)
class EvaluationPlan:
    """What one evaluation answers and how; the evaluate flow's arguments, with the candidates parsed."""

    eval_id: str  # names the output: eval/<eval_id>/
    candidates: tuple[Candidate, ...]  # the leaderboard's rows, in order
    benchmarks: tuple[str, ...] = ()  # <set>/<benchmark> ids; empty: the paper's benchmarks of `instruct`
    instruct: str | None = None  # the instruction set of benchmarks named without one
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
        model_dir = None if candidate.kind == "champion" else self.model
        return choose_reader(store, candidate.kind, candidate.target, model_dir, **pages)

    def pages(self, store) -> Reader:
        """The reader whose pages every Mllama row reads: the first run's (runs/<run_id>/config.json), else the
        champion's, else the base checkpoint's; `max_tiles` and `page_fit` may repeat a run's, never contradict it."""
        mllama = [c for c in self.candidates if c.is_mllama]
        source = min(mllama, key=lambda c: ("run", "champion", "base").index(c.kind))
        return self.reader(store, source, max_tiles=self.max_tiles, page_fit=self.page_fit)


@dataclass(frozen=True)
class CandidateResult:
    """One candidate on every benchmark: each benchmark's metrics by id, and what an endpoint billed (None for a
    local model)."""

    benchmarks: dict[str, dict]
    usage: dict | None


@dataclass(frozen=True)
class Steps:
    """The heavy steps of an evaluation, each a function of what it works on. The evaluate flow's are Prefect
    tasks (tasks/evaluate.py) that call back into this module (`answer_candidate`, `judge_benchmark`), so the
    work runs where pools and limits see it while what it does stays here."""

    answer: Callable[[Candidate, tuple[Benchmark, ...], dict | None], CandidateResult]  # a row on every benchmark
    judge: Callable[[Benchmark, Candidate], dict]  # the judge over one row's reports on one benchmark
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
    """Every candidate of `plan` on every benchmark, judged when a judge is named; the leaderboard and Table I
    (the first PTB-XL superclass benchmark, the reference CNNs beside it, and the first report benchmark)."""
    named = list(plan.benchmarks or default_benchmarks(store, plan.instruct))
    benchmarks = tuple(resolve(store, named, plan.instruct))
    entries = prepare_benchmarks(store, plan.eval_id, benchmarks, log)
    pages = None
    if any(c.is_mllama for c in plan.candidates):
        pages = chosen_pages(store, plan.eval_id, plan.pages(store))
        log.info("pages: %s", pages)
    answered = {c.row: steps.answer(c, benchmarks, pages) for c in plan.candidates}
    rows = {row: result.benchmarks for row, result in answered.items()}
    usage = {row: result.usage for row, result in answered.items() if result.usage}
    reports = [b for b in benchmarks if b.kind.metric == "report"]
    for c in plan.candidates:  # the label-based score stays beside the judge's, under "labels"
        for benchmark in reports:
            judged = steps.judge(benchmark, c) if plan.judge else None
            rows[c.row][benchmark.id] = report_entry(rows[c.row][benchmark.id], judged)

    detection = next((b for b in benchmarks if b.kind.name == "ptbxl-super"), None)
    prediction_keys = {
        c.row: layout.predictions_key(*benchmark_keys(plan.eval_id, detection), c.slug)
        for c in plan.candidates
        if detection
    }
    for kind, settings in plan.references.items() if detection else ():
        rows[f"cnn-{kind}"] = {detection.id: steps.reference(kind, settings)}
        prediction_keys[f"cnn-{kind}"] = layout.cnn_predictions_key(plan.eval_id, kind)
    candidates = {c.row: c.spec for c in plan.candidates}
    board = write_leaderboard(store, plan.eval_id, benchmarks, entries, rows, candidates, usage)
    first_report = reports[0].id if reports else None
    metrics = write_table_one(
        store,
        plan.eval_id,
        {row: by_id[detection.id] for row, by_id in rows.items() if detection and detection.id in by_id},
        {row: by_id[first_report] for row, by_id in rows.items() if first_report in by_id},
        plan.example_image,
        pages,
        prediction_keys,
        board,
    )
    return Evaluation(plan.eval_id, metrics)


def benchmark_keys(eval_id: str, benchmark: Benchmark) -> tuple[str, str, str]:
    """Where a benchmark's files are under eval/<eval_id>/: (eval id, instruction set, benchmark name)."""
    return eval_id, benchmark.instruct, benchmark.kind.name


def prepare_benchmarks(store, eval_id: str, benchmarks: tuple[Benchmark, ...], log) -> list[dict]:
    """Each benchmark's questions, with their pages, in eval/<eval_id>/<set>/<benchmark>/questions.jsonl and those
    left out, with the reason, in skipped.jsonl; returns the benchmarks' leaderboard entries, in order."""
    entries, tests = [], {}
    for benchmark in benchmarks:
        if benchmark.instruct not in tests:
            tests[benchmark.instruct] = store.get_jsonl(layout.split_key(benchmark.instruct, "test"))
        questions, skipped = benchmark_questions(store, benchmark, tests[benchmark.instruct])
        keys = benchmark_keys(eval_id, benchmark)
        store.put_jsonl(layout.questions_key(*keys), questions)
        store.put_jsonl(layout.benchmark_skipped_key(*keys), skipped)
        if skipped:
            where = layout.benchmark_skipped_key(*keys)
            log.warning("%s: %d question(s) skipped, reasons in %s", benchmark.id, len(skipped), where)
        entries.append(
            {"task": benchmark.id, "title": benchmark.kind.title, "metric": benchmark.kind.metric}
            | {"questions": len(questions), "skipped": len(skipped), "kind": benchmark.kind.name}
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


def candidate_answers(store, plan: EvaluationPlan, candidate: Candidate, pages: dict | None, api_key: str | None):
    """How `candidate` answers: its Mllama weights on the evaluation's pages, or its endpoint (answers cached in
    eval/answer-cache/)."""
    if candidate.is_mllama:
        reader = replace(plan.reader(store, candidate), pages=PagePreprocessing(pages["max_tiles"], pages["page_fit"]))
        return MllamaAnswers(StoredMllama(store, reader), plan.batch_size)
    cache = StoreCache(store, layout.answer_cache_prefix())
    return EndpointAnswers(candidate.target, plan.endpoint, api_key, cache, store.get_bytes)


def answer_candidate(
    store,
    plan: EvaluationPlan,
    candidate: Candidate,
    benchmarks: tuple[Benchmark, ...],
    pages: dict | None,
    api_key: str | None,
    log,
) -> CandidateResult:
    """`candidate` on every benchmark, as an evaluate flow's answering task runs it: its answers
    (`candidate_answers`), resumed and graded (`answer_benchmarks`)."""
    answers = candidate_answers(store, plan, candidate, pages, api_key)
    return answer_benchmarks(store, plan.eval_id, candidate, answers, benchmarks, log)


def answer_benchmarks(
    store, eval_id: str, candidate: Candidate, answers: Answers, benchmarks: tuple[Benchmark, ...], log
) -> CandidateResult:
    """The candidate's answers to every benchmark, each resumed from its stored predictions (failed answers asked
    again) and saved every `answers.chunk` questions; each benchmark's metrics."""
    results = {}
    for benchmark in benchmarks:
        keys = benchmark_keys(eval_id, benchmark)
        key = layout.predictions_key(*keys, candidate.slug)
        questions = store.get_jsonl(layout.questions_key(*keys))
        done = [r for r in (store.get_jsonl(key) if store.exists(key) else []) if not r.get("error")]
        check_label_set(done, key, benchmark.kind.name)
        if done:
            log.info("%s: %d of %d answers already there, resuming", key, len(done), len(questions))
        rows = resume(
            questions,
            done,
            lambda chunk, benchmark=benchmark: answers(benchmark, chunk),
            lambda rows: store.put_jsonl(key, rows),
            answers.chunk,
        )
        results[benchmark.id] = benchmark_metrics(benchmark, rows)
        log.info("%s on %s: %s", candidate.row, benchmark.id, headline(results[benchmark.id]))
    usage = answers.usage()
    if usage:
        log.info("%s: %s", candidate.row, usage)
    return CandidateResult(results, usage)


def headline(metrics: dict) -> str:
    shown = ("auc", "macro_f1", "hamming", "accuracy", "score", "n_unparsed", "n")
    return ", ".join(
        f"{k} {metrics[k]:.3f}" if isinstance(metrics[k], float) else f"{k} {metrics[k]}" for k in shown if k in metrics
    )


def judge_benchmark(
    store, eval_id: str, benchmark: Benchmark, candidate: Candidate, judge: JudgeConfig, api_key: str | None, log
) -> dict:
    """The LLM judge over one candidate's reports on one benchmark: judge-<row>.jsonl and the summary (with a 95%
    interval of the mean)."""
    keys = benchmark_keys(eval_id, benchmark)
    rows = store.get_jsonl(layout.predictions_key(*keys, candidate.slug))
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
        policy=judge.policy,
    )
    store.put_jsonl(layout.judgements_key(*keys, candidate.slug), result.results)
    summary = result.summary | {"ci95": mean_interval([r["score"] for r in result.results if not r["failed"]])}
    log.info(
        "judge %s on %s, %s: mean %s over %d, %d failed, %d cached, %d+%d tokens, cost %s USD",
        summary["model"],
        candidate.row,
        benchmark.id,
        summary["mean_score"],
        summary["n_scored"],
        summary["n_failed"],
        summary["n_cached"],
        summary["prompt_tokens"],
        summary["completion_tokens"],
        summary["cost_usd"],
    )
    return summary


def write_leaderboard(
    store,
    eval_id: str,
    benchmarks: tuple[Benchmark, ...],
    entries: list[dict],
    rows: dict,
    candidates: dict,
    usage: dict,
) -> dict:
    """Each benchmark's metrics.json (`entries`: their leaderboard entries, in the same order) and leaderboard.json
    and .md under eval/<eval_id>/; returns the leaderboard."""
    for benchmark, entry in zip(benchmarks, entries, strict=True):
        by_row = {row: by_id[benchmark.id] for row, by_id in rows.items() if benchmark.id in by_id}
        store.put_json(
            layout.benchmark_metrics_key(*benchmark_keys(eval_id, benchmark)), {"task": entry, "rows": by_row}
        )
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
    """metrics.json (Table I: the PTB-XL superclass benchmark and the report benchmark, and the leaderboard), table.md,
    and with a detection benchmark its ROC curves and per-label F1 under eval/<eval_id>/; returns the metrics."""
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
