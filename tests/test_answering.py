"""Detection predictions: resumable in chunks, and refused when made for another label set."""

import pytest

from ecg_core.evaluate.answering import check_label_set
from ecg_core.evaluate.benchmarks import KIND_BY_NAME, Benchmark
from ecg_core.evaluate.grading import benchmark_metrics
from ecg_core.resumable import resume

LABEL_SET = "ptbxl-super"


def _row(sample_id: str, label_set: str = LABEL_SET) -> dict:
    return {
        "id": sample_id,
        "label_set": label_set,
        "answer": "MI",
        "parsed": ["MI"],
        "truth": ["MI"],
        "scores": {"NORM": 0.1, "MI": 0.8, "STTC": 0.05, "CD": 0.03, "HYP": 0.02},
    }


def test_an_interrupted_prediction_resumes_where_it_stopped():
    samples = [{"id": f"s{i}"} for i in range(10)]
    asked, saved = [], []

    def predict_chunk(chunk):
        asked.append([s["id"] for s in chunk])
        if len(asked) == 2:
            raise KeyboardInterrupt  # killed during the second chunk
        return [_row(s["id"]) for s in chunk]

    with pytest.raises(KeyboardInterrupt):
        resume(samples, [], predict_chunk, saved.append, chunk=4)
    assert [r["id"] for r in saved[-1]] == ["s0", "s1", "s2", "s3"]  # the first chunk was saved

    asked.clear()
    rows = resume(
        samples, saved[-1], lambda chunk: asked.append(chunk) or [_row(s["id"]) for s in chunk], saved.append, chunk=4
    )
    assert [[s["id"] for s in chunk] for chunk in asked] == [["s4", "s5", "s6", "s7"], ["s8", "s9"]]
    assert [r["id"] for r in rows] == [s["id"] for s in samples]


def test_predictions_of_another_label_set_are_refused():
    rows = [_row("a"), _row("b", "code15")]
    with pytest.raises(ValueError, match=r"eval/x/predictions-baseline.jsonl: predictions for label set \['code15'\]"):
        check_label_set(rows, "eval/x/predictions-baseline.jsonl", LABEL_SET)
    check_label_set([_row("a"), _row("b")], "eval/x/predictions-baseline.jsonl", LABEL_SET)  # its own: accepted
    assert benchmark_metrics(Benchmark("demo", KIND_BY_NAME[LABEL_SET]), [_row("a"), _row("b")])["auc_from"] == "scores"
