"""`ecgflow interpret` on the tiny model (the path, not the quality): real scans and photos, a PDF's pages and
rendered pages read with their probabilities and a report; bad inputs rejected with their reasons and the exit
status saying so; a re-run reads nothing again; the champion by default; inputs and store on S3 (moto)."""

import io
import json
import logging
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

import tasks.interpret
from cli.main import REJECTED_EXIT, main
from ecg_core import layout
from ecg_core.errors import MissingInput
from ecg_core.image_store import render_variant
from ecg_core.labels import SUPERCLASSES
from ecg_core.reading import stored
from ecg_core.registry import champion_record, stage_adapter
from ecg_core.render.variants import RenderConfig
from ecg_core.store import open_store
from flows.interpret import interpret_flow
from tests.factories import make_record
from tests.fixtures import REALDATA


@pytest.fixture
def inputs(tmp_path) -> Path:
    """Two real images, a rendered page with known labels, a two-page PDF, and three bad inputs."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("ecg00003.png", "ecg00016.jpg"):
        (folder / name).write_bytes((REALDATA / "images" / name).read_bytes())
    data, _, _ = render_variant(make_record("r-mi", superclasses=["MI"]), RenderConfig(format="png", dpi=50.0), 0)
    (folder / "rendered-mi.png").write_bytes(data)
    document = pypdfium2.PdfDocument.new()
    for _ in range(2):
        document.new_page(842, 595)
    document.save(str(folder / "cart-export.pdf"))
    (folder / "notes.txt").write_text("not an ECG")
    small = io.BytesIO()
    Image.new("RGB", (10, 10)).save(small, format="PNG")
    (folder / "icon.png").write_bytes(small.getvalue())
    (folder / "cut.jpg").write_bytes((REALDATA / "images/ecg00013.jpg").read_bytes()[:4000])
    return folder


def _store_with_run(tuned_run, uri: str):
    store = open_store(uri)
    store.put_dir(tuned_run[1], layout.run_prefix("t"))
    return store


def test_new_images_are_read_and_bad_ones_rejected_with_their_reasons(
    tiny_mllama_dir, tuned_run, inputs, tmp_path, capsys, monkeypatch
):
    store = _store_with_run(tuned_run, str(tmp_path / "store"))
    out = tmp_path / "out" / "readings.jsonl"
    out.parent.mkdir()
    command = ["interpret", str(inputs), "--model", str(tiny_mllama_dir), "--run-id", "t", "--store", store.uri]
    assert main([*command, "--out", str(out)]) == REJECTED_EXIT
    printed = capsys.readouterr().out
    readings = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["source"]).name for r in readings] == [
        "cart-export.pdf#page1",
        "cart-export.pdf#page2",
        "ecg00003.png",
        "ecg00016.jpg",
        "rendered-mi.png",
    ]
    for reading in readings:
        assert list(reading["probabilities"]) == list(SUPERCLASSES)
        assert all(0.0 <= p <= 1.0 for p in reading["probabilities"].values())
        assert (reading["labels"] is None) == reading["unparsed"] and isinstance(reading["report"], str)
        assert reading["model"] | {"trained_on": None} == {
            "base": tiny_mllama_dir.name,
            "adapter": "runs/t/adapter",
            "run_id": "t",
            "registry": None,
            "trained_on": None,
            "preprocessing": {"image_size": 224, "max_tiles": 1, "page_fit": "stretch"},
        }
        assert "not a medical device" in reading["notice"]
    [batch] = {key.split("/")[1] for key in store.list("predictions/")}
    rejected = {Path(r["name"]).name: r["reason"] for r in store.get_jsonl(layout.batch_rejected_key(batch))}
    assert rejected == {
        "cut.jpg": rejected["cut.jpg"],
        "icon.png": "10 x 10 px: too small to hold an ECG (at least 64 px a side)",
        "notes.txt": "not an image or a PDF (no PNG, JPEG or other image signature)",
    } and rejected["cut.jpg"].startswith("truncated or corrupt image")
    report = store.get_bytes(layout.batch_report_key(batch)).decode()
    assert report.count("](data:image/png;base64,") == 5 and "## Rejected (3)" in report
    assert out.with_suffix(".md").read_text() == report
    assert "REJECTED: 10 x 10 px" in printed and "not a medical device" in printed and "adapter of run t" in printed

    # The same command again: every page already read, no model loaded, the same readings.
    monkeypatch.setattr(stored, "load_model_and_processor", lambda *a, **k: pytest.fail("model loaded"))
    assert main(command) == REJECTED_EXIT
    assert store.get_jsonl(layout.readings_key(batch)) == readings


def test_the_champion_reads_by_default_and_inputs_and_store_may_be_on_s3(tiny_mllama_dir, tuned_run, s3_env, gpu_limit):
    client, bucket = s3_env
    store = _store_with_run(tuned_run, f"s3://{bucket}/store")
    with pytest.raises(MissingInput, match="no champion"):
        interpret_flow(store=store.uri, inputs=[str(REALDATA / "images")], model=str(tiny_mllama_dir))
    stage_adapter(store, "t")
    store.put_dir(tiny_mllama_dir, "models/tiny")  # the champion's base, built in the store: no --model needed
    record = champion_record("t", "a folder of another machine", "models/tiny", {"macro_f1": 0.5}, {}, {})
    store.put_json(layout.champion_key(), record)
    client.put_object(Bucket=bucket, Key="incoming/a.jpg", Body=(REALDATA / "images/ecg00024.jpg").read_bytes())
    result = interpret_flow(store=store.uri, inputs=[f"s3://{bucket}/incoming/"])
    [reading] = result["readings"]
    assert (
        reading["source"] == f"s3://{bucket}/incoming/a.jpg"
        and reading["model"]["adapter"] == "registry/models/t/adapter"
    )
    assert reading["model"]["registry"]["champion"] == "t" and reading["model"]["base"] == "tiny"
    assert result["rejected"] == []
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="store/predictions/")["Contents"]}
    assert {f"store/predictions/{result['batch']}/{name}" for name in ("readings.jsonl", "report.md")} <= keys


def test_one_file_named_with_dots_capitals_and_spaces_is_read_and_its_artifacts_keyed(
    tiny_mllama_dir, tuned_run, tmp_path, caplog, monkeypatch
):
    from prefect.client.orchestration import get_client

    store = _store_with_run(tuned_run, str(tmp_path / "store"))
    scan = tmp_path / "Ward 3.Bed_2 ECG.v1.PNG"
    scan.write_bytes((REALDATA / "images/ecg00003.png").read_bytes())
    out = tmp_path / "r.jsonl"
    command = ["interpret", str(scan), "--model", str(tiny_mllama_dir), "--run-id", "t", "--store", store.uri]
    assert main([*command, "--out", str(out)]) == 0
    [reading] = [json.loads(line) for line in out.read_text().splitlines()]
    assert reading["source"] == str(scan)
    [batch] = {key.split("/")[1] for key in store.list("predictions/")}
    assert batch.startswith("Ward 3.Bed_2 ECG.v1.PNG-")  # the batch keeps the file's name; the key is made valid
    with get_client(sync_client=True) as client:
        keys = {
            a.key for a in client.read_artifacts() if a.key and a.key.startswith("interpret-ward-3-bed-2-ecg-v1-png-")
        }
    assert {k.rsplit("-", 1)[1] for k in keys} == {"table", "report"}

    # The UI refuses the artifacts: the readings stay in the store and the --out file, and the command says so.
    def refused(**kwargs):
        raise ValueError("Artifact key must only contain lowercase letters, numbers, and dashes.")

    monkeypatch.setattr(tasks.interpret, "create_table_artifact", refused)
    task_logs = logging.getLogger("prefect.task_runs")  # Prefect's loggers do not propagate to pytest's
    monkeypatch.setattr(task_logs, "handlers", [*task_logs.handlers, caplog.handler])
    again = tmp_path / "again.jsonl"
    assert main(["interpret", str(scan), str(REALDATA / "images/ecg00016.jpg"), *command[2:], "--out", str(again)]) == 0
    assert len(again.read_text().splitlines()) == 2
    assert (
        "not published to the Prefect UI (Artifact key must" in caplog.text
        and "/predictions/Ward%203.Bed_2" in caplog.text
    )
