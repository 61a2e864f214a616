"""LLM-as-judge for report generation: every generated report graded against its reference on 0-100.

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
from dataclasses import dataclass

from ecg_core.evaluate.endpoint import Cache, EndpointConfig, Unreadable, ask_each, complete, cost_usd
from ecg_core.evaluate.privacy import LOOPBACK_HOSTS
from ecg_core.evaluate.rubrics import (
    MalformedReply,
    Rubric,
    correction_message,
    get_rubric,
    judge_messages,
    parse_reply,
)
from ecg_core.settings import knob

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
            raise Unreadable(str(exc), raw, [{"role": "assistant", "content": raw}, correction_message(str(exc))])

    out = complete(client, messages, read, max_attempts=max_attempts, backoff_s=backoff_s, secret=secret, model=model)
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
        "cost_usd": cost_usd(model, prompt_tokens, completion_tokens),
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
    cache: Cache | None = None,
    max_workers: int = 4,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 120.0,
    vision: bool = False,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    allow_credentialed_remote: bool = False,
) -> JudgeResult:
    """Grade each item {"id", "report", "reference", optional "image" (PNG/JPEG bytes), optional
    "credentialed"} with `rubric`; the image is sent only when `vision` says the endpoint reads images.

    `base_url` and `api_key` fall back to OPENAI_BASE_URL and OPENAI_API_KEY. Credentialed items are refused
    (PrivacyError, before any request) for hosts outside `allowed_hosts` unless `allow_credentialed_remote`.
    Each result: {"id", "score" (0-100, None when failed), "subscores", "rationale", "failed", "raw" and
    "error" (set when failed), "cached", "usage" (tokens spent by this run)}.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    spec = get_rubric(rubric)
    images = [item.get("image") if vision else None for item in items]

    def ask(client, secret: str | None, i: int) -> dict:
        messages = judge_messages(spec, items[i]["report"], items[i]["reference"], images[i])
        return _ask(client, spec, messages, model=model, max_attempts=max_attempts, backoff_s=backoff_s, secret=secret)

    outcomes = ask_each(
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
        max_workers=max_workers,
        timeout_s=timeout_s,
        allowed_hosts=allowed_hosts,
        allow_credentialed_remote=allow_credentialed_remote,
    )
    results = [{"id": item["id"], **outcome} for item, outcome in zip(items, outcomes, strict=True)]
    return JudgeResult(results, _summary(results, model, rubric))
