"""A training run killed with SIGKILL, as a real process: its orphaned training stops and its `gpu` slot comes
back (the lease expires), so the next run trains."""

from __future__ import annotations

import os
import signal
import time

from tests.ops.commands import TRAIN, ecgflow, start, training_processes
from tests.ops.waits import wait_for


def test_a_killed_run_gives_its_gpu_slot_back(home, small_store, tmp_path):
    store, model = small_store
    long_run = start(
        TRAIN.format(model=model, store=store, run="killed") + " --set max_steps=5000 logging_steps=1",
        home,
        tmp_path / "killed.log",
    )
    wait_for(lambda: (store / "runs/killed/train_log.jsonl").exists(), 180, "the first run trains")
    os.killpg(long_run.pid, signal.SIGKILL)  # the command dies without a word (its training has a group of its own)
    long_run.wait()
    wait_for(lambda: not training_processes(store / "runs/killed"), 30, "the orphaned training stops")

    started = time.monotonic()
    out = ecgflow(TRAIN.format(model=model, store=store, run="next") + " --set max_steps=2 save_strategy=no", home)
    took = time.monotonic() - started
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "held: 1 slot(s) by task run" in out.stdout + out.stderr  # the waiting run names the dead holder
    print(f"the next run trained and finished {took:.0f} s after the holder was killed")
    assert took < 180  # lease 60 s + reclaim loop 5 s + a tiny training
