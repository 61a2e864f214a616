"""What an evaluation compares, one leaderboard row each, from `--candidates`:

base              the Mllama checkpoint of --model, untrained for ECGs     row "baseline"
run:<run_id>      that checkpoint + the run's adapter, the run's pages     row "finetuned" ("finetuned:<run_id>"
                                                                           when several runs are compared)
champion          the registry's champion: its adapter in registry/,    row "champion"
                  on the base model it was trained on
openai:<model>    any OpenAI-compatible chat endpoint that reads images    row "openai:<model>"
                  (GPT-4o, or a vLLM/TGI server of another VLM)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("base", "run", "champion", "openai")
UNTARGETED = ("base", "champion")  # named without a target


@dataclass(frozen=True)
class Candidate:
    kind: str  # one of KINDS
    target: str | None  # the run id or the endpoint's model name
    row: str  # its name in tables and files

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @property
    def slug(self) -> str:
        """The row as a file-name part: an endpoint model may be "meta-llama/Llama-3.2-11B-Vision-Instruct"."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.row)

    @property
    def is_mllama(self) -> bool:
        return self.kind != "openai"


def parse_candidates(specs: list[str]) -> list[Candidate]:
    """Candidates from their specs, in order; a malformed or repeated spec raises, naming it and the forms."""
    parsed = []
    for spec in specs:
        kind, _, target = spec.partition(":")
        if kind not in KINDS or (kind in UNTARGETED) != (target == ""):
            raise ValueError(f"candidate {spec!r}: expected base, run:<run_id>, champion or openai:<model>")
        parsed.append((kind, target or None))
    if len(set(parsed)) != len(parsed):
        raise ValueError(f"candidates {specs}: each may be named once")
    several_runs = sum(kind == "run" for kind, _ in parsed) > 1
    rows = {
        "base": lambda _: "baseline",
        "run": lambda t: f"finetuned:{t}" if several_runs else "finetuned",
        "champion": lambda _: "champion",
    }
    return [Candidate(kind, target, rows.get(kind, lambda t: f"openai:{t}")(target)) for kind, target in parsed]
