"""Launch the training entry point as a subprocess and follow its output line by line.

Training runs in its own process tree, as one process (`python -m ecg_core.train`) or as one rank per GPU
under the `deepspeed` launcher (DeepSpeed ZeRO-2, across nodes with a hostfile) or `torchrun`, so a
crash or OOM kills the run, not the orchestrator, and the GPU memory is freed when it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ecg_core.ports import free_port
from ecg_core.settings import Settings, knob

_PROGRESS = re.compile(r"(\d+)/(\d+) \[")  # tqdm's "45/300 [" as printed by the Trainer
Launcher = Literal["python", "deepspeed", "torchrun"]
LAUNCHERS = get_args(Launcher)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Launch(Settings):
    launcher: Launcher = knob("python", "python (one process), deepspeed (ZeRO-2 ranks) or torchrun")
    num_gpus: int = knob(1, "ranks per node (deepspeed / torchrun); on a CPU-only machine, CPU ranks over gloo")
    num_nodes: int = knob(1, "machines; more than one needs a hostfile (deepspeed) or a rendezvous (torchrun)")
    hostfile: str | None = knob(None, 'DeepSpeed hostfile: "host slots=N" per line')
    master_port: int | None = knob(
        None, "rendezvous port; unset: a free one, so parallel runs on a machine never collide"
    )

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"launcher {self.launcher!r}: allowed {', '.join(LAUNCHERS)}")
        if self.launcher == "python" and self.world_size > 1:
            raise ValueError(
                "the python launcher runs one process: use deepspeed or torchrun for several GPUs or nodes"
            )
        if min(self.num_gpus, self.num_nodes) < 1:
            raise ValueError(f"num_gpus and num_nodes must be >= 1, got {self.num_gpus} and {self.num_nodes}")

    @property
    def world_size(self) -> int:
        return self.num_gpus * self.num_nodes

    @property
    def gpu_slots(self) -> int:
        """Slots of the `gpu` limit the run holds: one a rank on GPUs; a CPU-only machine is one, whatever its ranks."""
        return self.world_size if self.world_size > 1 and _cuda_available() else 1


def training_command(run_config: str | Path, launch: Launch = Launch()) -> list[str]:
    """The launcher's command line for `ecg_core.train --run-config FILE` (the run's resolved config.json)."""
    args = ["--run-config", str(run_config)]
    if launch.launcher == "python":
        return [sys.executable, "-m", "ecg_core.train", *args]
    port = str(launch.master_port or free_port())
    if launch.launcher == "deepspeed":
        hostfile = ["--hostfile", launch.hostfile] if launch.hostfile else []
        return [
            sys.executable,
            "-m",
            "deepspeed.launcher.runner",
            "--num_gpus",
            str(launch.num_gpus),
            "--num_nodes",
            str(launch.num_nodes),
            *hostfile,
            "--master_port",
            port,
            "--module",
            "ecg_core.train",
            *args,
        ]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(launch.num_gpus),
        "--nnodes",
        str(launch.num_nodes),
        "--master_port",
        port,
        "-m",
        "ecg_core.train",
        *args,
    ]


def parse_progress(line: str) -> tuple[int, int] | None:
    match = _PROGRESS.search(line)
    return (int(match.group(1)), int(match.group(2))) if match else None


def launch_environment(launch: Launch) -> dict[str, str]:
    env = os.environ | {"PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "5"}
    if launch.num_gpus > 1 and not _cuda_available():
        # CPU ranks share the cores: without this each would start one thread per core.
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // launch.num_gpus)))
    return env


def _cuda_available() -> bool:
    # Asked only of a launch of several ranks: a one-process run needs no answer, and importing torch would cost the
    # training's flow process (which never computes) seconds of CPU.
    import torch

    return torch.cuda.is_available()


_stop_requested = threading.Event()


def request_stop() -> None:
    """Stop every streaming run of this process at its next output line: called by a Ctrl-C / SIGTERM handler beside
    the KeyboardInterrupt it raises, for an interrupt that lands inside library code that swallows it."""
    _stop_requested.set()


def run_streaming(
    cmd: list[str], on_line: Callable[[str], None], cwd: str | Path | None = None, env: dict[str, str] | None = None
) -> int:
    """Run `cmd`, calling `on_line` for every output line (tqdm's carriage returns count as line ends).

    The command runs in a process group of its own, which is stopped whenever this call ends early (Ctrl-C,
    SIGTERM, an error in `on_line`), and is sent SIGTERM if this process dies without a word (SIGKILL, OOM):
    no training process or DeepSpeed rank outlives the run that started it.
    """
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env or launch_environment(Launch()),
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    try:
        pending = b""
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(65536):
            if _stop_requested.is_set():
                raise KeyboardInterrupt("stop requested")
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for line in lines:
                if line.strip():
                    on_line(line.decode(errors="replace"))
        if pending.strip():
            on_line(pending.decode(errors="replace"))
        return proc.wait()
    finally:
        stop_group(proc)


def _die_with_parent() -> None:
    """In the child, before it runs the command: SIGTERM when the parent dies, however it dies (Linux prctl)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the process's group (the deepspeed launcher passes it on to its ranks), SIGKILL after `grace_s`."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left (ranks of a launcher that died first)
    proc.wait()
