"""Judge rubrics for report generation: the prompt each rubric sends and how its JSON reply is scored.

Two rubrics, both ending in one score on 0-100:
- "paper": the fine-tuning paper's rubric. The judge rates medical accuracy, consistency with the ECG
  image, completeness of ECG details and clinical utility (each 0-100) and gives one overall score 0-100,
  which is the score we keep.
- "pulse": the PULSE / ECGBench rubric. The judge rates diagnosis, waveform and rhythm, each 0-10, and we
  compute the overall score ourselves: score = (diagnosis + waveform + rhythm) / 3 * 10.

A reply that is not a JSON object, lacks a field or has a value out of range raises `MalformedReply`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ecg_core.evaluate.endpoint import image_data_url


class MalformedReply(ValueError):
    """The judge's reply cannot be scored; the message says why."""


@dataclass(frozen=True)
class Rubric:
    name: str
    instructions: str  # the system prompt
    subscores: tuple[str, ...]  # fields the judge must return, each a number in [0, subscore_max]
    subscore_max: float
    overall: Callable[[dict, dict], float]  # (reply, subscores) -> score on 0-100

    @property
    def fingerprint(self) -> str:
        """Changes whenever the prompt does, so cached judgements of an older prompt are not reused."""
        return hashlib.sha256(self.instructions.encode()).hexdigest()[:16]


_COMMON = """You are a cardiologist grading an automatically generated ECG report against the reference \
report written for the same ECG. Compare with the ECG image when one is attached; otherwise with the ECG \
as described by the reference report. Judge the content, not the wording or the style."""

PAPER = f"""{_COMMON}

Rate four criteria, each an integer from 0 (worst) to 100 (best):
- medical_accuracy: are the findings and diagnoses medically correct, with nothing wrong or invented?
- image_consistency: does the report agree with what the ECG shows?
- completeness: does it cover the ECG details of the reference: rhythm, rate, axis, intervals, waveform \
morphology and diagnoses?
- clinical_utility: would it lead a clinician to the right decision?
Then give one overall score, an integer from 0 to 100, for the report as a whole.

Reply with only a JSON object, no other text:
{{"medical_accuracy": <0-100>, "image_consistency": <0-100>, "completeness": <0-100>, \
"clinical_utility": <0-100>, "score": <0-100>, "rationale": "<one or two sentences>"}}"""

PULSE = f"""{_COMMON}

Rate three aspects, each an integer from 0 (wrong or missing) to 10 (fully correct and complete):
- diagnosis: do the diagnoses match the reference, with none missing and none invented?
- waveform: are the waveform findings (P waves, QRS complexes, ST segments, T waves, intervals, axis) \
correct and complete?
- rhythm: is the rhythm (type, rate, regularity, conduction) correct?

Reply with only a JSON object, no other text:
{{"diagnosis": <0-10>, "waveform": <0-10>, "rhythm": <0-10>, "rationale": "<one or two sentences>"}}"""


def pulse_score(diagnosis: float, waveform: float, rhythm: float) -> float:
    """PULSE's three 0-10 ratings as one 0-100 score: their mean, times 10."""
    return (diagnosis + waveform + rhythm) / 3 * 10


RUBRICS = {
    "paper": Rubric(
        "paper",
        PAPER,
        ("medical_accuracy", "image_consistency", "completeness", "clinical_utility"),
        100,
        lambda reply, _: _number(reply, "score", 100),
    ),
    "pulse": Rubric(
        "pulse",
        PULSE,
        ("diagnosis", "waveform", "rhythm"),
        10,
        lambda _, sub: pulse_score(sub["diagnosis"], sub["waveform"], sub["rhythm"]),
    ),
}


def get_rubric(name: str) -> Rubric:
    if name not in RUBRICS:
        raise ValueError(f"unknown rubric {name!r}; known: {', '.join(RUBRICS)}")
    return RUBRICS[name]


def judge_messages(rubric: Rubric, report: str, reference: str, image: bytes | None = None) -> list[dict]:
    """Chat messages asking the judge to grade `report` against `reference` (and the image, if given)."""
    text = f"Reference report:\n{reference}\n\nGenerated report:\n{report}"
    if image is None:
        user = text
    else:
        user = [
            {"type": "text", "text": f"The ECG image is attached.\n\n{text}"},
            {"type": "image_url", "image_url": {"url": image_data_url(image)}},
        ]
    return [{"role": "system", "content": rubric.instructions}, {"role": "user", "content": user}]


def correction_message(problem: str) -> dict:
    """The follow-up turn after a malformed reply: telling the judge what was wrong fixes it more often
    than asking the same question again at temperature 0."""
    return {"role": "user", "content": f"Your reply could not be used: {problem}. Reply with only the JSON object."}


def _json_object(text: str) -> dict:
    # Judges often wrap JSON in a ```json fence or add a sentence around it: take the outermost braces.
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match is None:
        raise MalformedReply("no JSON object in the reply")
    try:
        obj = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise MalformedReply(f"invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise MalformedReply("the reply is not a JSON object")
    return obj


def _number(reply: dict, field: str, top: float) -> float:
    value = reply.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedReply(f"{field!r} is missing or not a number")
    if not 0 <= value <= top:
        raise MalformedReply(f"{field!r} = {value} is outside 0-{top:g}")
    return float(value)


def parse_reply(rubric: Rubric, text: str) -> dict:
    """{"score" (0-100), "subscores", "rationale"} from the judge's reply, or MalformedReply."""
    reply = _json_object(text)
    subscores = {name: _number(reply, name, rubric.subscore_max) for name in rubric.subscores}
    rationale = reply.get("rationale")
    return {
        "score": rubric.overall(reply, subscores),
        "subscores": subscores,
        "rationale": rationale if isinstance(rationale, str) else "",
    }
