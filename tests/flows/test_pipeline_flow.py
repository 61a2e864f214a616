"""The whole pipeline through real Prefect flows: synthetic data -> images -> instructions -> tiny Mllama
-> LoRA training in a subprocess -> baseline vs fine-tuned evaluation, sized to run in about a minute and a half."""

import asyncio
import json

from prefect.client.orchestration import get_client

from ecg_core.store import open_store
from flows.cli import main
from flows.pipeline import pipeline_flow
from tests.openai_server import FakeJudge


def _artifacts() -> dict[str, object]:
    async def read():
        async with get_client() as client:
            return {a.key: a for a in await client.read_artifacts() if a.key}

    return asyncio.run(read())


def test_pipeline_end_to_end(tmp_path, monkeypatch):
    store_uri = str(tmp_path / "store")
    with FakeJudge() as judge:  # a real OpenAI-compatible HTTP endpoint on loopback
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
        metrics = pipeline_flow(
            store=store_uri,
            overrides={
                "name": "e2e",
                "n_records": 60,
                "dpi": 50.0,
                "train_overrides": {"max_steps": 60, "logging_steps": 5},
                "eval_batch_size": 8,
                "judge": {"model": "gpt-4o", "rubric": "paper"},
                "cnns": {"signal": {"width": 16, "blocks": [1, 1, 1, 1], "epochs": 2, "n_boot": 20}},
            },
        )
        judged = len(judge.requests)
    store = open_store(store_uri)
    assert store.get_json("eval/e2e/metrics.json") == json.loads(json.dumps(metrics))
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
        assert len(store.get_jsonl(f"eval/e2e/judge-{name}.jsonl")) == n_reports
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
        model = str(tmp_path / "store" / "models" / "tiny-mllama")
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
                    "--run-id",
                    "e2e",
                ]
            )
            == 0
        )
        assert judge.requests == []


def test_cli_runs_a_stage_with_store_option(tmp_path, capsys):
    store = tmp_path / "cli-store"
    assert main(["ingest", "synthetic", "--n-records", "8", "--fs", "100", "--store", str(store)]) == 0
    out = json.loads(capsys.readouterr().out)
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
