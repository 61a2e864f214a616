from ecg_core.evaluate.parse import parse_labels
from ecg_core.instruct import NO_CLASS_ANSWER, build_samples, report_from_labels, split_samples, statistics
from tests.factories import make_record


def _records():
    records = [
        make_record("a", patient_id="p1", labels={"CLBBB": 100.0, "SR": 0.0}, superclasses=["CD"], split="train"),
        make_record("b", patient_id="p2", labels={"IMI": 80.0, "ISC_": 50.0, "SR": 0.0}, superclasses=["MI", "STTC"], split="test"),
        make_record("c", patient_id="p3", labels={"AFIB": 100.0}, superclasses=[], split="val"),
    ]
    return records


def _images(records, variants=1):
    return {r.record_id: [f"images/test/{r.record_id}/{k}.png" for k in range(variants)] for r in records}


def test_samples_follow_the_llava_format_and_answers_match_labels():
    samples = build_samples(_records(), ["abnormality_detection", "report_generation"], _images(_records()), seed=1)
    assert len(samples) == 6
    for s in samples:
        human, gpt = s["conversations"]
        assert human["from"] == "human" and human["value"].startswith("<image>\n")
        assert gpt["from"] == "gpt" and gpt["value"]
        assert s["image"] == f"images/test/{s['record_id']}/0.png"
        assert {"id", "task_family", "labels", "source", "split", "patient_id"} <= s.keys()
    detection = [s for s in samples if s["task_family"] == "abnormality_detection"]
    for s in detection:  # every answer parses back to exactly the record's superclasses
        assert parse_labels(s["conversations"][1]["value"]) == frozenset(s["labels"])
    assert detection[2]["conversations"][1]["value"] == NO_CLASS_ANSWER


def test_phrasing_is_seeded_per_record_not_by_order():
    records = _records()
    forward = build_samples(records, ["report_generation"], _images(records), seed=3)
    backward = build_samples(records[::-1], ["report_generation"], _images(records), seed=3)
    assert {s["id"]: s for s in forward} == {s["id"]: s for s in backward}
    questions = {s["conversations"][0]["value"] for seed in range(10) for s in build_samples(records[:1], ["report_generation"], _images(records), seed)}
    assert len(questions) > 1


def test_every_rendered_variant_gets_its_own_samples():
    records = _records()
    samples = build_samples(records, ["abnormality_detection", "report_generation"], _images(records, variants=3), seed=0)
    assert len(samples) == len(records) * 3 * 2
    assert len({s["id"] for s in samples}) == len(samples)
    a = [s for s in samples if s["record_id"] == "a" and s["task_family"] == "abnormality_detection"]
    assert [s["image"] for s in a] == [f"images/test/a/{k}.png" for k in range(3)]
    assert {s["conversations"][1]["value"] for s in a} == {"CD"}  # same labels whatever the picture


def test_reports_put_rhythm_first_and_name_every_statement():
    assert report_from_labels({"CLBBB": 100.0, "SR": 0.0}) == "Sinus rhythm. Complete left bundle branch block."
    report = report_from_labels({"ISC_": 50.0, "INVT": 100.0, "STACH": 0.0, "IMI": 80.0})
    assert report.startswith("Sinus tachycardia. ")
    assert "Inferior myocardial infarction." in report and report.endswith("Inverted T-waves.")


def test_splits_and_statistics():
    samples = build_samples(_records(), ["abnormality_detection"], _images(_records()), seed=0)
    by_split = split_samples(samples)
    assert {k: [s["record_id"] for s in v] for k, v in by_split.items()} == {"train": ["a"], "val": ["c"], "test": ["b"]}
    stats = statistics(samples)
    assert stats["per_label"] == {"CD": 1, "MI": 1, "STTC": 1}
    assert stats["per_split"] == {"test": 1, "train": 1, "val": 1}
