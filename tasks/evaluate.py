"""Evaluation tasks, thin over ecg_core.evaluate.evaluation: each task's questions, each candidate's answers
(resumable), the report judge, then the leaderboard, metrics.json with the Table-I report, ROC curves and their
artifacts."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.evaluate import evaluation
from ecg_core.evaluate.candidate_answers import EndpointAnswers, MllamaAnswers
from ecg_core.evaluate.candidates import Candidate
from ecg_core.evaluate.endpoint import EndpointConfig, StoreCache
from ecg_core.evaluate.evaluation import CandidateResult
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.evaluate.leaderboard import leaderboard, leaderboard_markdown, leaderboard_rows
from ecg_core.evaluate.results import evaluation_metrics, roc_inputs
from ecg_core.evaluate.table import headline_rows, report_table, table_one
from ecg_core.labels import SUPERCLASSES
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.plots import per_label_f1_png, roc_curves_png
from tasks.artifacts import artifact_key, publishing, stored_image
from tasks.storage import open_store


def _secret(block: str | None) -> str | None:
    """The API key from a Prefect Secret block (else the client reads OPENAI_API_KEY); it goes to the client only."""
    if not block:
        return None
    from prefect.blocks.system import Secret

    return Secret.load(block).get()


@task
def prepare_tasks(store_uri: str, eval_id: str, task_ids: list[str], instruct: str | None) -> list[dict]:
    """Each task's questions under eval/<eval_id>/ (ecg_core.evaluate.evaluation); the tasks' leaderboard entries."""
    return evaluation.prepare_tasks(open_store(store_uri), eval_id, task_ids, instruct, get_run_logger())


@task
def page_preprocessing(
    store_uri: str, eval_id: str, model_dir: str, run_id: str | None, max_tiles: int | None, page_fit: str | None
) -> dict:
    """How Mllama rows see pages: the run's, kept in eval/<eval_id>/preprocessing.json."""
    chosen = evaluation.chosen_pages(open_store(store_uri), eval_id, model_dir, run_id, max_tiles, page_fit)
    get_run_logger().info("pages: %s", chosen)
    return chosen


@task(tags=["gpu"])
def answer_with_mllama(
    store_uri: str,
    eval_id: str,
    candidate: Candidate,
    model_dir: str,
    task_ids: list[str],
    preprocessing: dict,
    batch_size: int,
) -> CandidateResult:
    """An Mllama candidate (base, or base + a run's adapter) on every task; the model is loaded once, and only
    when some answer is still missing."""
    store = open_store(store_uri)
    pages = PagePreprocessing(preprocessing["max_tiles"], preprocessing["page_fit"])
    adapter = str(store.local_dir(layout.adapter_prefix(candidate.target))) if candidate.kind == "run" else None
    answers = MllamaAnswers(model_dir, adapter, pages, store.local_dir(""), batch_size)
    return evaluation.answer_tasks(store, eval_id, candidate, answers, task_ids, get_run_logger())


@task(tags=["api"])
def answer_with_endpoint(
    store_uri: str, eval_id: str, candidate: Candidate, endpoint: EndpointConfig, task_ids: list[str]
) -> CandidateResult:
    """An API candidate (a vision chat model at an OpenAI-compatible endpoint) on every task, with token and cost
    totals; answers are cached in eval/answer-cache/."""
    store = open_store(store_uri)
    cache = StoreCache(store, layout.answer_cache_prefix())
    answers = EndpointAnswers(candidate.target, endpoint, _secret(endpoint.api_key_block), cache, store.get_bytes)
    return evaluation.answer_tasks(store, eval_id, candidate, answers, task_ids, get_run_logger())


@task(tags=["judge"])
def judge_task_reports(store_uri: str, eval_id: str, task_id: str, candidate: Candidate, judge: JudgeConfig) -> dict:
    """The LLM judge over one candidate's reports on one task; the key comes from OPENAI_API_KEY or the judge's
    Prefect Secret block."""
    store = open_store(store_uri)
    api_key = _secret(judge.api_key_block)
    return evaluation.judge_task(store, eval_id, task_id, candidate, judge, api_key, get_run_logger())


@task
def write_leaderboard(
    store_uri: str, eval_id: str, tasks: list[dict], rows: dict, candidates: dict, usage: dict
) -> dict:
    """leaderboard.json and .md under eval/<eval_id>/, each task's metrics.json, and a Prefect table artifact."""
    store = open_store(store_uri)
    for entry in tasks:
        one = evaluation.task_of(store, entry["task"])
        by_row = {row: by_task[entry["task"]] for row, by_task in rows.items() if entry["task"] in by_task}
        store.put_json(layout.task_metrics_key(*evaluation.task_keys(eval_id, one)), {"task": entry, "rows": by_row})
    board = leaderboard(eval_id, tasks, rows) | {"candidates": candidates, "api_usage": usage}
    store.put_json(layout.leaderboard_key(eval_id), board)
    markdown = leaderboard_markdown(board)
    store.put_bytes(layout.leaderboard_md_key(eval_id), markdown.encode())
    with publishing(f"the leaderboard of {eval_id}", store.url(layout.leaderboard_md_key(eval_id))):
        create_table_artifact(
            table=leaderboard_rows(board),
            key=artifact_key("eval", eval_id, "leaderboard"),
            description=f"Leaderboard {eval_id}: candidates x tasks, percent with 95% intervals, report score 0-100 "
            "(measured here; published figures in leaderboard.md)",
        )
    return board


@task
def write_report(
    store_uri: str,
    eval_id: str,
    detection: dict,
    reports: dict,
    example_image: str | None,
    preprocessing: dict | None,
    prediction_keys: dict,
    board: dict,
) -> dict:
    """metrics.json (Table I: the PTB-XL superclass task and the report task), table.md, ROC curves and
    per-label F1 under eval/<eval_id>/, mirrored as Prefect artifacts."""
    store = open_store(store_uri)
    metrics = evaluation_metrics(detection, reports, preprocessing, example_image, board)
    store.put_json(layout.metrics_key(eval_id), metrics)
    table = table_one(metrics) + "\n" + report_table(metrics)
    store.put_bytes(layout.table_key(eval_id), table.encode())
    pictures = []
    if detection:
        chart, roc = layout.per_label_f1_key(eval_id), layout.roc_curves_key(eval_id)
        store.put_bytes(chart, per_label_f1_png(detection, "abnormality detection, per-label F1"))
        predictions = {name: store.get_jsonl(key) for name, key in prediction_keys.items()}
        with_scores = {name: rows for name, rows in predictions.items() if rows and all("scores" in r for r in rows)}
        store.put_bytes(
            roc,
            roc_curves_png(
                roc_inputs(with_scores, SUPERCLASSES),
                list(SUPERCLASSES),
                "ROC per label (scores from the answer likelihood)",
            ),
        )
        pictures = [stored_image(store, roc, "ROC curves"), stored_image(store, chart, "per-label F1")]
    if example_image:
        pictures.append(stored_image(store, example_image, "example input image"))
    with publishing(f"Table I of {eval_id}", store.url(layout.table_key(eval_id))):
        if detection:
            create_table_artifact(
                table=headline_rows(metrics),
                key=artifact_key("eval", eval_id, "table"),
                description="Abnormality detection (PTB-XL superclasses, 95% intervals) and report generation "
                "on the test split",
            )
        create_markdown_artifact(
            markdown=f"# Evaluation `{eval_id}`\n\n{table}\n" + "\n\n".join(pictures),
            key=artifact_key("eval", eval_id, "report"),
        )
    return metrics
