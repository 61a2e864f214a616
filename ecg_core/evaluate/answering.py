"""Answering: how each kind of candidate answers a benchmark's questions, one interface for every leaderboard row.

Either kind is called with a benchmark and a chunk of its questions and gives one prediction row per question,
whatever the benchmark's metric (labels, an option, a report); rows carry their benchmark's label set, so a file
made for another benchmark is refused. Resuming is the evaluation's: it saves the rows between chunks (`chunk`
questions), so a stopped evaluation resumes where it was.

- An Mllama (the base checkpoint, or base + an adapter; ecg_core/reading/) is fetched and loaded only when some
  answer is missing; a multilabel benchmark also gets each label's probability as the answer (the score-based AUC).
- An API candidate: a vision chat model at an OpenAI-compatible endpoint (GPT-4o, or a vLLM/TGI server of
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
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ecg_core.evaluate.benchmarks import Benchmark, question
from ecg_core.evaluate.endpoint import (
    Cache,
    EndpointConfig,
    EndpointPolicy,
    Unreadable,
    ask_each,
    complete,
    cost_usd,
    image_data_url,
    is_credentialed,
)
from ecg_core.evaluate.grading import prediction_row
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.reading.generate import ANSWER_TOKENS, REPORT_TOKENS, generate_answers
from ecg_core.reading.scores import label_scores
from ecg_core.reading.stored import StoredMllama

# What an endpoint row totals; all but n_asked are summed from ask_model's summaries (its n is the questions asked).
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "n_asked", "n_cached", "n_failed")


class Answers(Protocol):
    chunk: int  # questions answered between two saves of the predictions

    def __call__(self, benchmark: Benchmark, questions: list[dict]) -> list[dict]: ...

    def usage(self) -> dict | None:
        """What answering cost: tokens, cache hits, failures and USD for an endpoint; None for a local model."""


def answer_tokens(benchmark: Benchmark) -> int:
    """How long an answer may be: a report's, or a label list's or option's."""
    return REPORT_TOKENS if benchmark.kind.metric == "report" else ANSWER_TOKENS


class MllamaAnswers:
    """An Mllama row: `model` (the base checkpoint, or base + a run's adapter) on each chunk's pages, fetched then."""

    chunk = 64

    def __init__(self, model: StoredMllama, batch_size: int):
        self.model, self.batch_size = model, batch_size

    def __call__(self, benchmark: Benchmark, questions: list[dict]) -> list[dict]:
        model, processor = self.model.loaded()
        root = self.model.page_root(questions)
        return predict(model, processor, benchmark, questions, root, pages=self.model.pages, batch_size=self.batch_size)

    def usage(self) -> None:
        return None


class EndpointAnswers:
    """An endpoint row: chat model `model` at `endpoint`; `image_bytes` reads a question's page."""

    chunk = 32

    def __init__(
        self,
        model: str,
        endpoint: EndpointConfig,
        api_key: str | None,
        cache: Cache,
        image_bytes: Callable[[str], bytes],
    ):
        self.model, self.endpoint, self.api_key, self.cache = model, endpoint, api_key, cache
        self.image_bytes = image_bytes
        self.totals = dict.fromkeys(USAGE_KEYS, 0)

    def __call__(self, benchmark: Benchmark, questions: list[dict]) -> list[dict]:
        items = [
            {"id": q["id"], "question": question(q), "image": self.image_bytes(q["image"])}
            | {"credentialed": is_credentialed(q)}
            for q in questions
        ]
        answers, summary = ask_model(
            items,
            model=self.model,
            max_tokens=answer_tokens(benchmark),
            labels=benchmark.kind.labels if benchmark.kind.metric == "multilabel" else (),
            base_url=self.endpoint.base_url,
            api_key=self.api_key,
            cache=self.cache,
            policy=self.endpoint.policy,
        )
        asked = summary | {"n_asked": summary["n"]}
        self.totals = {k: self.totals[k] + asked[k] for k in USAGE_KEYS}
        return [
            prediction_row(benchmark, q, a["answer"], a["scores"]) | ({"error": a["error"]} if a["error"] else {})
            for q, a in zip(questions, answers)
        ]

    def usage(self) -> dict:
        return self.totals | {
            "cost_usd": cost_usd(self.model, self.totals["prompt_tokens"], self.totals["completion_tokens"])
        }


def predict(
    model,
    processor,
    benchmark: Benchmark,
    samples: list[dict],
    image_root: Path,
    *,
    pages: PagePreprocessing,
    batch_size: int,
) -> list[dict]:
    """One prediction row per sample: the greedy answer read by the benchmark, and for a multilabel benchmark each label's
    probability as the answer (the score-based AUC)."""
    answers = generate_answers(
        model,
        processor,
        samples,
        image_root,
        pages=pages,
        batch_size=batch_size,
        max_new_tokens=answer_tokens(benchmark),
    )
    labels = benchmark.kind.labels if benchmark.kind.metric == "multilabel" else ()
    probabilities = (
        label_scores(model, processor, samples, image_root, labels, pages=pages, batch_size=batch_size)
        if labels
        else [None] * len(samples)
    )
    return [
        prediction_row(benchmark, s, a, None if p is None else dict(zip(labels, map(float, p))))
        for s, a, p in zip(samples, answers, probabilities)
    ]


def check_label_set(predictions: list[dict], where: str, label_set: str) -> None:
    other = {r.get("label_set") for r in predictions} - {label_set}
    if other:
        raise ValueError(
            f"{where}: predictions for label set {sorted(map(str, other))}, not {label_set!r}; "
            "score them with their own label set or predict again"
        )


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


def logprob_scores(alternatives: list[list[tuple[str, float]]], labels: tuple[str, ...]) -> dict[str, float]:
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
    policy: EndpointPolicy = EndpointPolicy(),
) -> tuple[list[dict], dict]:
    """Answer each item {"id", "question", "image" (PNG/JPEG bytes), optional "credentialed"}; with `labels`,
    log-probabilities are asked for and turned into label scores.

    Returns (results in input order: {"id", "answer", "scores" (None without log-probabilities), "error",
    "cached", "usage"}, summary: counts, tokens, cost). Credentialed items are refused (PrivacyError, before
    any request) for hosts outside the policy's `allowed_hosts` unless it allows credentialed records anywhere.
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
            max_attempts=policy.max_attempts,
            backoff_s=policy.backoff_s,
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
        policy=policy,
    )
    results = []
    for item, outcome in zip(items, outcomes, strict=True):
        alternatives = outcome["alternatives"]
        scores = logprob_scores(alternatives, labels) if labels and alternatives else None
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
