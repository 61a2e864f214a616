"""Published instruction files (ECGInstruct LLaVA JSON, ECGBench JSON/JSONL/Parquet) -> our samples."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ecg_core.record_store import Rejected
from ecg_core.sources.instructions import import_instructions, read_instruction_file
from ecg_core.store import LocalStore
from tests.fixtures import ECGBENCH_REPORTS


def turns(question, answer, roles=("human", "gpt")):
    return [{"from": roles[0], "value": question}, {"from": roles[1], "value": answer}]


def test_real_ecgbench_report_file(tmp_path):
    original = json.loads(ECGBENCH_REPORTS.read_text())
    store = LocalStore(tmp_path / "store")
    counts = import_instructions(store, "ecgbench", ECGBENCH_REPORTS, "test")
    assert counts == {
        "n": 500,
        "rejected": 0,
        "duplicates": 0,
        "per_source": {"ptbxl": 500},
        "per_family": {"report_generation": 500},
    }
    samples = store.get_jsonl("instruct/ecgbench/test.jsonl")
    assert store.get_jsonl("instruct/ecgbench/quarantine.jsonl") == []
    assert len(samples) == 500
    for sample, item in zip(samples, original):
        assert sample["id"] == item["id"] and sample["image"] == item["image"]
        assert [t["from"] for t in sample["conversations"]] == ["human", "gpt"]
        question = sample["conversations"][0]["value"]
        assert question.startswith("<image>\n") and question.count("<image>") == 1
        assert question == "<image>\n" + item["conversation"][0]["value"]
        assert sample["conversations"][1]["value"] == item["conversation"][1]["value"]
        assert sample["split"] == "test" and sample["origin"] == ECGBENCH_REPORTS.name
        assert sample["record_id"] == Path(item["image"]).stem and sample["patient_id"] is None
    # importing it again replaces, not appends
    assert import_instructions(store, "ecgbench", ECGBENCH_REPORTS, "test")["n"] == 500
    assert len(store.get_jsonl("instruct/ecgbench/test.jsonl")) == 500


def test_llava_json_array_sources_families_and_image_placeholder(tmp_path):
    items = [
        {
            "id": "m1",
            "image": "mimic_v4/files/p1000/p10000032/s40689238/40689238-0.png",
            "conversations": turns("<image>\nPlease write a report for this ECG.", "Sinus rhythm."),
        },
        {
            "id": "p1",
            "image": "ptb-xl/records500/00000/00001_hr.png",
            "conversations": turns("Which of the following abnormalities are present? <image> A) MI B) NORM", "B"),
        },
        {
            "id": "c1",
            "image": "code15_v4/12345.png",
            "conversations": turns("What is the heart rate?", "About 70 bpm.")
            + turns("<image> And the axis?", "Normal."),
        },
        {"id": "x1", "image": "other/1.png", "conversations": turns("Is the <image> rhythm regular?", "Yes.")},
        {
            "id": "m1-dup",
            "image": "mimic_v4/files/p1000/p10000032/s40689238/40689238-0.png",
            "conversations": turns("Please write a report for this ECG. <image>", "Sinus rhythm again."),
        },
    ]
    path = tmp_path / "ECGInstruct.json"
    path.write_text(json.dumps(items))
    samples = list(read_instruction_file(path, "train"))
    assert not [s for s in samples if isinstance(s, Rejected)]
    by_id = {s["id"]: s for s in samples}
    assert {i: s["source"] for i, s in by_id.items()} == {
        "m1": "mimic-iv-ecg",
        "p1": "ptbxl",
        "c1": "code15",
        "x1": "unknown",
        "m1-dup": "mimic-iv-ecg",
    }
    assert by_id["m1"]["task_family"] == "report_generation"
    assert by_id["p1"]["task_family"] == "abnormality_detection"
    assert by_id["c1"]["task_family"] == "question_answering"
    assert by_id["m1"]["record_id"] == "40689238-0" and by_id["m1"]["split"] == "train"
    for s in samples:  # exactly one placeholder, at the start of the first human turn
        conv = s["conversations"]
        assert conv[0]["value"].startswith("<image>\n")
        assert sum(t["value"].count("<image>") for t in conv) == 1
    assert by_id["p1"]["conversations"][0]["value"] == (
        "<image>\nWhich of the following abnormalities are present? A) MI B) NORM"
    )
    assert by_id["c1"]["conversations"][2]["value"] == "And the axis?"
    assert by_id["x1"]["conversations"][0]["value"] == "<image>\nIs the rhythm regular?"

    store = LocalStore(tmp_path / "store")
    counts = import_instructions(store, "ecginstruct", path, "train")
    assert counts["n"] == 4 and counts["duplicates"] == 1 and counts["rejected"] == 0
    assert counts["per_source"] == {"code15": 1, "mimic-iv-ecg": 1, "ptbxl": 1, "unknown": 1}
    assert [s["id"] for s in store.get_jsonl("instruct/ecginstruct/train.jsonl")] == ["m1", "p1", "c1", "x1"]


def test_ecgbench_jsonl_with_bad_lines(tmp_path):
    good = {
        "id": "cpsc-1",
        "image_path": "cpsc/A0001.png",
        "conversation": [
            {"role": "user", "content": "Classify this ECG."},
            {"role": "assistant", "content": [{"type": "text", "text": "AF"}]},
        ],
    }
    lines = [
        json.dumps(good),
        '{"id": "broken", "image": ',  # line 2: malformed
        json.dumps({"id": "noimg", "conversations": turns("Q?", "A.")}),
        json.dumps({"id": "nogpt", "image": "cpsc/A2.png", "conversations": [{"from": "user", "value": "Q?"}]}),
        json.dumps({"id": "nohuman", "image": "cpsc/A3.png", "conversations": [{"from": "gpt", "value": "A."}]}),
        json.dumps({"id": "empty", "image": "cpsc/A4.png", "conversations": turns("Q?", "  ")}),
        json.dumps({"id": "../etc/passwd", "image": "cpsc/A5.png", "conversations": turns("Q?", "A.")}),
        "",
        json.dumps(
            {
                "id": "ecgqa-1",
                "image": "ecgqa/ptbxl/00001.png",
                "conversations": turns("Does this ECG show ST elevation?", "no", ("user", "assistant")),
            }
        ),
        json.dumps(good),  # exact duplicate
    ]
    path = tmp_path / "cpsc_test.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store = LocalStore(tmp_path / "store")
    counts = import_instructions(store, "bench", path, "test")
    assert counts["n"] == 2 and counts["rejected"] == 6 and counts["duplicates"] == 1
    assert counts["per_source"] == {"cpsc2018": 1, "ecg-qa": 1}
    assert counts["per_family"] == {"abnormality_detection": 1, "question_answering": 1}
    reasons = {q["id"]: q["reason"] for q in store.get_jsonl("instruct/bench/quarantine.jsonl")}
    assert "line 2" in reasons["cpsc_test.jsonl:2"] and "malformed JSON" in reasons["cpsc_test.jsonl:2"]
    assert reasons["noimg"] == "missing image"
    assert reasons["nogpt"] == "no gpt turn"
    assert reasons["nohuman"] == "no human turn"
    assert reasons["empty"] == "empty answer in turn 1"
    assert "unsafe characters" in reasons["../etc/passwd"]
    sample = store.get_jsonl("instruct/bench/test.jsonl")[0]
    assert sample["conversations"] == [
        {"from": "human", "value": "<image>\nClassify this ECG."},
        {"from": "gpt", "value": "AF"},
    ]
    assert sample["image"] == "cpsc/A0001.png" and sample["record_id"] == "A0001"


def test_ecgbench_parquet_and_merging_files(tmp_path):
    rows = [
        {
            "id": "code15-1",
            "image_path": "code15/1.png",
            "conversations": turns("Which of the following: (A) 1dAVb (B) RBBB?", "(A)", ("user", "assistant")),
        },
        {
            "id": "code15-2",
            "image_path": "code15/2.png",
            "conversations": turns(
                "<image>\nWhich of the following: (A) 1dAVb (B) RBBB?", "(B)", ("user", "assistant")
            ),
        },
        {"id": "code15-3", "image_path": None, "conversations": turns("Q?", "A.", ("user", "assistant"))},
    ]
    path = tmp_path / "code15_test.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    out = list(read_instruction_file(path, "test"))
    assert [type(s).__name__ for s in out] == ["dict", "dict", "Rejected"]
    assert out[0]["conversations"][0]["value"] == "<image>\nWhich of the following: (A) 1dAVb (B) RBBB?"
    assert out[1]["conversations"][0]["value"] == out[0]["conversations"][0]["value"]
    assert out[0]["task_family"] == "abnormality_detection" and out[0]["source"] == "code15"
    assert out[2] == Rejected("code15-3", "missing image")

    store = LocalStore(tmp_path / "store")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "o1", "image": "ptbxl/1.png", "conversations": turns("Q?", "A.")}) + "\n")
    import_instructions(store, "bench", other, "test")
    counts = import_instructions(store, "bench", path, "test")
    assert counts["n"] == 2 and counts["rejected"] == 1
    import_instructions(store, "bench", path, "test")  # again: replaces its own samples only
    ids = [s["id"] for s in store.get_jsonl("instruct/bench/test.jsonl")]
    assert ids == ["o1", "code15-1", "code15-2"]
    assert [q["id"] for q in store.get_jsonl("instruct/bench/quarantine.jsonl")] == ["code15-3"]


def test_malformed_json_array_is_one_reject(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "a", "image": "x.png",\n "conversations": [}]')
    out = list(read_instruction_file(path))
    assert len(out) == 1 and isinstance(out[0], Rejected)
    assert "not valid JSON" in out[0].reason and "line 2" in out[0].reason
