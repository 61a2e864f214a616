"""The report-generation judge against a real local OpenAI-compatible server (tests/openai_server.py)."""

from __future__ import annotations

import base64
import json

import openai
import pytest

from ecg_core.evaluate.endpoint import (
    EndpointError,
    EndpointPolicy,
    PrivacyError,
    StoreCache,
    cost_usd,
    is_credentialed,
)
from ecg_core.evaluate.judge import RUBRICS, MalformedReply, judge_reports, parse_reply, pulse_score
from ecg_core.instruct.build import build_samples
from ecg_core.store import LocalStore
from tests.factories import make_record
from tests.openai_server import FakeJudge, overlap_reply, prompt_reports

API_KEY = "sk-test-very-secret-0123456789"
REFERENCE = "sinus rhythm left bundle branch block"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FAST = {"api_key": API_KEY, "policy": EndpointPolicy(backoff_s=0.001)}


def item(i: int, report: str = REFERENCE, **extra) -> dict:
    return {"id": f"ecg-{i}", "report": report, "reference": REFERENCE, **extra}


@pytest.fixture
def judge():
    with FakeJudge() as server:
        yield server


def test_well_formed_replies_are_scored_in_input_order(judge):
    items = [item(0), item(1, "sinus rhythm"), item(2, "atrial fibrillation")]
    out = judge_reports(items, base_url=judge.base_url, **FAST)
    assert [r["id"] for r in out.results] == ["ecg-0", "ecg-1", "ecg-2"]
    assert [r["score"] for r in out.results] == [100.0, 33.0, 0.0]
    assert out.results[0]["subscores"] == dict.fromkeys(RUBRICS["paper"].subscores, 100.0)
    assert out.results[0]["rationale"] == "word overlap 1.00"
    assert not any(r["failed"] or r["cached"] for r in out.results)
    assert out.summary == {
        "n": 3,
        "n_scored": 3,
        "n_failed": 0,
        "n_cached": 0,
        "mean_score": pytest.approx(133 / 3),
        "prompt_tokens": 300,
        "completion_tokens": 60,
        "cost_usd": pytest.approx((300 * 2.50 + 60 * 10.00) / 1e6),
        "model": "gpt-4o",
        "rubric": "paper",
    }
    for request in judge.requests:
        body = request["body"]
        assert body["model"] == "gpt-4o" and body["temperature"] == 0
        assert body["messages"][0] == {"role": "system", "content": RUBRICS["paper"].instructions}
        assert isinstance(body["messages"][1]["content"], str)  # no image unless asked for


def test_malformed_replies_are_retried_then_recorded_as_failed_while_others_score(judge):
    def reply(body):
        report = prompt_reports(body)[0]
        if report == "GARBLE":
            return "The report looks mostly fine to me."
        if report == "TOO HIGH":
            return json.dumps(dict.fromkeys(RUBRICS["paper"].subscores, 90) | {"score": 150})
        return overlap_reply(body)

    judge.reply = reply
    items = [item(0), item(1, "GARBLE"), item(2, "TOO HIGH"), item(3, "sinus rhythm")]
    out = judge_reports(
        items, base_url=judge.base_url, api_key=API_KEY, policy=EndpointPolicy(max_attempts=3, backoff_s=0.001)
    )
    by_id = {r["id"]: r for r in out.results}
    assert by_id["ecg-0"]["score"] == 100.0 and by_id["ecg-3"]["score"] == 33.0
    garbled, too_high = by_id["ecg-1"], by_id["ecg-2"]
    assert garbled["failed"] and garbled["score"] is None
    assert garbled["raw"] == "The report looks mostly fine to me." and "no JSON object" in garbled["error"]
    assert too_high["failed"] and '"score": 150' in too_high["raw"] and "outside 0-100" in too_high["error"]
    assert len(judge.requests_for("GARBLE")) == 3 and len(judge.requests_for("TOO HIGH")) == 3
    # Each retry shows the judge its previous reply and what was wrong with it.
    last = judge.requests_for("GARBLE")[-1]["body"]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "no JSON object" in last[-1]["content"]
    assert out.summary["n_scored"] == 2 and out.summary["n_failed"] == 2
    assert out.summary["mean_score"] == pytest.approx(66.5)
    # Tokens of failed attempts were paid for, so they are counted.
    assert out.summary["prompt_tokens"] == 100 * (1 + 3 + 3 + 1)


def test_a_malformed_reply_then_a_good_one_scores(judge):
    judge.enqueue(200, "```json\n{not quite json}\n```")
    out = judge_reports([item(0)], base_url=judge.base_url, **FAST)
    assert out.results[0]["score"] == 100.0 and len(judge.requests) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(judge, status):
    judge.enqueue(status)
    judge.enqueue(status)
    out = judge_reports([item(0)], base_url=judge.base_url, **FAST)
    assert out.results[0]["score"] == 100.0 and not out.results[0]["failed"]
    assert len(judge.requests) == 3  # ours are the only retries: the client's own are off


def test_exhausted_retries_record_a_failure_and_the_run_finishes(judge, monkeypatch):
    sleeps = []
    monkeypatch.setattr("ecg_core.evaluate.endpoint.time.sleep", sleeps.append)
    for _ in range(4):
        judge.enqueue(429)
    out = judge_reports(
        [item(0)], base_url=judge.base_url, api_key=API_KEY, policy=EndpointPolicy(max_attempts=4, backoff_s=1.0)
    )
    assert out.results[0]["failed"] and "RateLimitError" in out.results[0]["error"] and out.results[0]["raw"] is None
    assert out.summary["n_failed"] == 1 and len(judge.requests) == 4
    # Exponential backoff with jitter in [0.5, 1] x base * 2^attempt, and no sleep after the last attempt.
    assert len(sleeps) == 3
    assert all(0.5 * 2**k <= s <= 2**k for k, s in enumerate(sleeps))


def test_a_bad_request_fails_the_item_without_retrying(judge):
    judge.enqueue(400, "content filtered")
    out = judge_reports([item(0)], base_url=judge.base_url, **FAST)
    assert out.results[0]["failed"] and "content filtered" in out.results[0]["error"]
    assert len(judge.requests) == 1


def test_a_rejected_key_stops_the_run_and_the_error_does_not_carry_the_key(judge):
    judge.enqueue(401, f"Incorrect API key provided: {API_KEY}")
    with pytest.raises(EndpointError) as raised:
        judge_reports(
            [item(0)], base_url=judge.base_url, api_key=API_KEY, policy=EndpointPolicy(max_workers=1, backoff_s=0.001)
        )
    assert "AuthenticationError" in str(raised.value) and API_KEY not in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_second_run_is_served_from_the_store_cache(judge, tmp_path):
    store = LocalStore(tmp_path / "store")
    cache = StoreCache(store, "eval/run-1/judge")
    items = [item(0), item(1, "sinus rhythm"), item(2, "atrial fibrillation")]
    first = judge_reports(items, base_url=judge.base_url, cache=cache, **FAST)
    assert len(judge.requests) == 3 and len(store.list("eval/run-1/judge")) == 3

    second = judge_reports(items, base_url=judge.base_url, cache=cache, **FAST)
    assert len(judge.requests) == 3  # nothing new was sent
    assert [r["score"] for r in second.results] == [r["score"] for r in first.results]
    assert all(r["cached"] for r in second.results)
    assert second.summary["n_cached"] == 3
    assert [second.summary[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd")] == [0, 0, 0.0]

    # Another judge model or rubric is another judgement.
    judge_reports(items[:1], base_url=judge.base_url, cache=cache, model="gpt-4o-mini", **FAST)
    judge_reports(items[:1], base_url=judge.base_url, cache=cache, rubric="pulse", **FAST)
    assert len(judge.requests) == 5


def test_failed_judgements_are_not_cached(judge, tmp_path):
    cache = StoreCache(LocalStore(tmp_path), "judge")
    judge.enqueue(200, "nope")
    once = {"base_url": judge.base_url, "cache": cache, "api_key": API_KEY, "policy": EndpointPolicy(max_attempts=1)}
    first = judge_reports([item(0)], **once)
    assert first.results[0]["failed"]
    second = judge_reports([item(0)], **once)
    assert second.results[0]["score"] == 100.0 and not second.results[0]["cached"]


def test_usage_and_cost_totals(judge):
    judge.usage = (1000, 200)
    items = [item(i) for i in range(3)]
    out = judge_reports(items, base_url=judge.base_url, model="gpt-4o", **FAST)
    assert (out.summary["prompt_tokens"], out.summary["completion_tokens"]) == (3000, 600)
    assert out.summary["cost_usd"] == pytest.approx((3000 * 2.50 + 600 * 10.00) / 1e6)
    assert [r["usage"] for r in out.results] == [{"prompt_tokens": 1000, "completion_tokens": 200}] * 3
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.15 + 0.60)
    unknown = judge_reports(items[:1], base_url=judge.base_url, model="local-llama", **FAST)
    assert unknown.summary["cost_usd"] is None and unknown.summary["prompt_tokens"] == 1000


def test_pulse_rubric_is_the_mean_of_three_ratings_times_ten(judge):
    reply = '{"diagnosis": 8, "waveform": 6, "rhythm": 7, "rationale": "ok"}'
    parsed = parse_reply(RUBRICS["pulse"], reply)
    assert parsed["score"] == pytest.approx((8 + 6 + 7) / 3 * 10) == pytest.approx(70.0)
    assert parsed["subscores"] == {"diagnosis": 8.0, "waveform": 6.0, "rhythm": 7.0}
    assert pulse_score(10, 10, 10) == 100.0 and pulse_score(0, 0, 0) == 0.0
    with pytest.raises(MalformedReply, match="outside 0-10"):
        parse_reply(RUBRICS["pulse"], '{"diagnosis": 11, "waveform": 6, "rhythm": 7}')
    with pytest.raises(MalformedReply, match="'rhythm' is missing"):
        parse_reply(RUBRICS["pulse"], '{"diagnosis": 8, "waveform": 6}')

    judge.enqueue(200, reply)
    out = judge_reports([item(0)], base_url=judge.base_url, rubric="pulse", **FAST)
    assert out.results[0]["score"] == pytest.approx(70.0) and out.summary["rubric"] == "pulse"
    assert judge.requests[0]["body"]["messages"][0]["content"] == RUBRICS["pulse"].instructions


def test_paper_reply_parsing_tolerates_a_fence_and_rejects_booleans():
    fields = dict.fromkeys(RUBRICS["paper"].subscores, 80) | {"score": 75, "rationale": "fine"}
    parsed = parse_reply(RUBRICS["paper"], f"Here you go:\n```json\n{json.dumps(fields)}\n```")
    assert parsed["score"] == 75.0 and parsed["rationale"] == "fine"
    with pytest.raises(MalformedReply, match="'score' is missing or not a number"):
        parse_reply(RUBRICS["paper"], json.dumps(fields | {"score": True}))


def test_the_image_is_attached_only_for_a_vision_endpoint(judge):
    items = [item(0, image=PNG)]
    judge_reports(items, base_url=judge.base_url, vision=True, **FAST)
    judge_reports(items, base_url=judge.base_url, vision=False, **FAST)
    with_image, without = (r["body"]["messages"][1]["content"] for r in judge.requests)
    image_part = next(p for p in with_image if p["type"] == "image_url")
    assert image_part["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert isinstance(without, str)


def test_configuration_falls_back_to_the_standard_environment_variables(judge, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    out = judge_reports([item(0)], policy=EndpointPolicy(backoff_s=0.001))
    assert out.results[0]["score"] == 100.0
    assert judge.requests[0]["headers"]["authorization"] == f"Bearer {API_KEY}"


def test_credentialed_records_are_refused_for_a_remote_endpoint_before_any_request(monkeypatch):
    def no_client(*args, **kwargs):
        raise AssertionError("a client was built for a refused endpoint")

    monkeypatch.setattr(openai, "OpenAI", no_client)
    gets = []
    items = [item(0, credentialed=False)] + [item(i, credentialed=True) for i in range(1, 8)]
    with pytest.raises(PrivacyError) as refused:
        spy = type("SpyCache", (), {"get": gets.append})()
        judge_reports(items, base_url="https://api.openai.com/v1", cache=spy, **FAST)
    message = str(refused.value)
    assert "7 credentialed record(s)" in message and "api.openai.com" in message
    assert "ecg-1, ecg-2, ecg-3, ecg-4, ecg-5 and 2 more" in message and "ecg-0" not in message
    assert gets == []  # refused before even the cache was read
    with pytest.raises(PrivacyError, match="1 credentialed record"):  # no flag: provenance unknown, kept on site
        judge_reports([item(9)], base_url="https://api.openai.com/v1", **FAST)


def test_credentialed_records_go_to_loopback_or_anywhere_with_the_explicit_flag(judge):
    items = [item(0, credentialed=True)]
    assert judge_reports(items, base_url=judge.base_url, **FAST).results[0]["score"] == 100.0  # loopback: allowed
    # With an allow-list that excludes this host, only the explicit flag lets the record through.
    with pytest.raises(PrivacyError, match="127.0.0.1"):
        judge_reports(
            items, base_url=judge.base_url, api_key=API_KEY, policy=EndpointPolicy(backoff_s=0.001, allowed_hosts=())
        )
    assert len(judge.requests) == 1
    out = judge_reports(
        items,
        base_url=judge.base_url,
        api_key=API_KEY,
        policy=EndpointPolicy(backoff_s=0.001, allowed_hosts=(), allow_credentialed_remote=True),
    )
    assert out.results[0]["score"] == 100.0 and len(judge.requests) == 2


def test_the_api_key_travels_only_in_the_authorization_header(judge, tmp_path):
    store = LocalStore(tmp_path / "store")
    judge.enqueue(200, "garbage")
    judge.enqueue(500, f"upstream failed for key {API_KEY}")
    items = [item(0, image=PNG), item(1, "sinus rhythm")]
    out = judge_reports(
        items,
        base_url=judge.base_url,
        cache=StoreCache(store, "judge"),
        vision=True,
        api_key=API_KEY,
        policy=EndpointPolicy(max_workers=1, max_attempts=2, backoff_s=0.001),
    )
    assert out.results[0]["failed"] and out.results[1]["score"] == 33.0
    assert API_KEY not in json.dumps({"results": out.results, "summary": out.summary})
    assert all(API_KEY not in path.read_text() for path in (tmp_path / "store").rglob("*.json"))
    for request in judge.requests:
        assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
        others = {k: v for k, v in request["headers"].items() if k != "authorization"}
        assert API_KEY not in json.dumps(request["body"]) + json.dumps(others)


def test_the_credentialed_flag_travels_from_the_record_to_its_samples_and_an_unknown_one_counts_as_set():
    mimic, open_record = make_record("m", extra={"credentialed": True}), make_record("o")
    samples = build_samples([mimic, open_record], ["abnormality_detection"], {"m": ["m.png"], "o": ["o.png"]}).samples
    assert {s["record_id"]: is_credentialed(s) for s in samples} == {"m": True, "o": False}
    assert is_credentialed({"id": "imported", "source": "ptbxl"})  # no flag: provenance unknown, kept on site
