"""Prefect artifacts: their keys, pictures inside them, and publishing that never costs a run its results.

Keys: Prefect takes lower-case letters, digits and dashes only, and a key names the same thing at every
run (the UI keeps each key's versions: a model's history, a batch's re-reads), so every key is built by
`artifact_key` from the names people give (datasets, runs, evaluations, batches, files).

Pictures: the UI cannot open s3:// or file:// links, so a picture is embedded (a data URI) and followed
by its address in the store, for those who want the file."""

import base64
import contextlib
import re
import unicodedata
from collections.abc import Iterator

from prefect import get_run_logger

from ecg_core.store import Store

NOT_IN_KEYS = re.compile(r"[^a-z0-9]+")


def artifact_key(*names: str) -> str:
    """`artifact_key("interpret", "ECG 3.png", "table")` -> "interpret-ecg-3-png-table": each name lower-cased
    (accents dropped), every run of other characters one dash."""
    ascii_names = (unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode() for name in names)
    words = (NOT_IN_KEYS.sub("-", name.lower()).strip("-") for name in ascii_names)
    key = "-".join(word for word in words if word)
    if not key:
        raise ValueError(f"no artifact key can be made of {names!r}")
    return key


@contextlib.contextmanager
def publishing(what: str, kept_in: str) -> Iterator[None]:
    """Artifacts show what the store holds: when the API refuses one, the run says so and goes on (the results
    are in the store already)."""
    try:
        yield
    except Exception as error:  # any refusal or API failure: the stored results stand
        get_run_logger().warning("%s not published to the Prefect UI (%s); kept in %s", what, error, kept_in)


def embedded_image(alt: str, data: bytes, link: str, mime: str = "image/png") -> str:
    return f"![{alt}](data:{mime};base64,{base64.b64encode(data).decode()})\n\n[{alt}: `{link}`]({link})"


def stored_image(store: Store, key: str, alt: str) -> str:
    mime = "image/jpeg" if key.endswith((".jpg", ".jpeg")) else "image/png"
    return embedded_image(alt, store.get_bytes(key), store.url(key), mime)
