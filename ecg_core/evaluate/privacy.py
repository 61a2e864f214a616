"""Keeps credentialed records (MIMIC-IV-ECG and the like) away from endpoints outside the site.

Their data use agreements forbid sharing them with third parties, so an item marked `"credentialed": True`
may only go to a host on the allow-list (loopback by default: a judge served on this machine, e.g. vLLM)
unless the caller explicitly takes responsibility with `allow_credentialed_remote=True`.
"""

from __future__ import annotations

from urllib.parse import urlparse

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
