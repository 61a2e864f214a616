"""Launch the training entry point as a subprocess and follow its output line by line.

Training runs in its own process (as it will under the `deepspeed`/`torchrun` launchers), so a crash or
OOM kills the run, not the orchestrator, and the GPU memory is freed when it ends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

_PROGRESS = re.compile(r"(\d+)/(\d+) \[")  # tqdm's "45/300 [" as printed by the Trainer


def training_command(config: str | Path, options: dict[str, object]) -> list[str]:
    """`python -m ecg_core.train --config CONFIG --key value ...` (None values are left out)."""
    cmd = [sys.executable, "-m", "ecg_core.train", "--config", str(config)]
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def parse_progress(line: str) -> tuple[int, int] | None:
    match = _PROGRESS.search(line)
    return (int(match.group(1)), int(match.group(2))) if match else None


def run_streaming(cmd: list[str], on_line: Callable[[str], None], cwd: str | Path | None = None) -> int:
    """Run `cmd`, calling `on_line` for every output line (tqdm's carriage returns count as line ends)."""
    env = os.environ | {"PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "5"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    pending = b""
    assert proc.stdout is not None
    while chunk := proc.stdout.read1(65536):
        pending += chunk
        *lines, pending = re.split(rb"[\r\n]", pending)
        for line in lines:
            if line.strip():
                on_line(line.decode(errors="replace"))
    if pending.strip():
        on_line(pending.decode(errors="replace"))
    return proc.wait()
