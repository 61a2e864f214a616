"""An API candidate: a vision chat model at an OpenAI-compatible endpoint (GPT-4o, or a vLLM/TGI server of
another VLM) answering the same questions, with the same pages, as the Mllama rows.

Each question is one chat call at temperature 0 with the page inline (base64), retried with backoff on
408/409/429/5xx and connection errors, and at once on a reply without an answer (endpoint.complete); after `max_attempts` the question is
recorded as failed (unparsed) and the rest go on. Answers are cached by (model, prompt, image hash, answer
length, log-probabilities asked), so a re-run sends only what is new or failed before.

Scores for the score-based AUC come from the endpoint's log-probabilities when it returns them: a label's score
is the highest probability, at any position of the answer, of a token (chosen or among the `top_logprobs`
alternatives) that begins the label. That ranks the pages by how readily the model would name the label;
without log-probabilities only the hard-label AUC exists, and the metrics say so (`auc_from`).
"""

from __future__ import annotations

import hashlib
import json
import math

from ecg_core.evaluate.endpoint import Cache, Unreadable, ask_each, complete, cost_usd, image_data_url
from ecg_core.evaluate.privacy import LOOPBACK_HOSTS

TOP_LOGPROBS = 5  # alternatives per answer token: OpenAI allows up to 20; 5 covers a label list's contenders
_STRIP = " \t\n,.;:()[]'\""


def answer_key(model: str, question: str, image: bytes, max_tokens: int, logprobs: bool) -> str:
    """sha256 of everything that decides the answer."""
    fields = {
        "model": model,
        "question": question,
        "image_sha256": hashlib.sha256(image).hexdigest(),
        "max_tokens": max_tokens,
        "logprobs": logprobs,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def messages_for(question: str, image: bytes) -> list[dict]:
    content = [{"type": "image_url", "image_url": {"url": image_data_url(image)}}, {"type": "text", "text": question}]
    return [{"role": "user", "content": content}]


def token_alternatives(choice) -> list[list[tuple[str, float]]] | None:
    """Per answer token, (token, logprob) of the chosen one and its alternatives; None without log-probabilities."""
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return [
        [(t.token, t.logprob)] + [(a.token, a.logprob) for a in (t.top_logprobs or []) if a.token != t.token]
        for t in content
    ]


def label_scores(alternatives: list[list[tuple[str, float]]], labels: tuple[str, ...]) -> dict[str, float]:
    """Each label's score: the highest probability of a token that begins it, over the answer's positions."""
    scores = {}
    for label in labels:
        best = 0.0
        for position in alternatives:
            for token, logprob in position:
                piece = token.strip(_STRIP)
                if piece and (piece == label or (len(piece) >= 2 and label.startswith(piece))):
                    best = max(best, math.exp(logprob))
        scores[label] = best
    return scores


def _read(response) -> dict:
    choice = response.choices[0] if response.choices else None
    answer = choice.message.content if choice is not None and choice.message is not None else None
    if not isinstance(answer, str):
        raise Unreadable("no answer text")
    return {"answer": answer.strip(), "alternatives": token_alternatives(choice)}


def _ask(client, messages, *, model, max_tokens, logprobs, max_attempts, backoff_s, secret) -> dict:
    extra = {"logprobs": True, "top_logprobs": TOP_LOGPROBS} if logprobs else {}
    out = complete(
        client,
        messages,
        _read,
        max_attempts=max_attempts,
        backoff_s=backoff_s,
        secret=secret,
        model=model,
        max_tokens=max_tokens,
        **extra,
    )
    return (out["value"] or {"answer": "", "alternatives": None}) | {"error": out["error"], "usage": out["usage"]}


def ask_model(
    items: list[dict],
    *,
    model: str,
    max_tokens: int,
    labels: tuple[str, ...] = (),
    base_url: str | None = None,
    api_key: str | None = None,
    cache: Cache | None = None,
    max_workers: int = 4,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 120.0,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    allow_credentialed_remote: bool = False,
) -> tuple[list[dict], dict]:
    """Answer each item {"id", "question", "image" (PNG/JPEG bytes), optional "credentialed"}; with `labels`,
    log-probabilities are asked for and turned into label scores.

    Returns (results in input order: {"id", "answer", "scores" (None without log-probabilities), "error",
    "cached", "usage"}, summary: counts, tokens, cost). Credentialed items are refused (PrivacyError, before
    any request) for hosts outside `allowed_hosts` unless `allow_credentialed_remote`.
    """
    logprobs = bool(labels)

    def ask(client, secret: str | None, i: int) -> dict:
        messages = messages_for(items[i]["question"], items[i]["image"])
        return _ask(
            client,
            messages,
            model=model,
            max_tokens=max_tokens,
            logprobs=logprobs,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            secret=secret,
        )

    outcomes = ask_each(
        items,
        [answer_key(model, item["question"], item["image"], max_tokens, logprobs) for item in items],
        ask,
        base_url=base_url,
        api_key=api_key,
        cache=cache,
        from_cache=lambda hit: hit | {"error": None, "usage": {"prompt_tokens": 0, "completion_tokens": 0}},
        to_cache=lambda outcome: (
            None if outcome["error"] else {"answer": outcome["answer"], "alternatives": outcome["alternatives"]}
        ),
        max_workers=max_workers,
        timeout_s=timeout_s,
        allowed_hosts=allowed_hosts,
        allow_credentialed_remote=allow_credentialed_remote,
    )
    results = []
    for item, outcome in zip(items, outcomes, strict=True):
        alternatives = outcome["alternatives"]
        scores = label_scores(alternatives, labels) if labels and alternatives else None
        results.append(
            {"id": item["id"], "answer": outcome["answer"], "scores": scores}
            | {k: outcome[k] for k in ("error", "cached", "usage")}
        )
    prompt_tokens = sum(r["usage"]["prompt_tokens"] for r in results)
    completion_tokens = sum(r["usage"]["completion_tokens"] for r in results)
    summary = {
        "model": model,
        "n": len(results),
        "n_failed": sum(r["error"] is not None for r in results),
        "n_cached": sum(r["cached"] for r in results),
        "n_with_logprobs": sum(r["scores"] is not None for r in results),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost_usd(model, prompt_tokens, completion_tokens),
    }
    return results, summary
