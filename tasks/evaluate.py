"""Evaluation tasks: each task's questions, each candidate's answers (resumable), the report judge, then the
task metrics, the leaderboard, metrics.json with the Table-I report, ROC curves and their artifacts."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ecg_core import layout
from ecg_core.evaluate.api_model import ask_model
from ecg_core.evaluate.benchmark_tasks import Task, resolve
from ecg_core.evaluate.candidates import Candidate
from ecg_core.evaluate.detection import check_label_set, predict
from ecg_core.evaluate.endpoint import EndpointConfig, StoreCache, cost_usd
from ecg_core.evaluate.grading import answer_tokens, prediction_row, question, task_metrics
from ecg_core.evaluate.judge import JudgeConfig, judge_reports
from ecg_core.evaluate.leaderboard import leaderboard, leaderboard_markdown, leaderboard_rows
from ecg_core.evaluate.metrics import mean_interval
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.evaluate.questions import task_questions
from ecg_core.evaluate.results import evaluation_metrics, roc_inputs
from ecg_core.evaluate.table import headline_rows, report_table, table_one
from ecg_core.labels import SUPERCLASSES
from ecg_core.model import load_model_and_processor
from ecg_core.model.page_tiles import PagePreprocessing, checkpoint_tiles, evaluation_pages
from ecg_core.plots import per_label_f1_png, roc_curves_png
from ecg_core.resumable import resume
from tasks.artifacts import artifact_key, publishing, stored_image
from tasks.storage import open_store

API_CHUNK = 32  # questions sent to an endpoint between two saves of the predictions


def _task(store, task_id: str) -> Task:
    return resolve(store, [task_id], None)[0]


def _keys(eval_id: str, task: Task) -> tuple[str, str, str]:
    return eval_id, task.instruct, task.kind.name


def _secret(block: str | None) -> str | None:
    """The API key from a Prefect Secret block (else the client reads OPENAI_API_KEY); it goes to the client only."""
    if not block:
        return None
    from prefect.blocks.system import Secret

    return Secret.load(block).get()


@task
def prepare_tasks(store_uri: str, eval_id: str, task_ids: list[str], instruct: str | None) -> list[dict]:
    """Each task's questions, with their pages, in eval/<eval_id>/<set>/<task>/questions.jsonl and those left
    out, with the reason, in skipped.jsonl; returns the tasks' leaderboard entries."""
    store = open_store(store_uri)
    entries, tests = [], {}
    for one in resolve(store, task_ids, instruct):
        if one.instruct not in tests:
            tests[one.instruct] = store.get_jsonl(layout.split_key(one.instruct, "test"))
        questions, skipped = task_questions(store, one, tests[one.instruct])
        store.put_jsonl(layout.questions_key(*_keys(eval_id, one)), questions)
        store.put_jsonl(layout.task_skipped_key(*_keys(eval_id, one)), skipped)
        if skipped:
            get_run_logger().warning(
                "%s: %d question(s) skipped, reasons in %s",
                one.id,
                len(skipped),
                layout.task_skipped_key(*_keys(eval_id, one)),
            )
        entries.append(
            {"task": one.id, "title": one.kind.title, "metric": one.kind.metric, "questions": len(questions)}
            | {"skipped": len(skipped), "kind": one.kind.name}
        )
    return entries


@task
def page_preprocessing(
    store_uri: str, eval_id: str, model_dir: str, run_id: str | None, max_tiles: int | None, page_fit: str | None
) -> dict:
    """How evaluation fits pages to tiles: the run's (runs/<run_id>/config.json), for every Mllama row.
    Kept in eval/<eval_id>/preprocessing.json; predictions made there with other settings are refused."""
    store = open_store(store_uri)
    run_key = layout.run_config_key(run_id) if run_id else None
    tile, checkpoint_max_tiles = checkpoint_tiles(model_dir)
    pages = evaluation_pages(
        store.get_json(run_key) if run_key else None, run_key, max_tiles, page_fit, checkpoint_max_tiles
    )
    chosen = pages.describe(tile) | {"from": run_key or "options"}
    key = layout.preprocessing_key(eval_id)
    if store.exists(key) and {k: v for k, v in store.get_json(key).items() if k != "from"} != pages.describe(tile):
        raise ValueError(
            f"{key}: predictions there were made with {store.get_json(key)}, not {chosen}; "
            f"use another eval id (or delete {layout.eval_prefix(eval_id)}/)"
        )
    store.put_json(key, chosen)
    get_run_logger().info("pages: %s", chosen)
    return chosen


def _answered(store, eval_id: str, one: Task, candidate: Candidate, predict_chunk, chunk: int) -> dict:
    """The candidate's prediction rows on one task, resumed from what is stored (failed answers asked again),
    and their metrics."""
    key = layout.predictions_key(*_keys(eval_id, one), candidate.slug)
    questions = store.get_jsonl(layout.questions_key(*_keys(eval_id, one)))
    done = [r for r in (store.get_jsonl(key) if store.exists(key) else []) if not r.get("error")]
    check_label_set(done, key, one.kind.name)
    if done:
        get_run_logger().info("%s: %d of %d answers already there, resuming", key, len(done), len(questions))
    rows = resume(questions, done, predict_chunk, lambda rows: store.put_jsonl(key, rows), chunk)
    metrics = task_metrics(one, rows)
    get_run_logger().info("%s on %s: %s", candidate.row, one.id, _headline(metrics))
    return metrics


def _headline(metrics: dict) -> str:
    shown = ("auc", "macro_f1", "hamming", "accuracy", "score", "n_unparsed", "n")
    return ", ".join(
        f"{k} {metrics[k]:.3f}" if isinstance(metrics[k], float) else f"{k} {metrics[k]}" for k in shown if k in metrics
    )


@task(tags=["gpu"])
def answer_with_mllama(
    store_uri: str,
    eval_id: str,
    candidate: Candidate,
    model_dir: str,
    task_ids: list[str],
    preprocessing: dict,
    batch_size: int,
) -> dict:
    """An Mllama candidate (base, or base + a run's adapter) on every task: {"tasks": {task id: metrics}}. The
    model is loaded once, and only when some answer is still missing."""
    store = open_store(store_uri)
    pages = PagePreprocessing(preprocessing["max_tiles"], preprocessing["page_fit"])
    adapter = str(store.local_dir(layout.adapter_prefix(candidate.target))) if candidate.kind == "run" else None
    model, processor = None, None
    root = store.local_dir("")

    def loaded():
        nonlocal model, processor
        if model is None:
            model, processor = load_model_and_processor(model_dir, adapter=adapter, tile_slots=pages.max_tiles)
        return model, processor

    results = {}
    for task_id in task_ids:
        one = _task(store, task_id)
        results[task_id] = _answered(
            store,
            eval_id,
            one,
            candidate,
            lambda chunk, one=one: predict(*loaded(), one, chunk, root, pages=pages, batch_size=batch_size),
            chunk=64,
        )
    return {"tasks": results, "usage": None}


@task(tags=["api"])
def answer_with_endpoint(
    store_uri: str, eval_id: str, candidate: Candidate, endpoint: EndpointConfig, task_ids: list[str]
) -> dict:
    """An API candidate (a vision chat model at an OpenAI-compatible endpoint) on every task: {"tasks": {task id:
    metrics}, "usage": token and cost totals}. Answers are cached in eval/answer-cache/."""
    store = open_store(store_uri)
    api_key = _secret(endpoint.api_key_block)
    cache = StoreCache(store, layout.answer_cache_prefix())
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "n_asked": 0, "n_cached": 0, "n_failed": 0}
    results = {}
    for task_id in task_ids:
        one = _task(store, task_id)
        labels = one.kind.labels if one.kind.metric == "multilabel" else ()

        def ask(chunk: list[dict], one=one, labels=labels) -> list[dict]:
            items = [
                {"id": s["id"], "question": question(s), "image": store.get_bytes(s["image"])}
                | {"credentialed": is_credentialed(s)}
                for s in chunk
            ]
            answers, summary = ask_model(
                items,
                model=candidate.target,
                max_tokens=answer_tokens(one),
                labels=labels,
                base_url=endpoint.base_url,
                api_key=api_key,
                cache=cache,
                allow_credentialed_remote=endpoint.allow_credentialed_remote,
            )
            usage.update(
                {k: usage[k] + summary[k] for k in ("prompt_tokens", "completion_tokens", "n_cached", "n_failed")}
            )
            usage["n_asked"] += summary["n"]
            return [
                prediction_row(one, s, a["answer"], a["scores"]) | ({"error": a["error"]} if a["error"] else {})
                for s, a in zip(chunk, answers)
            ]

        results[task_id] = _answered(store, eval_id, one, candidate, ask, chunk=API_CHUNK)
    usage["cost_usd"] = cost_usd(candidate.target, usage["prompt_tokens"], usage["completion_tokens"])
    get_run_logger().info("%s: %s", candidate.row, usage)
    return {"tasks": results, "usage": usage}


@task(tags=["judge"])
def judge_task_reports(store_uri: str, eval_id: str, task_id: str, candidate: Candidate, judge: JudgeConfig) -> dict:
    """The LLM judge over one candidate's reports on one task: judge-<row>.jsonl and the summary (with a 95%
    interval of the mean). The key comes from OPENAI_API_KEY or the judge's Prefect Secret block."""
    store = open_store(store_uri)
    one = _task(store, task_id)
    rows = store.get_jsonl(layout.predictions_key(*_keys(eval_id, one), candidate.slug))
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
        api_key=_secret(judge.api_key_block),
        cache=StoreCache(store, layout.judge_cache_prefix()),
        vision=judge.vision,
        allow_credentialed_remote=judge.allow_credentialed_remote,
    )
    store.put_jsonl(layout.judgements_key(*_keys(eval_id, one), candidate.slug), result.results)
    summary = result.summary | {"ci95": mean_interval([r["score"] for r in result.results if not r["failed"]])}
    get_run_logger().info(
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


@task
def write_leaderboard(
    store_uri: str, eval_id: str, tasks: list[dict], rows: dict, candidates: dict, usage: dict
) -> dict:
    """leaderboard.json and .md under eval/<eval_id>/, each task's metrics.json, and a Prefect table artifact."""
    store = open_store(store_uri)
    for entry in tasks:
        one = _task(store, entry["task"])
        by_row = {row: by_task[entry["task"]] for row, by_task in rows.items() if entry["task"] in by_task}
        store.put_json(layout.task_metrics_key(*_keys(eval_id, one)), {"task": entry, "rows": by_row})
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
