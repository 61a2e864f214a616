"""One reading per page: the model asked the paper's two questions, as training asked them.

- detection: the first superclass question of the instruction sets; the answer as written, the superclasses it
  names (ecg_core/answers.py: None when it names none and says no "none": unparsed, never guessed) and each superclass's
  probability as the answer (the same teacher-forced score as evaluation's AUC);
- report: the first report question; the generated report as written.

Every reading says which model answered and that it is not a medical device.
"""

from __future__ import annotations

from pathlib import Path

from ecg_core.answers import parse_labels
from ecg_core.evaluate.grading import REPORT_TOKENS
from ecg_core.evaluate.inference import generate_answers
from ecg_core.evaluate.scores import label_scores
from ecg_core.instruct.families.abnormality import SUPERCLASS_QUESTIONS
from ecg_core.instruct.families.report import QUESTIONS as REPORT_QUESTIONS
from ecg_core.labels import SUPERCLASSES
from ecg_core.model.page_tiles import PagePreprocessing

DETECTION_QUESTION = SUPERCLASS_QUESTIONS[0]
REPORT_QUESTION = REPORT_QUESTIONS[0]
NOTICE = (
    "Research output of a vision-language model, not a medical device: not for diagnosis or treatment; "
    "every reading needs a clinician's review."
)


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
