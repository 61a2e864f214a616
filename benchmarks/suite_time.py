"""How long `make test` takes in a clean clone: the repository's current commit cloned into a temporary folder,
`make test` run there with an empty PREFECT_HOME (set-up, lint and pytest, as on a fresh machine), pytest's and
the whole command's wall time, the tests passed and failed, and the ten longest tests from pytest's
`--durations` list. Each run is a row of docs/benchmarks.md's suite table (newest first, between the
`<!-- suite:runs -->` markers); the figures also go to benchmarks/results/suite_time.json.

    .venv/bin/python benchmarks/suite_time.py            # one clean-clone `make test`
    .venv/bin/python benchmarks/suite_time.py --runs 3   # three, one after the other, a row each
    .venv/bin/python benchmarks/suite_time.py --quick    # `make check` instead (no row written)

Measure on the project's 2-core machine with nothing else running: the suite's time is mostly the machine's.
Only committed work is measured (a clone sees no uncommitted change). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import REPO, save_and_print

DOC = REPO / "docs" / "benchmarks.md"
BLOCK = re.compile(r"(<!-- suite:runs -->\n)(.*?)(<!-- /suite:runs -->)", flags=re.S)
TABLE_HEAD = (
    "| commit | measured | tests | pytest | whole command | the longest tests (inside the suite) |\n"
    "|---|---|---|---|---|---|\n"
)
ROW_LONGEST = 4  # tests named in a row (by their function's name); the JSON keeps all ten, with their files
# pytest's last line, e.g. "2 failed, 591 passed, 3 warnings in 950.23s (0:15:50)"
SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in ([\d.]+)s\b", flags=re.M)
# a line of `--durations`, e.g. "484.12s call     tests/ops/test_machine_loss.py::test_a_lost_machine"
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$", flags=re.M)


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{round(seconds % 60):02d}"


def parse_pytest(output: str) -> dict:
    """Counts by outcome, pytest's own wall time and the `--durations` list, from its output."""
    summaries = SUMMARY.findall(output)
    if not summaries:
        raise ValueError("no pytest summary line in the output")
    counts, seconds = summaries[-1]
    outcomes = {}
    for count in counts.split(", "):
        number, word = count.split(" ")
        outcomes[{"error": "errors", "warning": "warnings"}.get(word, word)] = int(number)
    longest = [{"seconds": float(s), "phase": phase, "test": test} for s, phase, test in DURATION.findall(output)]
    return {"outcomes": outcomes, "pytest_s": float(seconds), "longest": longest}


def measure(target: str) -> dict:
    """`make <target>` in a fresh clone of the current commit, with an empty PREFECT_HOME."""
    commit = git("rev-parse", "HEAD")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIRTUAL_ENV", "PYTHONPATH"))}
    with tempfile.TemporaryDirectory(prefix="suite-time-") as tmp:
        clone = Path(tmp) / "ecgflow"
        git("clone", "--quiet", "--no-hardlinks", str(REPO), str(clone), cwd=Path(tmp))
        git("checkout", "--quiet", "--detach", commit, cwd=clone)
        env["PREFECT_HOME"] = str(Path(tmp) / "prefect-home")
        load = os.getloadavg()[0]
        started = time.monotonic()
        make = subprocess.Popen(
            ["make", target], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines = []
        for line in make.stdout:  # followed as it runs: a suite this long shows it is alive
            lines.append(line)
            print(line, end="", flush=True)
        code = make.wait()
        whole_s = time.monotonic() - started
    output = "".join(lines)
    try:
        pytest = parse_pytest(output)
    except ValueError:
        raise SystemExit(f"`make {target}` ended with {code} before pytest reported:\n{output[-3000:]}") from None
    return {
        "commit": commit[:7],
        "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
        "target": target,
        "exit_code": code,
        "whole_s": round(whole_s, 1),
        **pytest,
        "cores": os.cpu_count(),
        "load_at_start": round(load, 2),
    }


def row(run: dict) -> str:
    counts = ", ".join(f"{n} {word}" for word, n in run["outcomes"].items() if word != "warnings")
    longest = ", ".join(f"`{t['test'].split('::')[-1]}` {t['seconds']:.0f} s" for t in run["longest"][:ROW_LONGEST])
    cells = [run["commit"], run["measured"], counts, clock(run["pytest_s"]), clock(run["whole_s"]), longest]
    return "| " + " | ".join(cells) + " |\n"


def add_row(doc: Path, run: dict) -> None:
    """The run's row on top of the suite table, the earlier rows kept below it."""
    text = doc.read_text()
    block = BLOCK.search(text)
    if not block:
        raise SystemExit(f"{doc}: no <!-- suite:runs --> ... <!-- /suite:runs --> block")
    earlier = block.group(2).removeprefix(TABLE_HEAD)
    table = TABLE_HEAD + row(run) + earlier
    doc.write_text(text[: block.start(2)] + table + text[block.end(2) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="clean-clone runs, a row each (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="`make check` (the tests not marked slow), no row")
    args = parser.parse_args()
    target = "check" if args.quick else "test"
    runs = []
    for n in range(1, args.runs + 1):
        run = measure(target)
        runs.append(run)
        print(
            f"run {n}/{args.runs}: {row(run).strip()} (exit {run['exit_code']}, load {run['load_at_start']} at start)"
        )
        if not args.quick:  # written as each run ends: a later run that fails keeps the earlier rows
            add_row(DOC, run)
            print(f"{DOC.relative_to(REPO)}: its row added", flush=True)
    save_and_print("suite_time" + ("_quick" if args.quick else ""), {"runs": runs})


if __name__ == "__main__":
    main()
