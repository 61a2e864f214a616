"""Evaluate: candidates x benchmarks -> `eval/<eval_id>/`. Candidates are the base Mllama, base + a run's adapter,
and any vision chat model at an OpenAI-compatible endpoint; benchmarks are ECGBench's tasks (PTB-XL super and report,
CODE-15%, CPSC 2018, CSN, G12EC, MMMU-ECG, ECG-QA ...) from our instruction sets or imported ECGBench files.
Out come each task's predictions and metrics, one leaderboard (with the published figures apart), and the
paper's Table I (metrics.json, table.md, ROC curves). Answers already in the store are reused, so a re-run
(say, with the judge switched on, or one more candidate) only does what is new.

    ecgflow evaluate --list-benchmarks --store ./demo-store
    ecgflow evaluate --eval-id demo --model ./demo-store/models/tiny-mllama-demo --instruct demo \
        --candidates base run:demo --store ./demo-store
    ecgflow evaluate --eval-id bench --benchmarks ecgbench/ptbxl-report demo/ptbxl-super \
        --candidates openai:gpt-4o --store ./store      # OPENAI_BASE_URL / OPENAI_API_KEY from the environment
    ecgflow judge --eval-id demo --model ./demo-store/models/tiny-mllama-demo --instruct demo \
        --candidates base run:demo --judge-model gpt-4o --judge-rubric paper
"""

from prefect import flow, get_run_logger

from ecg_core.evaluate.endpoint import EndpointConfig
from ecg_core.evaluate.evaluation import Evaluation, EvaluationPlan, evaluate, parse_candidates
from ecg_core.evaluate.judge import JudgeConfig
from tasks.evaluate import prefect_steps, publish_evaluation
from tasks.storage import open_store


@flow(name="evaluate", flow_run_name="evaluate {eval_id}")
def evaluate_flow(
    *,
    store: str,
    eval_id: str,
    candidates: list[str],
    model: str | None = None,
    instruct: str | None = None,
    benchmarks: list[str] | None = None,
    max_tiles: int | None = None,
    page_fit: str | None = None,
    batch_size: int = 16,
    endpoint: EndpointConfig | None = None,
    judge: JudgeConfig | None = None,
    example_image: str | None = None,
    cnns: dict[str, dict] | None = None,
    cnn_datasets: list[str] | None = None,
) -> Evaluation:
    """Evaluate candidates on benchmarks, output under eval/<eval_id>/ (leaderboard.md, metrics.json); returns
    metrics.json's content, by attribute (detection, reports, leaderboard).

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        eval_id: evaluation name: eval/<eval_id>/
        candidates: what is evaluated, a leaderboard row each: base (the checkpoint of `model`), run:<run_id>
            (base + that run's adapter, with the run's pages), champion (the registry's champion, on the base
            it was trained on), openai:<model> (a vision chat model at an OpenAI-compatible endpoint)
        model: base Mllama checkpoint folder (for base and run: candidates)
        instruct: instruction set of benchmarks named without one; default benchmarks: its ptbxl-super and report
        benchmarks: benchmarks as <set>/<benchmark> (or <benchmark> of `instruct`), e.g. demo/ptbxl-super ecgbench/ptbxl-report;
            `ecgflow evaluate --list-benchmarks` lists a store's
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
    plan = EvaluationPlan(
        eval_id=eval_id,
        candidates=tuple(parse_candidates(candidates)),
        benchmarks=tuple(benchmarks or ()),
        instruct=instruct,
        model=model,
        max_tiles=max_tiles,
        page_fit=page_fit,
        batch_size=batch_size,
        endpoint=endpoint or EndpointConfig(),
        judge=judge,
        example_image=example_image,
        references=cnns or {},
        reference_datasets=tuple(cnn_datasets or ()),
    )
    evaluation = evaluate(open_store(store), plan, prefect_steps(store, plan), get_run_logger())
    publish_evaluation(store, evaluation)
    return evaluation
