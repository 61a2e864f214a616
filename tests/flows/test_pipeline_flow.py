"""The whole pipeline through real Prefect flows: synthetic data -> images -> instructions -> tiny Mllama
-> LoRA training in a subprocess -> baseline vs fine-tuned evaluation, sized to run in about a minute and a half."""

import asyncio
import json

from prefect.client.orchestration import get_client

from ecg_core.store import open_store
from flows.cli import main
from flows.pipeline import pipeline_flow


def _artifacts() -> dict[str, object]:
    async def read():
        async with get_client() as client:
            return {a.key: a for a in await client.read_artifacts() if a.key}

    return asyncio.run(read())


def test_pipeline_end_to_end(tmp_path):
    store_uri = str(tmp_path / "store")
    metrics = pipeline_flow(
        store=store_uri,
        name="e2e",
        n_records=60,
        fs=250.0,
        dpi=50.0,
        train_overrides={"max_steps": "60", "logging_steps": "5"},
        eval_batch_size=8,
    )
    store = open_store(store_uri)
    assert store.get_json("eval/e2e/metrics.json") == json.loads(json.dumps(metrics))
    rows = metrics["abnormality_detection"]
    assert set(rows) == {"baseline", "finetuned"}
    for row in rows.values():
        assert row["labels"] == ["NORM", "MI", "STTC", "CD", "HYP"]
        assert row["n"] == len([s for s in store.get_jsonl("instruct/e2e/test.jsonl") if s["task_family"] == "abnormality_detection"])
        assert 0.0 <= row["hamming"] <= 1.0 and set(row["per_label"]) == set(row["labels"])
    # The fine-tuned model has learnt the answer format: (nearly) every answer parses into labels, where
    # the untrained model's do not. (A minute of training on 2 threads is not bit-repeatable.)
    assert rows["finetuned"]["n_unparsed"] <= rows["finetuned"]["n"] // 3 < rows["baseline"]["n_unparsed"]
    log = store.get_jsonl("runs/e2e/train_log.jsonl")
    losses = [r["loss"] for r in log if "loss" in r]
    assert len(losses) >= 5 and losses[-1] < losses[0] / 2
    assert store.exists("runs/e2e/adapter/adapter_config.json") and store.exists("runs/e2e/loss_curve.png")
    assert store.exists(metrics["example_image"]) and store.exists("eval/e2e/per_label_f1.png")
    assert "| finetuned |" in store.get_bytes("eval/e2e/table.md").decode()
    artifacts = _artifacts()
    assert {"eval-e2e-table", "eval-e2e-report", "run-e2e", "gallery-synthetic"} <= set(artifacts)


def test_cli_runs_a_stage_with_store_option(tmp_path, capsys):
    store = tmp_path / "cli-store"
    assert main(["ingest", "synthetic", "--n-records", "8", "--fs", "100", "--store", str(store)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["new"] == 8 and (store / "records/synthetic/manifest.json").is_file()
