"""How long `make test` takes in a clean clone: the repository's current commit cloned into a temporary folder,
`make test` run there with an empty PREFECT_HOME (set-up, lint and pytest, as on a fresh machine), pytest's and
the whole command's wall time, the tests passed and failed, and the ten longest tests from pytest's
`--durations` list. Each run is a row of docs/benchmarks.md's suite table (newest first, between the
`<!-- suite:runs -->` markers); the figures also go to benchmarks/results/suite_time.json.

    .venv/bin/python benchmarks/suite_time.py            # one clean-clone `make test`
    .venv/bin/python benchmarks/suite_time.py --runs 3   # three, one after the other, a row each
    .venv/bin/python benchmarks/suite_time.py --quick    # `make check` instead (no row written)

Measure on the project's 2-core machine with nothing else running: the suite's time is mostly the machine's.
Only committed work is measured (a clone sees no uncommitted change). While it runs, the CPU every process uses is
sampled from /proc each second and added up by kind (Prefect servers, workers, training ranks, `ecgflow`
commands, the pytest workers themselves, chromium, ...), and in the JSON by command line and by the test that
started the processes (the busiest 60 of each; a test's in-process work is not in it): where a faster suite has to
come from. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import REPO, save_and_print

DOC = REPO / "docs" / "benchmarks.md"
BLOCK = re.compile(r"(<!-- suite:runs -->\n)(.*?)(<!-- /suite:runs -->)", flags=re.S)
CPU_BLOCK = re.compile(r"(<!-- suite:cpu -->\n)(.*?)(<!-- /suite:cpu -->)", flags=re.S)
TABLE_HEAD = (
    "| commit | measured | tests | pytest | whole command | CPU-s | machine | the longest tests (inside the suite) |\n"
    "|---|---|---|---|---|---|---|---|\n"
)
ROW_LONGEST = 4  # tests named in a row (by their function's name); the JSON keeps all ten, with their files
# pytest's last line, e.g. "2 failed, 591 passed, 3 warnings in 950.23s (0:15:50)"
SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in ([\d.]+)s\b", flags=re.M)
# a line of `--durations`, e.g. "484.12s call     tests/ops/test_machine_loss.py::test_a_lost_machine"
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)$", flags=re.M)


# Process kinds by their command line, first match wins.
KINDS = [
    ("training ranks and launchers", ("ecg_core.train", "deepspeed.launcher")),
    ("Prefect servers", ("uvicorn", "prefect server", "prefect.server")),
    ("Prefect workers", ("prefect worker",)),
    ("flow runs a worker started", ("prefect.engine", "prefect.flow_engine", "prefect.runner._workspace_supervisor")),
    ("ecgflow commands", ("-m cli", "bin/ecgflow")),
    ("chromium", ("chromium",)),
    ("PostgreSQL, Redis, S3 (moto)", ("postgres", "redis-server", "moto")),
    ("pytest and its workers (in-process tests)", ("pytest", "exec(eval(sys.stdin.readline()))")),
    ("set-up (pip and uv, ruff, compilers)", ("pip", "ruff", "c++", "cc1plus", "ninja", "/ld")),
    ("other Python", ("python",)),
]
TICK = os.sysconf("SC_CLK_TCK")


COMMANDS_KEPT = 60  # the JSON's busiest command lines
FOLDERS = re.compile(r"(?:/[^\s/]+)+/")  # a path's folders: clones and temporary folders differ run to run
NUMBERS = re.compile(r"\b\d{4,}\b")  # ports and process ids, which differ too


def command_name(command: str) -> str:
    """A command line with its folders and long numbers cut, its length capped, so the same process in two runs reads alike."""
    return NUMBERS.sub("N", FOLDERS.sub("", command)).strip()[:160]


def kind_of(command: str) -> str:
    return next((kind for kind, marks in KINDS if any(mark in command for mark in marks)), "other")


class CpuByKind:
    """CPU seconds of every process, sampled from /proc each `every` s and summed by kind (a process's last
    partial second and processes shorter than a sample are missed: a lower bound), and the machine's busy share."""

    def __init__(self, every: float = 1.0):
        self.every, self.seconds, self._seen, self._stop = every, {}, {}, threading.Event()
        self.by_command: dict[str, float] = {}  # the same split by command line, its folders cut: which process
        self.by_test: dict[str, float] = {}  # processes a test started, by the test (their inherited environment)
        self._test_of: dict[tuple[str, str], str | None] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuByKind:
        self._machine = self._busy()
        self._sample(count=False)  # what processes running already used before does not count
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        busy, total = (after - before for after, before in zip(self._busy(), self._machine))
        self.busy_share = busy / total if total else 0.0

    @staticmethod
    def _busy() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields) - fields[3] - fields[4], sum(fields)  # all but idle and iowait

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self, count: bool = True) -> None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError):
                continue  # a process that ended while being read
            used = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
            key = (stat.parent.name, fields[19])  # pid and start time: a reused pid is another process
            if count:
                kind, spent = kind_of(command), used - self._seen.get(key, 0.0)
                self.seconds[kind] = self.seconds.get(kind, 0.0) + spent
                short = command_name(command)
                self.by_command[short] = self.by_command.get(short, 0.0) + spent
                if key not in self._test_of:
                    self._test_of[key] = self._started_by(stat.parent)
                if test := self._test_of[key]:
                    self.by_test[test] = self.by_test.get(test, 0.0) + spent
            self._seen[key] = used

    @staticmethod
    def _started_by(proc: Path) -> str | None:
        """The test a process was started in: pytest sets PYTEST_CURRENT_TEST while a test runs, and every process
        started then inherits it (a pytest worker's own variable is set after it started, so it reads none). A
        process started with an environment a module fixture copied names the test that fixture was made for."""
        try:
            variables = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            return None
        for variable in variables:
            if variable.startswith(b"PYTEST_CURRENT_TEST="):
                return variable.split(b"=", 1)[1].decode(errors="replace").rsplit(" (", 1)[0]
        return None

    def figures(self) -> dict:
        ordered = sorted(self.seconds.items(), key=lambda item: -item[1])
        commands = sorted(self.by_command.items(), key=lambda item: -item[1])[:COMMANDS_KEPT]
        tests = sorted(self.by_test.items(), key=lambda item: -item[1])[:COMMANDS_KEPT]
        return {
            "busy_share": round(self.busy_share, 3),
            "cpu_s": {kind: round(s) for kind, s in ordered if s >= 1},
            "cpu_s_by_command": {command: round(s, 1) for command, s in commands},
            "cpu_s_by_test": {test: round(s, 1) for test, s in tests},
        }


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


def machine_speed(runs: int = 3) -> float:
    """CPU seconds a fresh process takes to import `flows.pipeline` (Prefect, torch, transformers and the project),
    the median of `runs`, on the quiet machine before the suite: machines of one kind differ, and one machine drifts,
    by a tenth or more; rows compare where this figure agrees."""
    spent = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", "import flows.pipeline"], cwd=REPO, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return round(statistics.median(spent), 2)


def measure(target: str) -> dict:
    """`make <target>` in a fresh clone of the current commit, with an empty PREFECT_HOME."""
    commit = git("rev-parse", "HEAD")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIRTUAL_ENV", "PYTHONPATH"))}
    with tempfile.TemporaryDirectory(prefix="suite-time-") as tmp:
        clone = Path(tmp) / "ecgflow"
        git("clone", "--quiet", "--no-hardlinks", str(REPO), str(clone), cwd=Path(tmp))
        git("checkout", "--quiet", "--detach", commit, cwd=clone)
        env["PREFECT_HOME"] = str(Path(tmp) / "prefect-home")
        env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")  # set-up downloads as on a fresh machine
        speed = machine_speed()
        load = os.getloadavg()[0]
        started = time.monotonic()
        with CpuByKind() as cpu:
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
        "import_flows_pipeline_cpu_s": speed,
        "cpu": cpu.figures(),
    }


def row(run: dict) -> str:
    counts = ", ".join(f"{n} {word}" for word, n in run["outcomes"].items() if word != "warnings")
    longest = ", ".join(f"`{t['test'].split('::')[-1]}` {t['seconds']:.0f} s" for t in run["longest"][:ROW_LONGEST])
    cpu = f"{sum(run['cpu']['cpu_s'].values()):,}"
    speed = f"{run['import_flows_pipeline_cpu_s']} CPU-s"
    cells = [run["commit"], run["measured"], counts, clock(run["pytest_s"]), clock(run["whole_s"]), cpu, speed, longest]
    return "| " + " | ".join(cells) + " |\n"


def cpu_table(run: dict) -> str:
    lines = [
        f"CPU seconds by kind of process in the run of {run['commit']} (the machine busy "
        f"{run['cpu']['busy_share']:.0%} of {clock(run['whole_s'])}, {run['cores']} cores):",
        "",
        "| process kind | CPU s |",
        "|---|---|",
    ]
    return "\n".join(lines + [f"| {kind} | {s} |" for kind, s in run["cpu"]["cpu_s"].items()]) + "\n"


def add_row(doc: Path, run: dict) -> None:
    """The run's row on top of the suite table, the earlier rows kept below it; its CPU split replaces the last."""
    text = doc.read_text()
    block = BLOCK.search(text)
    if not block or not CPU_BLOCK.search(text):
        raise SystemExit(f"{doc}: no <!-- suite:runs --> or <!-- suite:cpu --> block (each closed by its /)")
    earlier = block.group(2).removeprefix(TABLE_HEAD)
    text = text[: block.start(2)] + TABLE_HEAD + row(run) + earlier + text[block.end(2) :]
    cpu = CPU_BLOCK.search(text)
    doc.write_text(text[: cpu.start(2)] + cpu_table(run) + text[cpu.end(2) :])


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
        split = ", ".join(f"{kind} {s} s" for kind, s in run["cpu"]["cpu_s"].items())
        print(f"the machine busy {run['cpu']['busy_share']:.0%} of the time; CPU by kind: {split}")
        if not args.quick:  # written as each run ends: a later run that fails keeps the earlier rows
            add_row(DOC, run)
            print(f"{DOC.relative_to(REPO)}: its row added", flush=True)
    save_and_print("suite_time" + ("_quick" if args.quick else ""), {"runs": runs})


if __name__ == "__main__":
    main()
