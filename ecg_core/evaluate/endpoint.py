"""OpenAI-compatible endpoints, as the API rows and the judge both call them.

Keeps credentialed records (MIMIC-IV-ECG and the like) away from endpoints outside the site.

Their data use agreements forbid sharing them with third parties, so an item marked `"credentialed": True`
may only go to a host on the allow-list (loopback by default: a judge served on this machine, e.g. vLLM)
unless the caller explicitly takes responsibility with `allow_credentialed_remote=True`.

What every call to an OpenAI-compatible endpoint shares (the judge's and an API candidate's): where it goes,
which failures are retried, what tokens cost, how a page travels, and where answers are cached.

The API key is passed to the client and nowhere else: it never appears in results, cache entries or errors.
"""

from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

import openai

from ecg_core.settings import Settings, knob

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_IDS_SHOWN = 5


class PrivacyError(PermissionError):
    """Credentialed records would have left the site; the message names them and the endpoint."""


def is_credentialed(sample: dict) -> bool:
    """Whether a sample, or a prediction made on it, comes from a credentialed record: the record's flag, which
    its samples carry. A sample without the flag (imported from a published file, or built before samples
    carried it) has an unknown provenance, and counts as credentialed: unknown data stays on the site."""
    return sample.get("credentialed") is not False


def endpoint_host(base_url: str) -> str:
    return (urlparse(base_url).hostname or "").lower()


def check_credentialed_endpoint(
    items: list[dict],
    base_url: str,
    *,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    allow_credentialed_remote: bool = False,
) -> None:
    """Raise PrivacyError if any credentialed item would be sent to a host outside `allowed_hosts`."""
    host = endpoint_host(base_url)
    if allow_credentialed_remote or host in {h.lower() for h in allowed_hosts}:
        return
    ids = [str(item.get("id")) for item in items if is_credentialed(item)]
    if not ids:
        return
    shown = ", ".join(ids[:_IDS_SHOWN]) + (f" and {len(ids) - _IDS_SHOWN} more" if len(ids) > _IDS_SHOWN else "")
    raise PrivacyError(
        f"refusing to send {len(ids)} credentialed record(s) ({shown}) to {host or base_url!r}, which is not in "
        f"the allowed hosts {list(allowed_hosts)}; serve the judge locally, or pass allow_credentialed_remote=True "
        "if the data use agreement permits this endpoint"
    )


DEFAULT_BASE_URL = "https://api.openai.com/v1"  # what the openai client uses when nothing is configured
# USD per 1M tokens (input, output), list prices. Dated snapshots are priced differently, so only exact names.
PRICES_PER_M_TOKENS = {"gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60)}
_RETRY_STATUS = {408, 409, 429}  # plus every 5xx
_FATAL_STATUS = {401, 403, 404}  # bad key, no access or no such model: every other item would fail the same way
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class EndpointPolicy:
    """How the calls to an endpoint go, the same for an API row and the judge: in parallel, retried, timed out,
    and where credentialed records may be sent."""

    max_workers: int = 4  # questions in flight at once
    max_attempts: int = 4  # calls per question before it is recorded as failed
    backoff_s: float = 1.0  # the first retry's wait; each next one doubles it
    timeout_s: float = 120.0  # per call
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # where credentialed records may go
    allow_credentialed_remote: bool = False  # let them go anywhere (the data use agreement permits it)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


@dataclass(frozen=True)
class EndpointConfig(Settings):
    """Where an OpenAI-compatible endpoint is; the key comes from OPENAI_API_KEY or `api_key_block`, never from here."""

    base_url: str | None = knob(None, "OpenAI-compatible endpoint (default: OPENAI_BASE_URL, else OpenAI)")
    api_key_block: str | None = knob(None, "Prefect Secret block holding the key (default: OPENAI_API_KEY)")
    allow_credentialed_remote: bool = knob(False, "let MIMIC-IV-ECG records go to a non-loopback host (check your DUA)")

    @property
    def policy(self) -> EndpointPolicy:
        return EndpointPolicy(allow_credentialed_remote=self.allow_credentialed_remote)


class EndpointError(RuntimeError):
    """The endpoint refuses every request (authentication, permission, unknown model)."""


class Cache(Protocol):
    def get(self, key: str) -> dict | None: ...

    def put(self, key: str, value: dict) -> None: ...


class StoreCache:
    """Replies in the artifact store, one JSON object per key at `<prefix>/<key>.json`."""

    def __init__(self, store, prefix: str):
        self.store = store
        self.prefix = prefix.rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}.json"

    def get(self, key: str) -> dict | None:
        return self.store.get_json(self._key(key)) if self.store.exists(self._key(key)) else None

    def put(self, key: str, value: dict) -> None:
        self.store.put_json(self._key(key), value)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """What the tokens cost at list price; None for a model missing from the price table."""
    if model not in PRICES_PER_M_TOKENS:
        return None
    price_in, price_out = PRICES_PER_M_TOKENS[model]
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6


def scrub(text: str | None, secret: str | None) -> str | None:
    return text.replace(secret, "***") if text and secret else text


def on_error(exc: openai.APIError) -> str:
    """'retry', 'fatal' (raise: the whole run would fail) or 'fail' (record this item as failed)."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return "retry"
    status = getattr(exc, "status_code", None)
    if status in _RETRY_STATUS or (status or 0) >= 500:
        return "retry"
    return "fatal" if status in _FATAL_STATUS else "fail"


def image_data_url(image: bytes) -> str:
    """A base64 data URL, the form OpenAI-compatible endpoints accept for an inline image."""
    mime = next((m for magic, m in _IMAGE_TYPES.items() if image.startswith(magic)), None)
    if mime is None:
        raise ValueError("an endpoint is sent PNG or JPEG images only")
    return f"data:{mime};base64,{base64.b64encode(image).decode()}"


class Unreadable(ValueError):
    """A reply `complete`'s reader cannot use: asked again, with `follow_up` messages added to the conversation."""

    def __init__(self, reason: str, raw: str | None = None, follow_up: list[dict] | None = None):
        super().__init__(reason)
        self.raw, self.follow_up = raw, follow_up or []


def complete(
    client, messages: list[dict], read: Callable, *, max_attempts: int, backoff_s: float, secret: str | None, **request
) -> dict:
    """One answer in at most `max_attempts` chat calls at temperature 0, retried with exponential backoff on
    408/409/429/5xx and connection errors and at once on a reply `read` raises Unreadable for; 401/403/404 raise
    EndpointError (every other call would fail the same way). Returns {"value": read(response) or None, "error",
    "raw" (the last unusable reply), "usage"}; the key (`secret`) is scrubbed from every error and reply kept."""
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    raw = error = None
    for attempt in range(max_attempts):
        try:
            response = client.chat.completions.create(messages=messages, temperature=0, **request)
        except openai.APIError as exc:
            action, error = on_error(exc), scrub(f"{type(exc).__name__}: {exc}", secret)
        else:
            if response.usage is not None:
                usage["prompt_tokens"] += response.usage.prompt_tokens or 0
                usage["completion_tokens"] += response.usage.completion_tokens or 0
            try:
                return {"value": read(response), "error": None, "raw": None, "usage": usage}
            except Unreadable as exc:
                raw, error = exc.raw, f"malformed reply: {exc}"
                messages = [*messages, *exc.follow_up]
                continue
        # Raised here, outside `except`, so no chained openai exception (which holds the request and its
        # Authorization header) travels with it.
        if action == "fatal":
            raise EndpointError(error)
        if action == "fail" or attempt == max_attempts - 1:
            break
        time.sleep(backoff_s * 2**attempt * random.uniform(0.5, 1.0))  # jitter: parallel workers spread out
    return {"value": None, "error": error, "raw": scrub(raw, secret), "usage": usage}


def ask_each(
    items: list[dict],
    keys: list[str],
    ask: Callable[[openai.OpenAI, str | None, int], dict],
    *,
    base_url: str | None,
    api_key: str | None,
    cache: Cache | None,
    from_cache: Callable[[dict], dict],
    to_cache: Callable[[dict], dict | None],
    policy: EndpointPolicy,
) -> list[dict]:
    """One outcome per item, in order, as the API candidate and the judge both ask: the endpoint (OPENAI_BASE_URL
    when not given, the key from OPENAI_API_KEY) after the privacy check (credentialed items refused, before any
    request, for hosts outside the policy's `allowed_hosts`); cached outcomes (`from_cache(hit)`) by `keys`; the
    others by `ask(client, api_key, i)` on the policy's `max_workers` threads, each cached as `to_cache(outcome)` unless that is None (a
    failure: a re-run asks again). An EndpointError stops the run; queued items are never sent."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    check_credentialed_endpoint(
        items, base_url, allowed_hosts=policy.allowed_hosts, allow_credentialed_remote=policy.allow_credentialed_remote
    )
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    pool = ThreadPoolExecutor(max_workers=policy.max_workers)
    try:
        hits = list(pool.map(cache.get, keys)) if cache is not None else [None] * len(items)
        outcomes = {i: from_cache(hit) | {"cached": True} for i, hit in enumerate(hits) if hit is not None}
        misses = [i for i in range(len(items)) if i not in outcomes]
        if misses:  # a fully cached re-run needs neither a key nor the endpoint
            client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=policy.timeout_s)

            def ask_one(i: int) -> dict:
                outcome = ask(client, api_key, i)
                if cache is not None and (entry := to_cache(outcome)) is not None:
                    cache.put(keys[i], entry)
                return outcome | {"cached": False}

            outcomes.update(zip(misses, pool.map(ask_one, misses)))
    finally:
        pool.shutdown(cancel_futures=True)
    return [outcomes[i] for i in range(len(items))]
