"""Evaluation tasks as ECGBench defines them: a task is the test questions of an instruction set, the label set
or options its answers name, the parser that reads them and the metric ECGBench reports for it.

    <set>/<task>          e.g. demo/ptbxl-super, ecgbench/ptbxl-report

Our own sets (`ecgflow instruct`) hold several tasks, told apart by each question's topic, style and source
dataset; a set imported with `ecgflow ingest ecgbench` holds one task per published file, named by its file
(`ptbxl_report_generation_test.json` -> ptbxl-report), whose questions and answers are used as published.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ecg_core import layout
from ecg_core.errors import MissingInput, WrongInput
from ecg_core.labels import CODE15, CPSC, SUPERCLASSES
from ecg_core.store import Store

METRICS = ("multilabel", "choice", "report")  # AUC/macro F1/Hamming; accuracy; report score (labels or judge)


@dataclass(frozen=True)
class TaskKind:
    name: str
    title: str  # as the leaderboard heads its column
    metric: str  # one of METRICS
    labels: tuple[str, ...] = ()  # the label set of a multilabel task, in ECGBench's order
    topic: str | None = None  # the questions of our own sets it takes: topic, style, source dataset pattern
    style: str | None = None
    sources: str | None = None
    published_file: str | None = None  # pattern of the ECGBench file names it stands for


# In the order a published file name is matched against them: reports and ECG-QA (whose images are PTB-XL's)
# before the PTB-XL classes.
KINDS = (
    TaskKind("ptbxl-report", "PTB-XL report", "report", published_file=r"ptb.*report|report.*ptb"),
    TaskKind("ecg-arena", "ECG Arena", "report", published_file=r"arena"),
    TaskKind("ecg-qa", "ECG-QA", "choice", published_file=r"ecg[-_]?qa"),
    TaskKind("mmmu-ecg", "MMMU-ECG", "choice", published_file=r"mmmu"),
    TaskKind("csn", "CSN", "choice", style="choice", sources=r"ningbo|chapman|shaoxing|csn", published_file=r"csn"),
    TaskKind("g12ec", "G12EC", "choice", style="choice", sources=r"georgia|g12", published_file=r"g12"),
    TaskKind("code15", "CODE-15%", "multilabel", tuple(CODE15), "code15", published_file=r"code[-_]?15"),
    TaskKind("cpsc2018", "CPSC 2018", "multilabel", tuple(CPSC), "cpsc", published_file=r"cpsc"),
    TaskKind("ptbxl-super", "PTB-XL super", "multilabel", SUPERCLASSES, "superclass", "open", None, r"ptb"),
    TaskKind("report", "report generation", "report", topic="report"),
    TaskKind("choice", "multiple choice", "choice", style="choice"),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}
OWN_KINDS = tuple(kind for kind in KINDS if kind.topic or kind.style)


@dataclass(frozen=True)
class Task:
    instruct: str  # the instruction set whose test split holds the questions
    kind: TaskKind
    origins: tuple[str, ...] = ()  # the published file(s) of an imported task

    @property
    def id(self) -> str:
        return f"{self.instruct}/{self.kind.name}"

    def takes(self, sample: dict) -> bool:
        """Whether a test sample is one of this task's questions."""
        if self.origins:
            return sample.get("origin") in self.origins
        kind = self.kind
        return (
            "origin" not in sample
            and (kind.topic is None or sample.get("topic") == kind.topic)
            and (kind.style is None or sample.get("style") == kind.style)
            and (kind.sources is None or re.search(kind.sources, sample["source"] or "", re.I) is not None)
        )


def kind_of_file(origin: str, family: str) -> TaskKind:
    """The task a published file holds, from its name; a file no ECGBench task names is a task of its own."""
    name = origin.lower()
    for kind in KINDS:
        if kind.published_file and re.search(kind.published_file, name):
            return kind
    stem = re.sub(r"[^a-z0-9]+", "-", name.rsplit(".", 1)[0]).strip("-")
    return TaskKind(stem, origin, "report" if family == "report_generation" else "choice")


def tasks_of(name: str, test: list[dict]) -> dict[str, tuple[Task, int]]:
    """Every task the test split of instruction set `name` holds, with its number of questions, by task id."""
    found: dict[str, tuple[Task, int]] = {}
    imported = Counter((s["origin"], s["task_family"]) for s in test if "origin" in s)
    for (origin, family), n in imported.items():  # two files of one task (say, in parts) make one task
        task = Task(name, kind_of_file(origin, family))
        before, count = found.get(task.id, (task, 0))
        found[task.id] = (Task(name, task.kind, (*before.origins, origin)), count + n)
    own = [s for s in test if "origin" not in s]
    for kind in OWN_KINDS:
        task = Task(name, kind)
        if n := sum(task.takes(s) for s in own):
            found[task.id] = (task, n)
    return found


def instruction_sets(store: Store) -> list[str]:
    """The instruction sets in the store that have a test split."""
    test_file = layout.split_file("test")
    return sorted({key.split("/")[1] for key in store.list("instruct/") if key.endswith("/" + test_file)})


def list_tasks(store: Store) -> list[dict]:
    """One row per task of every instruction set: id, title, metric, questions, and how many lack an image."""
    rows = []
    for name in instruction_sets(store):
        test = store.get_jsonl(layout.split_key(name, "test"))
        for task_id, (task, n) in tasks_of(name, test).items():
            missing = sum(not store.exists(s["image"]) for s in test if task.takes(s))
            rows.append(
                {"task": task_id, "title": task.kind.title, "metric": task.kind.metric, "questions": n}
                | {"without_image": missing}
            )
    return rows


DEFAULT_TASKS = ("ptbxl-super", "report")  # the paper's Table I


def default_tasks(store: Store, instruct: str | None) -> list[str]:
    """The paper's tasks in instruction set `instruct`: those of DEFAULT_TASKS it holds."""
    if instruct is None:
        raise WrongInput("name the tasks (--tasks <set>/<task> ...) or the instruction set (--instruct)")
    found = tasks_of(
        instruct, store.get_jsonl(layout.split_key(instruct, "test")) if _has_test(store, instruct) else []
    )
    chosen = [f"{instruct}/{name}" for name in DEFAULT_TASKS if f"{instruct}/{name}" in found]
    if not chosen:
        raise MissingInput(
            f"instruction set {instruct!r} holds none of {', '.join(DEFAULT_TASKS)}; tasks there: "
            f"{', '.join(found) or 'none'}"
        )
    return chosen


def resolve(store: Store, task_ids: list[str], default_set: str | None) -> list[Task]:
    """Tasks by id; a bare task name is looked up in `default_set`. An unknown id raises, naming those there are."""
    tasks = []
    for task_id in task_ids:
        name, _, task_name = task_id.rpartition("/")
        name = name or default_set
        if name is None:
            raise ValueError(f"task {task_id!r}: name its instruction set (<set>/{task_id}) or give --instruct")
        found = tasks_of(name, store.get_jsonl(layout.split_key(name, "test")) if _has_test(store, name) else [])
        task = found.get(f"{name}/{task_name}")
        if task is None:
            raise ValueError(
                f"no task {name}/{task_name} in {store.url(layout.instruct_prefix(name))}; "
                f"tasks there: {', '.join(found) or 'none'} (ecgflow evaluate --list-tasks)"
            )
        tasks.append(task[0])
    return tasks


def _has_test(store: Store, name: str) -> bool:
    return store.exists(layout.split_key(name, "test"))
