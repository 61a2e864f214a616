"""Evaluate: candidates x tasks -> `eval/<eval_id>/`. Candidates are the base Mllama, base + a run's adapter,
and any vision chat model at an OpenAI-compatible endpoint; tasks are ECGBench's (PTB-XL super and report,
CODE-15%, CPSC 2018, CSN, G12EC, MMMU-ECG, ECG-QA ...) from our instruction sets or imported ECGBench files.
Out come each task's predictions and metrics, one leaderboard (with the published figures apart), and the
paper's Table I (metrics.json, table.md, ROC curves). Answers already in the store are reused, so a re-run
(say, with the judge switched on, or one more candidate) only does what is new.

    ecgflow evaluate --list-tasks --store ./demo-store
    ecgflow evaluate --eval-id demo --model ./demo-store/models/tiny-mllama-demo --instruct demo \
        --candidates base run:demo --store ./demo-store
    ecgflow evaluate --eval-id bench --tasks ecgbench/ptbxl-report demo/ptbxl-super \
        --candidates openai:gpt-4o --store ./store      # OPENAI_BASE_URL / OPENAI_API_KEY from the environment
    ecgflow judge --eval-id demo --model ./demo-store/models/tiny-mllama-demo --instruct demo \
        --candidates base run:demo --judge-model gpt-4o --judge-rubric paper
"""

from prefect import flow

from ecg_core import layout
from ecg_core.evaluate.benchmark_tasks import default_tasks
from ecg_core.evaluate.candidates import parse_candidates
from ecg_core.evaluate.endpoint import EndpointConfig
from ecg_core.evaluate.evaluation import Evaluation
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.evaluate.results import report_entry
from tasks.cnn import cnn_row
from tasks.evaluate import (
    answer_with_endpoint,
    answer_with_mllama,
    judge_task_reports,
    page_preprocessing,
    prepare_tasks,
    write_leaderboard,
    write_report,
)
from tasks.storage import open_store


@flow(name="evaluate", flow_run_name="evaluate {eval_id}")
def evaluate_flow(
    *,
    store: str,
    eval_id: str,
    candidates: list[str],
    model: str | None = None,
    instruct: str | None = None,
    tasks: list[str] | None = None,
    max_tiles: int | None = None,
    page_fit: str | None = None,
    batch_size: int = 16,
    endpoint: EndpointConfig | None = None,
    judge: JudgeConfig | None = None,
    example_image: str | None = None,
    cnns: dict[str, dict] | None = None,
    cnn_datasets: list[str] | None = None,
) -> Evaluation:
    """Evaluate candidates on tasks, output under eval/<eval_id>/ (leaderboard.md, metrics.json); returns
    metrics.json's content, by attribute (detection, reports, leaderboard).

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        eval_id: evaluation name: eval/<eval_id>/
        candidates: what is evaluated, a leaderboard row each: base (the checkpoint of `model`), run:<run_id>
            (base + that run's adapter, with the run's pages), openai:<model> (a vision chat model at an
            OpenAI-compatible endpoint)
        model: base Mllama checkpoint folder (for base and run: candidates)
        instruct: instruction set of tasks named without one; default tasks: its ptbxl-super and report
        tasks: tasks as <set>/<task> (or <task> of `instruct`), e.g. demo/ptbxl-super ecgbench/ptbxl-report;
            `ecgflow evaluate --list-tasks` lists a store's
        max_tiles: tile budget per page (1, 2 or 4); default: the first run's (runs/<run_id>/config.json), which
            this may repeat but not contradict; without a run: the checkpoint's
        page_fit: pad or stretch, how pages fill their tiles; default: the run's, else pad
        batch_size: generation batch size
        endpoint: where openai: candidates are served (base_url, api_key_block, allow_credentialed_remote);
            default: OPENAI_BASE_URL and OPENAI_API_KEY
        judge: an LLM judge of the generated reports (model, rubric, base_url, vision, api_key_block,
            allow_credentialed_remote); None: the label-based report score, no external service
        example_image: a page shown in the report (a store key)
        cnns: reference CNNs to train on `cnn_datasets` and add to the PTB-XL superclass task, {kind: CnnConfig keys}
        cnn_datasets: datasets under records/ the reference CNNs learn from
    """
    chosen = parse_candidates(candidates)
    mllama = [c for c in chosen if c.is_mllama]
    if mllama and model is None:
        raise ValueError(f"candidates {candidates}: base and run: candidates need the base checkpoint (model)")
    entries = prepare_tasks(store, eval_id, tasks or default_tasks(open_store(store), instruct), instruct)
    task_ids = [entry["task"] for entry in entries]
    runs = [c.target for c in mllama if c.kind == "run"]
    preprocessing = (
        page_preprocessing(store, eval_id, model, runs[0] if runs else None, max_tiles, page_fit) if mllama else None
    )
    answered = {
        c.row: answer_with_mllama(store, eval_id, c, model, task_ids, preprocessing, batch_size)
        if c.is_mllama
        else answer_with_endpoint(store, eval_id, c, endpoint or EndpointConfig(), task_ids)
        for c in chosen
    }
    rows = {row: out.tasks for row, out in answered.items()}
    usage = {row: out.usage for row, out in answered.items() if out.usage}
    report_tasks = [e["task"] for e in entries if e["metric"] == "report"]
    for c in chosen:  # the label-based score stays beside the judge's, under "labels"
        for task_id in report_tasks:
            judged = judge_task_reports(store, eval_id, task_id, c, judge) if judge else None
            rows[c.row][task_id] = report_entry(rows[c.row][task_id], judged)

    # The paper's Table I: the PTB-XL superclass task (beside it the reference CNNs) and the first report task.
    detection_task = next((e["task"] for e in entries if e["kind"] == "ptbxl-super"), None)
    prediction_keys = {
        c.row: layout.predictions_key(eval_id, *detection_task.split("/"), c.slug) for c in chosen if detection_task
    }
    for kind, settings in (cnns or {}).items() if detection_task else ():
        row = f"cnn-{kind}"
        rows[row] = {
            detection_task: cnn_row(
                store_uri=store, kind=kind, datasets=cnn_datasets or [], name=eval_id, settings=settings
            )
        }
        prediction_keys[row] = layout.cnn_predictions_key(eval_id, kind)
    board = write_leaderboard(store, eval_id, entries, rows, {c.row: c.spec for c in chosen}, usage)
    detection = {row: by_task[detection_task] for row, by_task in rows.items() if detection_task in by_task}
    reports = {
        row: by_task[report_tasks[0]] for row, by_task in rows.items() if report_tasks and report_tasks[0] in by_task
    }
    return Evaluation(
        write_report(store, eval_id, detection, reports, example_image, preprocessing, prediction_keys, board)
    )
