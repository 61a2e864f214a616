"""Reports written from labels: rhythm first, then diagnostic and form statements, as ECG machines print them."""

from __future__ import annotations

from ecg_core.labels import SCP_STATEMENTS


def report_from_labels(scp_codes: dict[str, float]) -> str:
    """An English report from SCP codes, e.g. "Sinus rhythm. Complete left bundle branch block.".

    Codes outside the known vocabulary raise KeyError: a report must never silently drop a finding.
    """
    statements = [SCP_STATEMENTS[code] for code in scp_codes]
    order = {"rhythm": 0, "diagnostic": 1, "form": 2}
    sentences = [s.description for s in sorted(statements, key=lambda s: order[s.kind])]
    return " ".join(sentence[0].upper() + sentence[1:] + "." for sentence in sentences)
