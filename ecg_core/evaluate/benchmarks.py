"""Benchmarks (what ECGBench calls its tasks), and the questions each one asks, ready to ask.

A benchmark is the test questions of an instruction set, the label set
or options its answers name, the parser that reads them and the metric ECGBench reports for it.

    <set>/<benchmark>          e.g. demo/ptbxl-super, ecgbench/ptbxl-report

Our own sets (`ecgflow instruct`) hold several benchmarks, told apart by each question's topic, style and source
dataset; a set imported with `ecgflow ingest ecgbench` holds one benchmark per published file, named by its file
(`ptbxl_report_generation_test.json` -> ptbxl-report), whose questions and answers are used as published.

A benchmark's questions ready to ask: each with a page in the store, and a truth its metric can read.

Our own questions point at rendered pages already. An imported (ECGBench) question points at its published
image path: the page is there when the import found it beside the file; when it is not, a PTB-XL question
(its id or path names the ecg_id, e.g. "ptb-report-07190_hr-0") gets the page drawn from the ingested PTB-XL
record, with the default render settings; any other is skipped with the reason, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ecg_core import layout
from ecg_core.answers import chosen_option, parse_labels
from ecg_core.errors import MissingInput, WrongInput
from ecg_core.image_store import render_variant
from ecg_core.labels import CODE15, CPSC, SUPERCLASSES
from ecg_core.record_store import read_records
from ecg_core.render.encode import EXTENSIONS
from ecg_core.render.variants import RenderConfig
from ecg_core.store import Store

METRICS = ("multilabel", "choice", "report")  # AUC/macro F1/Hamming; accuracy; report score (labels or judge)


@dataclass(frozen=True)
class BenchmarkKind:
    name: str
    title: str  # as the leaderboard heads its column
    metric: str  # one of METRICS
    labels: tuple[str, ...] = ()  # the label set of a multilabel benchmark, in ECGBench's order
    topic: str | None = None  # the questions of our own sets it takes: topic, style, source dataset pattern
    style: str | None = None
    sources: str | None = None
    published_file: str | None = None  # pattern of the ECGBench file names it stands for


# In the order a published file name is matched against them: reports and ECG-QA (whose images are PTB-XL's)
# before the PTB-XL classes.
KINDS = (
    BenchmarkKind("ptbxl-report", "PTB-XL report", "report", published_file=r"ptb.*report|report.*ptb"),
    BenchmarkKind("ecg-arena", "ECG Arena", "report", published_file=r"arena"),
    BenchmarkKind("ecg-qa", "ECG-QA", "choice", published_file=r"ecg[-_]?qa"),
    BenchmarkKind("mmmu-ecg", "MMMU-ECG", "choice", published_file=r"mmmu"),
    BenchmarkKind(
        "csn", "CSN", "choice", style="choice", sources=r"ningbo|chapman|shaoxing|csn", published_file=r"csn"
    ),
    BenchmarkKind("g12ec", "G12EC", "choice", style="choice", sources=r"georgia|g12", published_file=r"g12"),
    BenchmarkKind("code15", "CODE-15%", "multilabel", tuple(CODE15), "code15", published_file=r"code[-_]?15"),
    BenchmarkKind("cpsc2018", "CPSC 2018", "multilabel", tuple(CPSC), "cpsc", published_file=r"cpsc"),
    BenchmarkKind("ptbxl-super", "PTB-XL super", "multilabel", SUPERCLASSES, "superclass", "open", None, r"ptb"),
    BenchmarkKind("report", "report generation", "report", topic="report"),
    BenchmarkKind("choice", "multiple choice", "choice", style="choice"),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}
OWN_KINDS = tuple(kind for kind in KINDS if kind.topic or kind.style)


@dataclass(frozen=True)
class Benchmark:
    instruct: str  # the instruction set whose test split holds the questions
    kind: BenchmarkKind
    origins: tuple[str, ...] = ()  # the published file(s) of an imported benchmark

    @property
    def id(self) -> str:
        return f"{self.instruct}/{self.kind.name}"

    def takes(self, sample: dict) -> bool:
        """Whether a test sample is one of this benchmark's questions."""
        if self.origins:
            return sample.get("origin") in self.origins
        kind = self.kind
        return (
            "origin" not in sample
            and (kind.topic is None or sample.get("topic") == kind.topic)
            and (kind.style is None or sample.get("style") == kind.style)
            and (kind.sources is None or re.search(kind.sources, sample["source"] or "", re.I) is not None)
        )


def kind_of_file(origin: str, family: str) -> BenchmarkKind:
    """The benchmark a published file holds, from its name; a file no ECGBench benchmark names is a benchmark of its own."""
    name = origin.lower()
    for kind in KINDS:
        if kind.published_file and re.search(kind.published_file, name):
            return kind
    stem = re.sub(r"[^a-z0-9]+", "-", name.rsplit(".", 1)[0]).strip("-")
    return BenchmarkKind(stem, origin, "report" if family == "report_generation" else "choice")


def benchmarks_of(name: str, test: list[dict]) -> dict[str, tuple[Benchmark, int]]:
    """Every benchmark the test split of instruction set `name` holds, with its number of questions, by benchmark id."""
    found: dict[str, tuple[Benchmark, int]] = {}
    imported = Counter((s["origin"], s["task_family"]) for s in test if "origin" in s)
    for (origin, family), n in imported.items():  # two files of one benchmark (say, in parts) make one benchmark
        benchmark = Benchmark(name, kind_of_file(origin, family))
        before, count = found.get(benchmark.id, (benchmark, 0))
        found[benchmark.id] = (Benchmark(name, benchmark.kind, (*before.origins, origin)), count + n)
    own = [s for s in test if "origin" not in s]
    for kind in OWN_KINDS:
        benchmark = Benchmark(name, kind)
        if n := sum(benchmark.takes(s) for s in own):
            found[benchmark.id] = (benchmark, n)
    return found


def instruction_sets(store: Store) -> list[str]:
    """The instruction sets in the store that have a test split."""
    test_file = layout.split_file("test")
    return sorted({key.split("/")[1] for key in store.list("instruct/") if key.endswith("/" + test_file)})


def list_benchmarks(store: Store) -> list[dict]:
    """One row per benchmark of every instruction set: id, title, metric, questions, and how many lack an image."""
    rows = []
    for name in instruction_sets(store):
        test = store.get_jsonl(layout.split_key(name, "test"))
        for benchmark_id, (benchmark, n) in benchmarks_of(name, test).items():
            missing = sum(not store.exists(s["image"]) for s in test if benchmark.takes(s))
            rows.append(
                {
                    "benchmark": benchmark_id,
                    "title": benchmark.kind.title,
                    "metric": benchmark.kind.metric,
                    "questions": n,
                }
                | {"without_image": missing}
            )
    return rows


DEFAULT_BENCHMARKS = ("ptbxl-super", "report")  # the paper's Table I


def default_benchmarks(store: Store, instruct: str | None) -> list[str]:
    """The paper's benchmarks in instruction set `instruct`: those of DEFAULT_BENCHMARKS it holds."""
    if instruct is None:
        raise WrongInput("name the benchmarks (--benchmarks <set>/<benchmark> ...) or the instruction set (--instruct)")
    found = benchmarks_of(
        instruct, store.get_jsonl(layout.split_key(instruct, "test")) if _has_test(store, instruct) else []
    )
    chosen = [f"{instruct}/{name}" for name in DEFAULT_BENCHMARKS if f"{instruct}/{name}" in found]
    if not chosen:
        raise MissingInput(
            f"instruction set {instruct!r} holds none of {', '.join(DEFAULT_BENCHMARKS)}; benchmarks there: "
            f"{', '.join(found) or 'none'}"
        )
    return chosen


def resolve(store: Store, benchmark_ids: list[str], default_set: str | None) -> list[Benchmark]:
    """Benchmarks by id; a bare benchmark name is looked up in `default_set`. An unknown id raises, naming those there are."""
    benchmarks = []
    for benchmark_id in benchmark_ids:
        name, _, benchmark_name = benchmark_id.rpartition("/")
        name = name or default_set
        if name is None:
            raise ValueError(
                f"benchmark {benchmark_id!r}: name its instruction set (<set>/{benchmark_id}) or give --instruct"
            )
        found = benchmarks_of(name, store.get_jsonl(layout.split_key(name, "test")) if _has_test(store, name) else [])
        benchmark = found.get(f"{name}/{benchmark_name}")
        if benchmark is None:
            raise ValueError(
                f"no benchmark {name}/{benchmark_name} in {store.url(layout.instruct_prefix(name))}; "
                f"benchmarks there: {', '.join(found) or 'none'} (ecgflow evaluate --list-benchmarks)"
            )
        benchmarks.append(benchmark[0])
    return benchmarks


def _has_test(store: Store, name: str) -> bool:
    return store.exists(layout.split_key(name, "test"))


def question(sample: dict) -> str:
    """The first human turn without its image placeholder: what is asked."""
    return sample["conversations"][0]["value"].removeprefix("<image>").strip()


def reference(sample: dict) -> str:
    return sample["conversations"][1]["value"]


def truth_of(benchmark: Benchmark, sample: dict):
    """What a correct answer says: the label list, the chosen option, or the reference report; None when a
    published answer cannot be read."""
    kind = benchmark.kind
    if kind.metric == "report":
        return reference(sample)
    if kind.metric == "choice":
        return chosen_option(question(sample), reference(sample))
    if not benchmark.origins:
        return [label for label in kind.labels if label in sample["labels"]]
    labels = parse_labels(reference(sample), kind.labels, question(sample))
    return None if labels is None else sorted(labels)


def gradable(benchmark: Benchmark, samples: list[dict]) -> tuple[list[dict], list[dict]]:
    """(questions with a readable truth, [{id, reason}] for those without)."""
    kept, skipped = [], []
    for sample in samples:
        if truth_of(benchmark, sample) is None:
            skipped.append({"id": sample["id"], "reason": f"published answer not readable as {benchmark.kind.name}"})
        else:
            kept.append(sample)
    return kept, skipped


PAGE_SETTINGS = RenderConfig(format="png")  # the default printout and artefacts, always PNG: its key is known
PTBXL_DATASET = "ptbxl"  # where `ecgflow ingest ptbxl` puts PTB-XL
PTBXL_ID = re.compile(r"(?<![\d])(\d{1,5})_(?:hr|lr)(?![a-z])")  # "07190_hr" in an ECGBench id or image path


def ptbxl_record_id(sample: dict) -> str | None:
    """The ingested record an imported PTB-XL question shows, by the ecg_id its id or image path names."""
    match = PTBXL_ID.search(sample["id"]) or PTBXL_ID.search(sample["image"])
    return f"ptbxl-{int(match[1])}" if match and sample["source"] == PTBXL_DATASET else None


class Pages:
    """Pages for imported questions whose image is missing: drawn once from the ingested PTB-XL records."""

    def __init__(self, store: Store, instruct: str):
        self.store, self.instruct = store, instruct
        self._records = None

    def records(self) -> dict:
        if self._records is None:  # read only when a page is missing, and then once
            present = self.store.exists(layout.manifest_key(PTBXL_DATASET))
            self._records = {r.record_id: r for r in read_records(self.store, PTBXL_DATASET)} if present else {}
        return self._records

    def page_for(self, sample: dict) -> str | None:
        """A store key of the sample's page, or None (then `missing_reason` says why)."""
        if self.store.exists(sample["image"]):
            return sample["image"]
        record_id = ptbxl_record_id(sample)
        if record_id is None or record_id not in self.records():
            return None
        key = layout.imported_image_key(self.instruct, f"{record_id}{EXTENSIONS[PAGE_SETTINGS.format]}")
        if not self.store.exists(key):
            data, _, _ = render_variant(self.records()[record_id], PAGE_SETTINGS, 0)
            self.store.put_bytes(key, data)
        return key

    def missing_reason(self, sample: dict) -> str:
        record_id = ptbxl_record_id(sample)
        if record_id is None:
            return f"image {sample['image']} is not in the store and the question names no PTB-XL record"
        return f"image {sample['image']} is not in the store and {record_id} is not ingested (ecgflow ingest ptbxl)"


def benchmark_questions(store: Store, benchmark: Benchmark, test: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the benchmark's questions with their pages, [{id, reason}] for each one left out)."""
    pages, kept, skipped = Pages(store, benchmark.instruct), [], []
    for sample in test:
        if not benchmark.takes(sample):
            continue
        page = pages.page_for(sample)
        if page is None:
            skipped.append({"id": sample["id"], "reason": pages.missing_reason(sample)})
        else:
            kept.append(sample | {"image": page})
    readable, unreadable = gradable(benchmark, kept)
    return readable, skipped + unreadable
