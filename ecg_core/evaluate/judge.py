"""The LLM judge of generated reports: its rubrics, its calls and its summary.

Judge rubrics for report generation: the prompt each rubric sends and how its JSON reply is scored.

Two rubrics, both ending in one score on 0-100:
- "paper": the fine-tuning paper's rubric. The judge rates medical accuracy, consistency with the ECG
  image, completeness of ECG details and clinical utility (each 0-100) and gives one overall score 0-100,
  which is the score we keep.
- "pulse": the PULSE / ECGBench rubric. The judge rates diagnosis, waveform and rhythm, each 0-10, and we
  compute the overall score ourselves: score = (diagnosis + waveform + rhythm) / 3 * 10.

A reply that is not a JSON object, lacks a field or has a value out of range raises `MalformedReply`.

LLM-as-judge for report generation: every generated report graded against its reference on 0-100.

Works with any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM) through the `openai` client.
Each judgement is one chat call at temperature 0, retried with exponential backoff on 408/409/429/5xx and
connection errors; a malformed reply is retried with a note saying what was wrong, and after
`max_attempts` the item is recorded as failed (with the raw reply) while the rest of the evaluation goes on.
Successful judgements are cached by content, so a re-run only pays for what is new or failed before.
The API key is passed to the client and nowhere else: it never appears in results, cache entries or errors.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ecg_core.evaluate import endpoint
from ecg_core.evaluate.endpoint import EndpointConfig, EndpointPolicy
from ecg_core.settings import knob


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
            {"type": "image_url", "image_url": {"url": endpoint.image_data_url(image)}},
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


_JUDGEMENT = ("score", "subscores", "rationale")  # what a cache entry keeps


@dataclass(frozen=True)
class JudgeConfig(EndpointConfig):
    """An LLM judge of generated reports at an OpenAI-compatible endpoint."""

    model: str = knob("gpt-4o", "judge model name at the endpoint")
    rubric: str = knob("paper", "paper: 4 criteria -> 0-100; pulse: diagnosis, waveform, rhythm 0-10 each, x10")
    vision: bool = knob(False, "attach the ECG image (the endpoint must take images)")

    def __post_init__(self):
        get_rubric(self.rubric)  # refuses an unknown rubric now, not after the predictions


@dataclass
class JudgeResult:
    results: list[dict]  # one per item, in input order
    summary: dict


def cache_key(model: str, rubric: Rubric, report: str, reference: str, image: bytes | None = None) -> str:
    """sha256 of everything that decides the judgement; the image counts only when it is sent."""
    fields = {
        "model": model,
        "rubric": rubric.name,
        "prompt": rubric.fingerprint,
        "report": report,
        "reference": reference,
    }
    if image is not None:
        fields["image_sha256"] = hashlib.sha256(image).hexdigest()
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _ask(
    client, rubric: Rubric, messages: list[dict], *, model: str, max_attempts: int, backoff_s: float, secret: str | None
) -> dict:
    """One judgement in at most `max_attempts` calls: the parsed reply, or a failure with the last raw reply;
    a malformed reply is asked again with a note saying what was wrong."""

    def read(response) -> dict:
        raw = (response.choices[0].message.content if response.choices else None) or ""
        try:
            return parse_reply(rubric, raw)
        except MalformedReply as exc:
            raise endpoint.Unreadable(
                str(exc), raw, [{"role": "assistant", "content": raw}, correction_message(str(exc))]
            )

    out = endpoint.complete(
        client, messages, read, max_attempts=max_attempts, backoff_s=backoff_s, secret=secret, model=model
    )
    if out["value"] is not None:
        return {**out["value"], "failed": False, "raw": None, "error": None, "usage": out["usage"]}
    return {"score": None, "subscores": {}, "rationale": "", "failed": True} | {
        k: out[k] for k in ("raw", "error", "usage")
    }


def _from_cache(hit: dict) -> dict:
    judgement = {k: hit[k] for k in _JUDGEMENT}
    no_usage = {"prompt_tokens": 0, "completion_tokens": 0}  # a cached judgement costs nothing
    return {**judgement, "failed": False, "raw": None, "error": None, "usage": no_usage}


def _summary(results: list[dict], model: str, rubric: str) -> dict:
    scores = [r["score"] for r in results if not r["failed"]]
    prompt_tokens = sum(r["usage"]["prompt_tokens"] for r in results)
    completion_tokens = sum(r["usage"]["completion_tokens"] for r in results)
    return {
        "n": len(results),
        "n_scored": len(scores),
        "n_failed": len(results) - len(scores),
        "n_cached": sum(r["cached"] for r in results),
        "mean_score": sum(scores) / len(scores) if scores else None,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": endpoint.cost_usd(model, prompt_tokens, completion_tokens),
        "model": model,
        "rubric": rubric,
    }


def judge_reports(
    items: list[dict],
    *,
    model: str = "gpt-4o",
    rubric: str = "paper",
    base_url: str | None = None,
    api_key: str | None = None,
    cache: endpoint.Cache | None = None,
    vision: bool = False,
    policy: EndpointPolicy = EndpointPolicy(),
) -> JudgeResult:
    """Grade each item {"id", "report", "reference", optional "image" (PNG/JPEG bytes), optional
    "credentialed"} with `rubric`; the image is sent only when `vision` says the endpoint reads images.

    `base_url` and `api_key` fall back to OPENAI_BASE_URL and OPENAI_API_KEY. Credentialed items are refused
    (PrivacyError, before any request) for hosts outside the policy's `allowed_hosts` unless it allows
    credentialed records anywhere.
    Each result: {"id", "score" (0-100, None when failed), "subscores", "rationale", "failed", "raw" and
    "error" (set when failed), "cached", "usage" (tokens spent by this run)}.
    """
    spec = get_rubric(rubric)
    images = [item.get("image") if vision else None for item in items]

    def ask(client, secret: str | None, i: int) -> dict:
        messages = judge_messages(spec, items[i]["report"], items[i]["reference"], images[i])
        return _ask(
            client,
            spec,
            messages,
            model=model,
            max_attempts=policy.max_attempts,
            backoff_s=policy.backoff_s,
            secret=secret,
        )

    outcomes = endpoint.ask_each(
        items,
        [cache_key(model, spec, item["report"], item["reference"], image) for item, image in zip(items, images)],
        ask,
        base_url=base_url,
        api_key=api_key,
        cache=cache,
        from_cache=_from_cache,
        to_cache=lambda outcome: (
            None if outcome["failed"] else {k: outcome[k] for k in _JUDGEMENT} | {"model": model, "rubric": rubric}
        ),
        policy=policy,
    )
    results = [{"id": item["id"], **outcome} for item, outcome in zip(items, outcomes, strict=True)]
    return JudgeResult(results, _summary(results, model, rubric))
