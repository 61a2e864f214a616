"""The whole pipeline through real Prefect flows: synthetic data -> images -> instructions -> tiny Mllama
-> LoRA training in a subprocess -> baseline vs fine-tuned evaluation, sized to run in about a minute and a half."""

import asyncio
import json

import pytest
from prefect.client.orchestration import get_client

from cli.main import main
from ecg_core.evaluate.benchmarks import list_benchmarks
from ecg_core.evaluate.endpoint import EndpointConfig
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.store import open_store
from flows.evaluate import evaluate_flow
from flows.instruct import instruct_flow
from flows.pipeline import PipelineConfig, pipeline_flow
from tasks.gpu import ensure_gpu_limit
from tests.fixtures import ECGBENCH_REPORTS
from tests.openai_server import FakeJudge, vision_answer


def _artifacts() -> dict[str, object]:
    async def read():
        async with get_client() as client:
            return {a.key: a for a in await client.read_artifacts() if a.key}

    return asyncio.run(read())


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """The pipeline once for this module: (store uri, its metrics, the judge requests it made)."""
    store_uri = str(tmp_path_factory.mktemp("pipeline") / "store")
    ensure_gpu_limit()  # as `ecgflow pipeline` does before its flow
    with FakeJudge() as judge, pytest.MonkeyPatch.context() as env:  # a real OpenAI-compatible HTTP endpoint
        env.setenv("OPENAI_BASE_URL", judge.base_url)
        env.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
        metrics = pipeline_flow(
            store=store_uri,
            settings=PipelineConfig.load(
                "demo.yaml",
                {
                    "name": "e2e",
                    "n_records": 60,
                    "dpi": 50.0,
                    "recipe.max_steps": 60,
                    "recipe.logging_steps": 5,
                    "recipe.save_total_limit": None,
                    "eval_batch_size": 8,
                    "judge": {"model": "gpt-4o", "rubric": "paper"},
                    "cnns": {"signal": {"width": 16, "blocks": [1, 1, 1, 1], "epochs": 2, "n_boot": 20}},
                },
            ),
        )
        return store_uri, metrics, len(judge.requests)


def test_pipeline_end_to_end(pipeline_run, monkeypatch):
    store_uri, metrics, judged = pipeline_run
    store = open_store(store_uri)
    assert store.get_json("eval/e2e/metrics.json") == json.loads(json.dumps(metrics))
    assert store.get_json("runs/e2e/config.json")["save_total_limit"] is None  # a null in the pipeline file stays null
    rows = metrics["abnormality_detection"]
    assert set(rows) == {"baseline", "finetuned", "cnn-signal"}
    cnn = rows.pop("cnn-signal")  # the reference CNN: same label set, the test split's records, scores for AUC
    assert cnn["labels"] == ["NORM", "MI", "STTC", "CD", "HYP"] and cnn["auc_from"] == "scores" and cnn["n"] > 0
    test = store.get_jsonl("instruct/e2e/test.jsonl")
    for row in rows.values():
        assert row["labels"] == ["NORM", "MI", "STTC", "CD", "HYP"]
        assert row["n"] == len([s for s in test if s["task_family"] == "abnormality_detection"])
        assert 0.0 <= row["hamming"] <= 1.0 and set(row["per_label"]) == set(row["labels"])
        assert row["auc_from"] == "scores" and set(row["ci95"]) == {"macro_f1", "hamming", "auc_hard", "auc_score"}
    # The fine-tuned model has learnt the answer format: (nearly) every answer parses into labels, where
    # the untrained model's do not. (A minute of training on 2 threads is not bit-repeatable.)
    assert rows["finetuned"]["n_unparsed"] <= rows["finetuned"]["n"] // 3 < rows["baseline"]["n_unparsed"]
    reports = metrics["report_generation"]
    n_reports = len([s for s in test if s["task_family"] == "report_generation"])
    assert (
        0 < judged <= 2 * n_reports
    )  # each report of both models judged at most once (identical ones share a judgement)
    for name, report in reports.items():
        assert report["scorer"] == "judge:gpt-4o:paper" and report["judge"]["n_failed"] == 0
        assert report["n"] == n_reports and 0 <= report["score"] <= 100 and "score" in report["labels"]
        assert len(store.get_jsonl(f"eval/e2e/e2e/report/judge-{name}.jsonl")) == n_reports
    log = store.get_jsonl("runs/e2e/train_log.jsonl")
    losses = [r["loss"] for r in log if "loss" in r]
    assert len(losses) >= 5 and losses[-1] < losses[0] / 2
    assert store.exists("runs/e2e/adapter/adapter_config.json") and store.exists("runs/e2e/loss_curve.png")
    assert store.exists(metrics["example_image"]) and store.exists("eval/e2e/per_label_f1.png")
    assert store.exists("eval/e2e/roc_curves.png")
    table = store.get_bytes("eval/e2e/table.md").decode()
    assert "| finetuned |" in table and "| cnn-signal |" in table and "judge:gpt-4o:paper" in table
    assert "sk-test-not-a-secret" not in json.dumps(metrics)
    artifacts = _artifacts()
    assert {"eval-e2e-table", "eval-e2e-report", "run-e2e", "gallery-synthetic"} <= set(artifacts)
    for key in ("eval-e2e-report", "run-e2e"):  # plots shown in the UI itself, with their store address
        assert (
            "](data:image/png;base64," in artifacts[key].data
            and store.url("eval/e2e") in artifacts["eval-e2e-report"].data
        )

    # Judging again (the CLI's `judge`) reuses every prediction and every cached judgement: no new requests.
    with FakeJudge() as judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        model = str(open_store(store_uri).local_dir("models/tiny-mllama-e2e"))
        assert (
            main(
                [
                    "judge",
                    "--store",
                    store_uri,
                    "--eval-id",
                    "e2e",
                    "--model",
                    model,
                    "--instruct",
                    "e2e",
                    "--candidates",
                    "base",
                    "run:e2e",
                ]
            )
            == 0
        )
        assert judge.requests == []


def test_a_leaderboard_of_base_run_and_api_models_on_three_kinds_of_benchmark(pipeline_run, monkeypatch):
    store_uri, _, _ = pipeline_run
    store = open_store(store_uri)
    # Beside the demo set: a multiple-choice set on the same pages, and ECGBench's real PTB-XL report file.
    choices = InstructConfig(families=["rhythm", "morphology"], styles=["choice"], export_hf=False)
    instruct_flow(store=store_uri, name="mc", settings=choices)
    assert main(["ingest", "ecgbench", str(ECGBENCH_REPORTS), "--name", "ecgbench", "--store", store_uri]) == 0
    listed = {row["benchmark"]: row for row in list_benchmarks(store)}
    assert listed["ecgbench/ptbxl-report"] | {"without_image": 500} == {
        "benchmark": "ecgbench/ptbxl-report",
        "title": "PTB-XL report",
        "metric": "report",
        "questions": 500,
        "without_image": 500,  # images are not published with the file; no PTB-XL record is ingested here
    }
    benchmarks = ["e2e/ptbxl-super", "mc/choice", "e2e/report"]
    assert {listed[t]["metric"] for t in benchmarks} == {"multilabel", "choice", "report"}
    n_questions = sum(listed[t]["questions"] for t in benchmarks)
    model = str(store.local_dir("models/tiny-mllama-e2e"))
    candidates = ["base", "run:e2e", "openai:vlm"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    with FakeJudge(reply=vision_answer, logprobs=True) as vlm, FakeJudge(reply=vision_answer) as plain:
        monkeypatch.setenv("OPENAI_BASE_URL", vlm.base_url)
        vlm.enqueue(429)
        vlm.enqueue_body({"choices": []})  # a reply without an answer: retried like a 5xx
        evaluation = evaluate_flow(
            store=store_uri, eval_id="board", model=model, candidates=candidates, benchmarks=benchmarks, batch_size=8
        )
        assert len(vlm.requests) == n_questions + 2  # every question once, plus the two retried
        asked = [r["body"] for r in vlm.requests]
        assert all(b["temperature"] == 0 and b["model"] == "vlm" for b in asked)
        pages = [p for b in asked for p in b["messages"][0]["content"] if p["type"] == "image_url"]
        assert len(pages) == len(asked) and all(
            p["image_url"]["url"].startswith("data:image/png;base64,") for p in pages
        )
        assert sum(bool(b.get("logprobs")) for b in asked) >= listed["e2e/ptbxl-super"]["questions"]

        # An endpoint without log-probabilities: the hard-label AUC only, marked so.
        plain_board = evaluate_flow(
            store=store_uri,
            eval_id="board-plain",
            candidates=["openai:plain-vlm"],
            benchmarks=benchmarks,
            endpoint=EndpointConfig(base_url=plain.base_url),
        ).leaderboard
        assert plain_board["rows"]["openai:plain-vlm"]["e2e/ptbxl-super"]["AUC"]["from_hard_labels"] is True

        # The API row in another evaluation: every answer comes from the store's cache.
        vlm.requests.clear()
        again = evaluate_flow(store=store_uri, eval_id="board-again", candidates=["openai:vlm"], benchmarks=benchmarks)
        assert vlm.requests == []
    board = evaluation.leaderboard
    assert store.get_json("eval/board/leaderboard.json") == json.loads(json.dumps(board))
    assert again.leaderboard["rows"]["openai:vlm"] == board["rows"]["openai:vlm"]
    assert set(board["rows"]) == {"baseline", "finetuned", "openai:vlm"}
    assert board["candidates"] == {"baseline": "base", "finetuned": "run:e2e", "openai:vlm": "openai:vlm"}
    for row in board["rows"].values():
        assert set(row) == set(benchmarks)
        assert set(row["e2e/ptbxl-super"]) == {
            "AUC",
            "F1",
            "HL",
            "n",
            "n_unparsed",
        }  # scores: the likelihood, or logprobs
        assert row["mc/choice"]["n"] == listed["mc/choice"]["questions"]
        accuracy = row["mc/choice"]["accuracy"]
        assert 0 <= accuracy["value"] <= 100 and accuracy["ci95"][0] <= accuracy["value"] <= accuracy["ci95"][1]
        assert row["e2e/report"]["n"] == listed["e2e/report"]["questions"]
    predictions = store.get_jsonl("eval/board/e2e/ptbxl-super/predictions-openai-vlm.jsonl")
    assert len(predictions) == listed["e2e/ptbxl-super"]["questions"] and all("scores" in p for p in predictions)
    usage = board["api_usage"]["openai:vlm"]
    assert usage["prompt_tokens"] == 100 * n_questions and usage["n_failed"] == 0 and usage["cost_usd"] is None
    markdown = store.get_bytes("eval/board/leaderboard.md").decode()
    measured, published = markdown.split("## Published, not measured here")
    assert "| openai:vlm |" in measured and "PULSE-7B" not in measured
    assert "| PULSE-7B | 82.4 | 74.8 | 11.0 |" in published and "arXiv:2410.19008" in published
    for key in store.list("eval/board"):
        assert "sk-test-not-a-secret" not in store.get_bytes(key).decode(errors="ignore")
    assert "eval-board-leaderboard" in _artifacts()


def test_cli_runs_a_stage_with_store_option(tmp_path, capsys):
    store = tmp_path / "cli-store"
    assert main(["ingest", "synthetic", "--n-records", "8", "--fs", "100", "--store", str(store)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("ecgflow: flow run 'ingest synthetic' at http://127.0.0.1:")  # where to watch it
    out = json.loads(printed[printed.index("\n{") + 1 :])
    assert out["new"] == 8 and (store / "records/synthetic/manifest.json").is_file()


def test_cli_trains_a_reference_cnn_on_an_ingested_dataset(tmp_path, capsys):
    store = str(tmp_path / "cli-store")
    assert main(["ingest", "synthetic", "--n-records", "60", "--fs", "100", "--store", store]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "cnn",
                "--datasets",
                "synthetic",
                "--name",
                "b",
                "--kinds",
                "signal",
                "--store",
                store,
                "--set",
                "epochs=1",
                "width=8",
                "blocks=[1, 1]",
                "n_boot=10",
            ]
        )
        == 0
    )
    assert "| cnn-signal |" in capsys.readouterr().out
    saved = open_store(store)
    assert saved.get_json("cnn/b/signal/metrics.json")["config"]["blocks"] == [1, 1]
    assert "| cnn-signal |" in saved.get_bytes("cnn/b/table.md").decode()
