"""Evaluation tasks, thin over ecg_core.evaluate: the heavy steps of `evaluation.evaluate` as Prefect tasks
(tagged gpu, api and judge, so that pools and limits see them), with API keys from Prefect Secret blocks, and
the evaluation's artifacts: the leaderboard, Table I, ROC curves.

A candidate's answers make one round trip: `evaluate` (the library) hands each candidate and the resolved
benchmarks to `Steps.answer`, here a tagged task, which calls the library's `answer_candidate` and returns its
metrics. The trip is what lets Prefect place the work (a gpu or api slot) while the library keeps the order."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.cnn import CnnConfig
from ecg_core.evaluate.benchmarks import Benchmark
from ecg_core.evaluate.evaluation import (
    Candidate,
    CandidateResult,
    Evaluation,
    EvaluationPlan,
    Steps,
    answer_candidate,
    judge_benchmark,
)
from ecg_core.evaluate.leaderboard import headline_rows, leaderboard_rows
from tasks.artifacts import artifact_key, publishing, stored_image
from tasks.cnn import cnn_row
from tasks.storage import open_store


def _secret(block: str | None) -> str | None:
    """The API key from a Prefect Secret block (else the client reads OPENAI_API_KEY); it goes to the client only."""
    if not block:
        return None
    from prefect.blocks.system import Secret

    return Secret.load(block).get()


def prefect_steps(store_uri: str, plan: EvaluationPlan) -> Steps:
    """The evaluation's heavy steps as the tasks below."""

    def answer(candidate: Candidate, benchmarks: tuple[Benchmark, ...], pages: dict | None) -> CandidateResult:
        by = answer_with_mllama if candidate.is_mllama else answer_with_endpoint
        return by(store_uri, plan, candidate, benchmarks, pages)

    def reference(kind: str, settings: dict) -> dict:
        datasets = list(plan.reference_datasets)
        config = CnnConfig.from_mapping(settings, f"cnns.{kind}")  # the plan's record keeps the keys
        return cnn_row(store_uri=store_uri, kind=kind, datasets=datasets, name=plan.eval_id, settings=config)

    return Steps(answer, lambda benchmark, c: judge_benchmark_reports(store_uri, plan, benchmark, c), reference)


@task(tags=["gpu"])
def answer_with_mllama(
    store_uri: str, plan: EvaluationPlan, candidate: Candidate, benchmarks: tuple[Benchmark, ...], pages: dict
) -> CandidateResult:
    """An Mllama row (base, base + a run's adapter, the champion) on every benchmark; the model is loaded once,
    and only when some answer is still missing."""
    store = open_store(store_uri)
    return answer_candidate(store, plan, candidate, benchmarks, pages, None, get_run_logger())


@task(tags=["api"])
def answer_with_endpoint(
    store_uri: str, plan: EvaluationPlan, candidate: Candidate, benchmarks: tuple[Benchmark, ...], pages: None
) -> CandidateResult:
    """An API row (a vision chat model at an OpenAI-compatible endpoint) on every benchmark, with token and cost
    totals; answers are cached in eval/answer-cache/."""
    store, api_key = open_store(store_uri), _secret(plan.endpoint.api_key_block)
    return answer_candidate(store, plan, candidate, benchmarks, pages, api_key, get_run_logger())


@task(tags=["judge"])
def judge_benchmark_reports(store_uri: str, plan: EvaluationPlan, benchmark: Benchmark, candidate: Candidate) -> dict:
    """The LLM judge over one row's reports on one benchmark; the key comes from OPENAI_API_KEY or the judge's
    Prefect Secret block."""
    store, api_key = open_store(store_uri), _secret(plan.judge.api_key_block)
    return judge_benchmark(store, plan.eval_id, benchmark, candidate, plan.judge, api_key, get_run_logger())


@task
def publish_evaluation(store_uri: str, evaluation: Evaluation) -> None:
    """The leaderboard as a Prefect table artifact, Table I as a table and a report with its pictures."""
    store, eval_id, metrics = open_store(store_uri), evaluation.eval_id, evaluation.metrics
    with publishing(f"the leaderboard of {eval_id}", store.url(layout.leaderboard_md_key(eval_id))):
        create_table_artifact(
            table=leaderboard_rows(evaluation.leaderboard),
            key=artifact_key("eval", eval_id, "leaderboard"),
            description=f"Leaderboard {eval_id}: candidates x benchmarks, percent with 95% intervals, report score 0-100 "
            "(measured here; published figures in leaderboard.md)",
        )
    pictures = []
    if evaluation.detection:
        pictures = [
            stored_image(store, layout.roc_curves_key(eval_id), "ROC curves"),
            stored_image(store, layout.per_label_f1_key(eval_id), "per-label F1"),
        ]
    if metrics["example_image"]:
        pictures.append(stored_image(store, metrics["example_image"], "example input image"))
    with publishing(f"Table I of {eval_id}", store.url(layout.table_key(eval_id))):
        if evaluation.detection:
            create_table_artifact(
                table=headline_rows(metrics),
                key=artifact_key("eval", eval_id, "table"),
                description="Abnormality detection (PTB-XL superclasses, 95% intervals) and report generation "
                "on the test split",
            )
        table = store.get_bytes(layout.table_key(eval_id)).decode()
        create_markdown_artifact(
            markdown=f"# Evaluation `{eval_id}`\n\n{table}\n" + "\n\n".join(pictures),
            key=artifact_key("eval", eval_id, "report"),
        )
