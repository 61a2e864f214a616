"""ECGBench benchmarks in a store: which questions each benchmark holds, how answers are read and scored, where pages of
imported questions come from, and the leaderboard that keeps published figures apart."""

from __future__ import annotations

import json

import pytest

from ecg_core.answers import chosen_option
from ecg_core.evaluate.benchmarks import (
    KIND_BY_NAME,
    Benchmark,
    benchmark_questions,
    benchmarks_of,
    default_benchmarks,
    list_benchmarks,
    resolve,
)
from ecg_core.evaluate.grading import benchmark_metrics, prediction_row, truth_of
from ecg_core.evaluate.leaderboard import leaderboard, leaderboard_markdown, leaderboard_rows
from ecg_core.record_store import write_records
from ecg_core.sources.instructions import import_instructions
from ecg_core.store import LocalStore
from tests.factories import CHOICE, make_record, sample
from tests.fixtures import ECGBENCH_REPORTS


def test_our_sets_hold_a_task_per_label_set_and_the_choice_questions_per_source():
    test = [
        sample(0, "superclass", "open", "MI", ["MI"]),
        sample(1, "superclass", "open", "NORM", ["NORM"]),
        sample(2, "rhythm", "choice", "A. sinus rhythm", ["sinus rhythm"]),
        sample(3, "rhythm", "choice", "B. atrial fibrillation", ["atrial fibrillation"], source="georgia"),
        sample(4, "report", "open", "Sinus rhythm."),
    ]
    found = {task_id: n for task_id, (_, n) in benchmarks_of("mine", test).items()}
    assert found == {"mine/ptbxl-super": 2, "mine/report": 1, "mine/g12ec": 1, "mine/choice": 2}


def test_an_imported_file_is_one_task_named_after_it():
    test = [sample(i, None, "open", "x", origin="cpsc_test.json", task_family="x") for i in range(3)]
    test += [sample(9, None, "choice", "A", origin="my_quiz.jsonl", task_family="question_answering")]
    found = benchmarks_of("bench", test)
    assert {k: n for k, (_, n) in found.items()} == {"bench/cpsc2018": 3, "bench/my-quiz": 1}
    assert found["bench/cpsc2018"][0].kind.labels[:3] == ("Normal", "AF", "I-AVB")
    assert found["bench/my-quiz"][0].kind.metric == "choice"


def test_benchmarks_are_named_with_their_set_or_found_in_the_default_one(tmp_path):
    store = LocalStore(tmp_path)
    store.put_jsonl("instruct/mine/test.jsonl", [sample(0, "superclass", "open", "MI", ["MI"])])
    assert [t.id for t in resolve(store, ["ptbxl-super", "mine/ptbxl-super"], "mine")] == ["mine/ptbxl-super"] * 2
    assert default_benchmarks(store, "mine") == ["mine/ptbxl-super"]
    with pytest.raises(ValueError, match=r"no benchmark mine/code15 .*benchmarks there: mine/ptbxl-super"):
        resolve(store, ["mine/code15"], None)
    with pytest.raises(ValueError, match="name its instruction set"):
        resolve(store, ["ptbxl-super"], None)


def test_answers_are_read_by_the_task_never_guessed():
    assert chosen_option(CHOICE, "B") == chosen_option(CHOICE, "(B) atrial fibrillation") == "atrial fibrillation"
    assert chosen_option(CHOICE, "It is atrial fibrillation.") == "atrial fibrillation"
    assert chosen_option(CHOICE, "Either sinus rhythm or atrial fibrillation") is None  # two options: unparsed
    assert chosen_option("Is the rhythm regular?", "Yes.") == "yes"  # no options: the answer as it is
    code15 = Benchmark("bench", KIND_BY_NAME["code15"], ("code15_test.json",))
    imported = sample(0, None, "open", "RBBB, 1dAVb", origin="code15_test.json")
    assert truth_of(code15, imported) == ["1dAVb", "RBBB"]  # read from the published answer
    row = prediction_row(code15, imported, "I see no block")
    assert row["parsed"] is None and row["label_set"] == "code15"  # names no class of the set: unparsed
    assert prediction_row(code15, imported, "none")["parsed"] == []


def test_accuracy_counts_unparsed_answers_as_wrong_and_carries_an_interval():
    benchmark = Benchmark("mine", KIND_BY_NAME["choice"])
    rows = [
        prediction_row(benchmark, sample(i, "rhythm", "choice", "A. sinus rhythm"), a) for i, a in enumerate("AABx")
    ]
    metrics = benchmark_metrics(benchmark, rows)
    assert metrics["accuracy"] == 0.5 and metrics["n_unparsed"] == 1 and metrics["n"] == 4
    low, high = metrics["ci95"]["accuracy"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0


def test_the_real_ecgbench_report_file_is_a_benchmark_whose_pages_come_from_ingested_ptbxl_records(tmp_path):
    store = LocalStore(tmp_path)
    counts = import_instructions(store, "ecgbench", ECGBENCH_REPORTS, "test", ecgbench=True)
    assert counts["n"] == 500 and counts["rejected"] == 0
    assert list_benchmarks(store) == [
        {"benchmark": "ecgbench/ptbxl-report", "title": "PTB-XL report", "metric": "report", "questions": 500}
        | {"without_image": 500}
    ]
    benchmark = resolve(store, ["ecgbench/ptbxl-report"], None)[0]
    test = store.get_jsonl("instruct/ecgbench/test.jsonl")
    first = json.loads(ECGBENCH_REPORTS.read_text())[0]  # "ptb-report-07190_hr-0"
    questions, skipped = benchmark_questions(store, benchmark, test)
    assert questions == [] and len(skipped) == 500
    assert skipped[0] == {
        "id": first["id"],
        "reason": f"image {first['image']} is not in the store and ptbxl-7190 is not ingested (ecgflow ingest ptbxl)",
    }
    write_records(store, "ptbxl", [make_record("ptbxl-7190", dataset="ptbxl")])  # that one record ingested
    questions, skipped = benchmark_questions(store, benchmark, test)
    assert [q["id"] for q in questions] == [first["id"]] and len(skipped) == 499
    assert questions[0]["image"] == "instruct/ecgbench/images/ptbxl-7190.png"
    assert store.get_bytes(questions[0]["image"]).startswith(b"\x89PNG")
    assert truth_of(benchmark, questions[0]) == first["conversation"][1]["value"]


def test_images_beside_an_imported_file_are_copied_into_the_set(tmp_path):
    folder = tmp_path / "ecgbench"
    (folder / "test_images").mkdir(parents=True)
    (folder / "test_images/00059_hr-0.png").write_bytes(b"\x89PNG\r\n\x1a\n page")
    items = [
        {
            "id": "ptb-report-00059_hr-0",
            "image": "test_images/00059_hr-0.png",
            "conversation": [
                {"from": "user", "value": "Please write a clinical report based on this ECG image."},
                {"from": "assistant", "value": "Sinus rhythm."},
            ],
        }
    ]
    (folder / "ptbxl_report_generation_test.json").write_text(json.dumps(items))
    store = LocalStore(tmp_path / "store")
    import_instructions(store, "ecgbench", folder / "ptbxl_report_generation_test.json", "test", ecgbench=True)
    [imported] = store.get_jsonl("instruct/ecgbench/test.jsonl")
    assert imported["image"] == "instruct/ecgbench/images/test_images/00059_hr-0.png"
    assert list_benchmarks(store)[0]["without_image"] == 0


def test_the_leaderboard_marks_hard_label_auc_and_keeps_published_figures_apart():
    benchmarks = [
        {"task": "mine/ptbxl-super", "title": "PTB-XL super", "metric": "multilabel", "questions": 2}
        | {"skipped": 0, "kind": "ptbxl-super"}
    ]
    scored = {"auc": 0.8, "auc_from": "scores", "macro_f1": 0.5, "hamming": 0.2, "n": 2, "n_unparsed": 0}
    scored["ci95"] = {"auc_score": [0.7, 0.9], "auc_hard": [0.5, 0.6], "macro_f1": [0.4, 0.6], "hamming": [0.1, 0.3]}
    hard = scored | {"auc": 0.55, "auc_from": "hard_labels"}
    board = leaderboard(
        "e", benchmarks, {"finetuned": {"mine/ptbxl-super": scored}, "openai:x": {"mine/ptbxl-super": hard}}
    )
    assert board["rows"]["finetuned"]["mine/ptbxl-super"]["AUC"] == {"value": 80.0, "ci95": [70.0, 90.0]}
    hard_auc = board["rows"]["openai:x"]["mine/ptbxl-super"]["AUC"]
    assert hard_auc == {"value": pytest.approx(55.0), "ci95": [50.0, 60.0], "from_hard_labels": True}
    assert {p["task"] for p in board["published"]} == {"ptbxl-super"}
    measured, published = leaderboard_markdown(board).split("## Published, not measured here")
    assert "| finetuned | 80.0 [70.0-90.0] | 50.0 [40.0-60.0] | 20.0 [10.0-30.0] |" in measured
    assert "| openai:x | 55.0* [50.0-60.0] |" in measured
    assert "*: AUC from hard labels" in measured and "GPT-4o" not in measured
    assert "| GPT-4o | 55.6 | 28.3 | 26.2 |" in published


def test_the_leaderboards_table_rows_hold_every_column_as_the_markdown_shows_it():
    """The UI's table takes its columns from the first row: a CNN row (no report benchmark) first must not drop the
    report score of the rows after it."""
    benchmarks = [
        {"task": "s/ptbxl-super", "title": "super", "metric": "multilabel", "questions": 2, "skipped": 0}
        | {"kind": "ptbxl-super"},
        {"task": "s/report", "title": "report", "metric": "report", "questions": 2, "skipped": 0, "kind": "report"},
    ]
    detection = {"auc": 0.8, "auc_from": "scores", "macro_f1": 0.5, "hamming": 0.2, "n": 2, "n_unparsed": 0}
    report = {"score": 54.08461633242895, "n": 2, "ci95": {"score": [21.761006289308177, 80.0]}}
    board = leaderboard(
        "e",
        benchmarks,
        {"cnn-image": {"s/ptbxl-super": detection}, "finetuned": {"s/ptbxl-super": detection, "s/report": report}},
    )
    rows = leaderboard_rows(board)
    assert (
        list(rows[0])
        == list(rows[1])
        == ["candidate", "s/ptbxl-super AUC", "s/ptbxl-super F1", "s/ptbxl-super HL", "s/report score"]
    )
    assert rows[0]["s/report score"] == "-" and rows[1]["s/report score"] == "54.1 [21.8-80.0]"
    assert "| finetuned | 80.0 | 50.0 | 20.0 | 54.1 [21.8-80.0] |" in leaderboard_markdown(board)
