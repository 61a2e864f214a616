"""One reading per page: the model asked the paper's two questions, as training asked them.

- detection: the first superclass question of the instruction sets; the answer as written, the superclasses it
  names (ecg_core/answers.py: None when it names none and says no "none": unparsed, never guessed) and each superclass's
  probability as the answer (the same teacher-forced score as evaluation's AUC);
- report: the first report question; the generated report as written.

Every reading says which model answered (`model_info`: base, adapter, run, registry entry, the data it was trained
on, the pages it expects) and that it is not a medical device.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ecg_core import layout
from ecg_core.answers import parse_labels
from ecg_core.instruct.families.abnormality import SUPERCLASS_QUESTIONS
from ecg_core.instruct.families.report import QUESTIONS as REPORT_QUESTIONS
from ecg_core.labels import SUPERCLASSES
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.reading.generate import REPORT_TOKENS, generate_answers
from ecg_core.reading.reader import Reader
from ecg_core.reading.scores import label_scores
from ecg_core.store import Store

DETECTION_QUESTION = SUPERCLASS_QUESTIONS[0]
REPORT_QUESTION = REPORT_QUESTIONS[0]
NOTICE = (
    "Research output of a vision-language model, not a medical device: not for diagnosis or treatment; "
    "every reading needs a clinician's review."
)


def model_info(store: Store, reader: Reader) -> dict:
    """What every reading says of the model that read it: {"base", "adapter": store prefix or None, "run_id",
    "registry", "trained_on", "preprocessing"}."""
    return {
        "base": PurePosixPath(reader.model_dir).name,
        "adapter": reader.adapter,
        "run_id": reader.run_id,
        "registry": reader.registry,
        "trained_on": trained_on(store, reader.run_config),
        "preprocessing": reader.pages.describe(reader.tile),
    }


def trained_on(store: Store, run_config: dict | None) -> dict | None:
    """The instruction set a run learnt from and its source datasets (from the set's stats)."""
    if run_config is None:
        return None
    name = PurePosixPath(run_config["train_jsonl"]).parent.name
    stats_key = layout.instruct_stats_key(name)
    stats = store.get_json(stats_key) if store.exists(stats_key) else {}
    return {
        "instruction_set": name,
        "datasets": sorted(stats.get("per_source", {})),
        "steps": run_config.get("max_steps"),
    }


def _asked(pages: list[dict], question: str) -> list[dict]:
    return [
        {"id": p["id"], "image": p["image"], "conversations": [{"from": "human", "value": f"<image>\n{question}"}]}
        for p in pages
    ]


def read_pages(
    model,
    processor,
    pages: list[dict],
    image_root: Path,
    *,
    preprocessing: PagePreprocessing,
    batch_size: int,
    model_info: dict,
) -> list[dict]:
    """A reading per page ({"id", "source", "image"} with `image` under `image_root`), in order."""
    asked = _asked(pages, DETECTION_QUESTION)
    answers = generate_answers(model, processor, asked, image_root, pages=preprocessing, batch_size=batch_size)
    probabilities = label_scores(
        model, processor, asked, image_root, SUPERCLASSES, pages=preprocessing, batch_size=batch_size
    )
    reports = generate_answers(
        model,
        processor,
        _asked(pages, REPORT_QUESTION),
        image_root,
        pages=preprocessing,
        batch_size=batch_size,
        max_new_tokens=REPORT_TOKENS,
    )
    readings = []
    for page, answer, p, report in zip(pages, answers, probabilities, reports):
        labels = parse_labels(answer, SUPERCLASSES, DETECTION_QUESTION)
        readings.append(
            {
                "id": page["id"],
                "source": page["source"],
                "image": page["image"],
                "labels": None if labels is None else [c for c in SUPERCLASSES if c in labels],
                "unparsed": labels is None,
                "probabilities": {label: round(float(v), 4) for label, v in zip(SUPERCLASSES, p)},
                "answer": answer,
                "report": report,
                "question": DETECTION_QUESTION,
                "model": model_info,
                "notice": NOTICE,
            }
        )
    return readings
