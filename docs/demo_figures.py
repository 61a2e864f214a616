"""Write the demo's figures into the docs from a demo run's store, with the commit and machine they came from.

    make demo && .venv/bin/python docs/demo_figures.py --store ./demo-store     # `make demo-figures`

The README's table and docs/demo.md's tables and leaderboard sit between `<!-- demo:NAME -->` and
`<!-- /demo:NAME -->` markers; this script replaces what is between them and nothing else, so the figures in
the docs are what the demo printed, never typed by hand. Run it on a store the current commit's demo wrote.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
from datetime import date
from pathlib import Path

from ecg_core.evaluate.leaderboard import headline_table, report_table, table_one
from ecg_core.layout import leaderboard_md_key, metrics_key
from ecg_core.store import open_store

REPO = Path(__file__).resolve().parents[1]
DEMO_EVAL = "demo"  # the demo's eval id (configs/demo.yaml)


CODE = [
    ".",
    ":!docs",
    ":!README.md",
    ":!tests",
]  # what the demo runs: a commit of docs or tests alone changes none of it


def commit() -> str:
    """The last commit that changed the code the demo runs, marked when the working tree's code differs from it."""
    git = ["git", "-C", str(REPO)]
    last = subprocess.run([*git, "log", "-1", "--format=%h", "--", *CODE], capture_output=True, text=True)
    changed = subprocess.run([*git, "status", "--porcelain", "--", *CODE], capture_output=True, text=True)
    return last.stdout.strip() + (" + uncommitted changes" if changed.stdout.strip() else "")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or platform.machine(),
    )
    threads = os.environ.get("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
    return f"{len(os.sched_getaffinity(0))} cores of {cpu}, {threads} torch threads, Python {platform.python_version()}"


def measured_leaderboard(markdown: str) -> str:
    """leaderboard.md's measured table (its first table), without the published block."""
    table = re.search(r"^\|.*?(?=\n\n)", markdown, flags=re.S | re.M)
    return table.group(0) + "\n"


def replace_block(path: Path, name: str, body: str) -> None:
    text = path.read_text()
    pattern = re.compile(rf"(<!-- demo:{name} -->\n).*?(<!-- /demo:{name} -->)", flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no <!-- demo:{name} --> ... <!-- /demo:{name} --> block")
    path.write_text(pattern.sub(lambda m: m.group(1) + body + m.group(2), text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="./demo-store", help="the demo's store (default %(default)s)")
    args = parser.parse_args()
    store = open_store(args.store)
    metrics = store.get_json(metrics_key(DEMO_EVAL))
    rows = metrics["abnormality_detection"]  # stored sorted by name: the models first, as the demo prints them
    metrics["abnormality_detection"] = {
        name: rows[name] for name in sorted(rows, key=lambda n: (n.startswith("cnn"), n))
    }
    leaderboard = store.get_bytes(leaderboard_md_key(DEMO_EVAL)).decode()
    made = f"Made by `make demo` at commit {commit()} on {machine()}, {date.today().isoformat()}.\n"

    replace_block(REPO / "README.md", "summary", headline_table(metrics) + "\n" + made)
    replace_block(REPO / "docs" / "demo.md", "table", table_one(metrics) + "\n" + report_table(metrics) + "\n" + made)
    replace_block(REPO / "docs" / "demo.md", "leaderboard", measured_leaderboard(leaderboard))
    print(made + "\n" + headline_table(metrics))


if __name__ == "__main__":
    main()
