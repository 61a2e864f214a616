"""Instruction builder: ECGInstruct/LLaVA format, answers consistent with labels in every family,
patient-level splits, determinism, de-duplication, mixing caps, skip reasons, Hugging Face export."""

from __future__ import annotations

import datasets
import pytest

from ecg_core.instruct import (
    FAMILIES,
    NO_CLASS_ANSWER,
    STYLES,
    build_samples,
    deduplicate,
    is_detection_sample,
    mix,
    split_samples,
    statistics,
)
from ecg_core.instruct.dataset import write_instruction_set
from ecg_core.instruct.families.report import report_from_labels
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.layout import index_key
from ecg_core.record_store import read_records, write_records
from ecg_core.store import LocalStore
from ecg_core.synth import synthesize_records
from tests.factories import make_record

ALL = list(FAMILIES)


def _records():
    return [
        make_record("a", patient_id="p1", labels={"CLBBB": 100.0, "SR": 0.0}, superclasses=["CD"], split="train"),
        make_record(
            "b",
            patient_id="p2",
            labels={"IMI": 80.0, "ISC_": 50.0, "SR": 0.0},
            superclasses=["MI", "STTC"],
            split="test",
        ),
        make_record("c", patient_id="p3", labels={"AFIB": 100.0}, superclasses=[], split="val"),
    ]


def _images(records, variants=1):
    return {r.record_id: [f"images/test/{r.record_id}/{k}.png" for k in range(variants)] for r in records}


def test_samples_follow_the_llava_format():
    samples = build_samples(_records(), ALL, _images(_records()), seed=1).samples
    assert {s["task_family"] for s in samples} >= {"abnormality_detection", "report_generation", "rhythm"}
    for s in samples:
        human, gpt = s["conversations"]
        assert (
            human["from"] == "human" and human["value"].startswith("<image>\n") and human["value"].count("<image>") == 1
        )
        assert gpt["from"] == "gpt" and gpt["value"]
        assert s["image"] == f"images/test/{s['record_id']}/0.png" and s["style"] in STYLES
        assert {"id", "task_family", "topic", "labels", "source", "split", "record_id", "patient_id"} <= s.keys()
    assert len({s["id"] for s in samples}) == len(samples)


def test_every_answer_parses_back_to_its_labels_in_every_family():
    records = synthesize_records(28, seed=0, fs=250.0) + _records()
    samples = build_samples(records, ALL, _images(records), seed=0).samples
    by_id = {r.record_id: r for r in records}
    for s in samples:
        question = s["conversations"][0]["value"].removeprefix("<image>\n")
        assert list(FAMILIES[s["task_family"]].parse_answer(question, s["conversations"][1]["value"])) == s["labels"], (
            s["id"]
        )
        if is_detection_sample(s):  # the evaluated question: exactly the record's superclasses
            assert s["labels"] == list(by_id[s["record_id"]].superclasses)
        if s["task_family"] == "report_generation" and s["report_source"] == "template":
            assert set(s["labels"]) == set(by_id[s["record_id"]].labels)
    detection = [s for s in samples if is_detection_sample(s) and s["record_id"] == "c"]
    assert detection[0]["conversations"][1]["value"] == NO_CLASS_ANSWER


def test_phrasing_is_seeded_per_record_not_by_order():
    records = _records()
    forward = build_samples(records, ALL, _images(records), seed=3).samples
    backward = build_samples(records[::-1], ALL, _images(records), seed=3).samples
    assert {s["id"]: s for s in forward} == {s["id"]: s for s in backward}
    reports = {
        s["conversations"][0]["value"]
        for seed in range(10)
        for s in build_samples(records[:1], ["report_generation"], _images(records), seed).samples
    }
    assert len(reports) > 1


def test_every_rendered_variant_gets_its_own_samples():
    records = _records()
    one = build_samples(records, ["abnormality_detection"], _images(records, 1), seed=0).samples
    three = build_samples(records, ["abnormality_detection"], _images(records, 3), seed=0).samples
    assert len(three) == 3 * len(one)
    a = [s for s in three if s["record_id"] == "a" and is_detection_sample(s)]
    assert [s["image"] for s in a] == [f"images/test/a/{k}.png" for k in range(3)]
    assert {s["conversations"][1]["value"] for s in a} == {"CD"}  # same labels whatever the picture


def test_reports_put_rhythm_first_and_name_every_statement():
    assert report_from_labels({"CLBBB": 100.0, "SR": 0.0}) == "Sinus rhythm. Complete left bundle branch block."
    report = report_from_labels({"ISC_": 50.0, "INVT": 100.0, "STACH": 0.0, "IMI": 80.0})
    assert report.startswith("Sinus tachycardia. ")
    assert "Inferior myocardial infarction." in report and report.endswith("Inverted T-waves.")


@pytest.mark.parametrize(
    "report, answer, origin, original",
    [
        ("sinusrhythmus linkstyp normales ekg", "Sinus rhythm. Left axis deviation. Normal ECG.", "translated", True),
        ("sinus rhythm. normal ecg. Edit: NORM", "Sinus rhythm. Normal ECG.", "original", False),
        ("sinusrytm vaenster el-axel", "Sinus rhythm. Complete left bundle branch block.", "template", True),
    ],
)
def test_reports_are_english_whatever_the_language_they_came_in(report, answer, origin, original):
    record = make_record("r", patient_id="p9", labels={"CLBBB": 100.0, "SR": 0.0}, superclasses=["CD"], split="train")
    record.report = report
    (sample,) = build_samples([record], ["report_generation"], _images([record]), seed=0).samples
    assert sample["conversations"][1]["value"] == answer
    assert sample["report_source"] == origin
    assert sample.get("report_original") == (report if original else None)


def test_labels_outside_the_vocabulary_skip_that_family_with_a_reason():
    odd = make_record("d", patient_id="p4", labels={"XYZ": 100.0, "SR": 0.0}, superclasses=[], split="train")
    built = build_samples([odd], ["report_generation", "abnormality_detection"], _images([odd]), seed=0)
    assert [(s.record_id, s.reason) for s in built.skipped] == [
        ("d", "report_generation: labels outside the report vocabulary: XYZ")
    ]
    assert {s["task_family"] for s in built.samples} == {"abnormality_detection"}


def test_deduplicate_and_mix():
    records = _records()
    samples = build_samples(records, ALL, _images(records), seed=0).samples
    kept, dropped = deduplicate(samples + samples[:5])
    assert dropped == 5 and kept == samples
    capped = mix(samples, {"rhythm": 1}, {}, seed=0)
    train_rhythm = [s for s in capped if s["split"] == "train" and s["task_family"] == "rhythm"]
    assert len(train_rhythm) == 1
    assert [s for s in capped if s["split"] != "train"] == [
        s for s in samples if s["split"] != "train"
    ]  # eval kept whole
    assert [s for s in mix(samples, {}, {"test": 0}, seed=0) if s["split"] == "train"] == []


def test_splits_are_patient_level_and_statistics_count_them(tmp_path):
    store = LocalStore(tmp_path)
    write_records(store, "synthetic", synthesize_records(60, seed=2, fs=250.0, records_per_patient=3))
    records = read_records(store, "synthetic")
    samples = build_samples(records, ALL, _images(records), seed=0).samples
    by_split = split_samples(samples)
    patients = {split: {s["patient_id"] for s in rows} for split, rows in by_split.items()}
    assert all(patients.values())
    assert not (
        patients["train"] & patients["val"]
        or patients["train"] & patients["test"]
        or patients["val"] & patients["test"]
    )
    stats = statistics(samples)
    assert sum(stats["per_split"].values()) == stats["n"] == len(samples)
    assert set(stats["per_family"]) == set(ALL) and set(stats["per_style"]) <= set(STYLES)


def test_instruction_set_in_the_store_loads_with_datasets(tmp_path):
    store = LocalStore(tmp_path)
    write_records(store, "synthetic", synthesize_records(12, seed=1, fs=250.0))
    records = read_records(store, "synthetic")
    rendered = [r for r in records if r.record_id != "synth-000004"]  # one record was never rendered
    for r in rendered:
        store.put_bytes(f"images/synthetic/{r.record_id}/0.png", _png())
    store.put_jsonl(
        index_key("synthetic"),
        [{"record_id": r.record_id, "variant": 0, "image": f"images/synthetic/{r.record_id}/0.png"} for r in rendered],
    )
    stats = write_instruction_set(store, "t", ["synthetic"], InstructConfig(families=ALL))
    assert stats["skipped"] == 1 and store.get_jsonl("instruct/t/skipped.jsonl") == [
        {"id": "synth-000004", "reason": "no rendered image"}
    ]
    files = {
        split: str(tmp_path / f"instruct/t/{split}.jsonl")
        for split in ("train", "val", "test")
        if (tmp_path / f"instruct/t/{split}.jsonl").stat().st_size
    }
    loaded = datasets.load_dataset("json", data_files=files)
    assert sum(len(part) for part in loaded.values()) == stats["n"]
    assert loaded["train"][0]["conversations"][0]["from"] == "human"
    exported = datasets.load_from_disk(str(tmp_path / "instruct/t/hf"))
    assert exported["train"][0]["image"].size == (8, 6)  # the image column decodes to the picture
    parquet = datasets.load_dataset("parquet", data_files=str(tmp_path / "instruct/t/parquet/train.parquet"))["train"]
    assert len(parquet) == len(exported["train"]) and parquet[0]["image"].size == (8, 6)


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("family", ["nonsense"])
def test_unknown_family_lists_the_allowed_ones(family):
    with pytest.raises(ValueError, match="allowed: abnormality_detection, report_generation"):
        build_samples(_records(), [family], _images(_records()))


def test_template_reports_can_leave_out_the_measurements():
    measured = {"heart_rate_bpm": 72.0, "pr_ms": 160.0, "qrs_ms": 90.0, "qt_ms": 380.0}
    record = make_record("m", labels={"CLBBB": 100.0, "SR": 0.0}, superclasses=["CD"], extra={"measurements": measured})
    images = _images([record])
    [full] = build_samples([record], ["report_generation"], images).samples
    [short] = build_samples([record], ["report_generation"], images, report_measurements=False).samples
    assert full["conversations"][1]["value"] == (
        "Sinus rhythm. Complete left bundle branch block. Heart rate 72 bpm. PR 160 ms, QRS 90 ms, QT 380 ms."
    )
    assert short["conversations"][1]["value"] == "Sinus rhythm. Complete left bundle branch block."
    assert short["labels"] == full["labels"] and short["conversations"][0] == full["conversations"][0]
