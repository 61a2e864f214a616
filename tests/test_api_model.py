"""An API candidate against a real local OpenAI-compatible vision server (tests/openai_server.py): retries,
malformed replies, log-probabilities or none, the answer cache, the privacy guard and the key."""

from __future__ import annotations

import pytest

from ecg_core.evaluate.answering import ask_model, logprob_scores
from ecg_core.evaluate.endpoint import EndpointError, EndpointPolicy, PrivacyError, StoreCache
from ecg_core.store import LocalStore
from tests.openai_server import FakeJudge, vision_answer

API_KEY = "sk-test-very-secret-0123456789"
QUESTION = "Which of the following diagnostic classes does this ECG show: NORM, MI, STTC, CD, HYP?"
LABELS = ("NORM", "MI", "STTC", "CD", "HYP")


def items(n: int, **extra) -> list[dict]:
    png = b"\x89PNG\r\n\x1a\n"
    return [
        {"id": f"q{i}", "question": QUESTION, "image": png + bytes([i]) * 8, "credentialed": False} | extra
        for i in range(n)
    ]


def ask(server, batch, policy=EndpointPolicy(backoff_s=0.001), **kwargs):
    options = {"model": "vlm", "max_tokens": 48, "base_url": server.base_url, "api_key": API_KEY}
    return ask_model(batch, policy=policy, **(options | kwargs))


def test_a_label_scores_as_the_likeliest_token_that_begins_it():
    alternatives = [[("MI", -0.1), ("NORM", -2.0)], [(",", -0.01)], [(" ST", -0.7), (" CD", -1.5)]]
    scores = logprob_scores(alternatives, LABELS)
    assert scores["MI"] == pytest.approx(0.905, abs=1e-3) and scores["STTC"] == pytest.approx(0.497, abs=1e-3)
    assert scores["HYP"] == 0.0 and scores["NORM"] < scores["CD"] < scores["STTC"]


def test_rate_limits_and_malformed_replies_are_retried_and_answers_carry_scores():
    with FakeJudge(reply=vision_answer, logprobs=True) as server:
        server.enqueue(429)
        server.enqueue_body({"choices": []})
        server.enqueue(503)
        results, summary = ask(server, items(4), labels=LABELS)
    assert len(server.requests) == 7 and summary["n_failed"] == 0
    assert all(r["answer"] in LABELS and set(r["scores"]) == set(LABELS) for r in results)
    assert all(body["logprobs"] is True and body["temperature"] == 0 for body in (r["body"] for r in server.requests))
    assert summary["prompt_tokens"] == 400 and summary["n_with_logprobs"] == 4


def test_an_endpoint_without_logprobs_gives_answers_without_scores():
    with FakeJudge(reply=vision_answer, logprobs=False) as server:
        results, summary = ask(server, items(2), labels=LABELS)
    assert [r["scores"] for r in results] == [None, None] and summary["n_with_logprobs"] == 0


def test_exhausted_retries_fail_one_question_and_the_rest_go_on():
    with FakeJudge(reply=vision_answer) as server:
        for _ in range(2):
            server.enqueue_body({"choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]})
        results, summary = ask(server, items(1), EndpointPolicy(max_workers=1, max_attempts=2, backoff_s=0.001))
        more, _ = ask(server, items(2), EndpointPolicy(max_workers=1, backoff_s=0.001))
    assert results[0]["answer"] == "" and results[0]["error"] == "malformed reply: no answer text"
    assert summary["n_failed"] == 1 and all(r["error"] is None for r in more)


def test_a_second_run_is_answered_from_the_store_cache_and_failures_are_asked_again(tmp_path):
    cache = StoreCache(LocalStore(tmp_path), "eval/answer-cache")
    with FakeJudge(reply=vision_answer) as server:
        server.enqueue(400)  # a bad request fails its question at once, and is not cached
        first, _ = ask(server, items(3), EndpointPolicy(max_workers=1, backoff_s=0.001), cache=cache)
        sent = len(server.requests)
        second, summary = ask(server, items(3), cache=cache)
    assert sent == 3 and len(server.requests) == 4  # only the failed question was asked again
    assert sum(r["error"] is not None for r in first) == 1 and summary["n_cached"] == 2
    assert [r["answer"] for r in second if r["cached"]] == [r["answer"] for r in first if r["error"] is None]


def test_credentialed_pages_stay_on_site_and_the_key_travels_only_in_its_header(monkeypatch):
    with pytest.raises(PrivacyError, match="2 credentialed record"):
        ask_model(items(2, credentialed=True), model="gpt-4o", max_tokens=8, base_url="https://api.openai.com/v1")
    with FakeJudge(reply=vision_answer) as server:
        server.enqueue(401, f"bad key {API_KEY}")
        with pytest.raises(EndpointError) as refused:
            ask(server, items(1))
        assert API_KEY not in str(refused.value) and refused.value.__cause__ is None
        results, _ = ask(server, items(1, credentialed=True))  # loopback: allowed
    assert results[0]["error"] is None
    assert all(r["headers"]["authorization"] == f"Bearer {API_KEY}" for r in server.requests)
    assert all(API_KEY not in str(r["body"]) for r in server.requests)
