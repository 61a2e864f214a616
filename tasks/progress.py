"""Progress of a long piece of work, shown twice: a tqdm bar in the worker's console and a Prefect progress
artifact in the UI. The artifact moves in steps of at least `every` (5%): each move is an API call, and a
loop of thousands of steps must not flood the server with them."""

from __future__ import annotations

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from tqdm import tqdm


class Progress:
    """`with Progress("training", "step") as progress: progress.update(done, total)`; the artifact reads
    100% only when the block ends without an error."""

    def __init__(self, description: str, unit: str, total: int | None = None, every: float = 0.05):
        self.bar = tqdm(total=total, unit=unit, desc=description)
        self.artifact = create_progress_artifact(progress=0.0, description=description)
        self.every, self.shown = every, 0.0

    def update(self, done: int, total: int | None = None, **postfix) -> bool:
        """Move to `done` of `total` units (the total given before when None); True when the artifact moved."""
        if total is not None:
            self.bar.total = total
        self.bar.update(done - self.bar.n)
        if postfix:
            self.bar.set_postfix(postfix)
        fraction = done / self.bar.total if self.bar.total else 0.0
        if fraction - self.shown < self.every:
            return False
        self.shown = fraction
        update_progress_artifact(self.artifact, progress=100.0 * fraction)
        return True

    def advance(self, units: int) -> bool:
        return self.update(self.bar.n + units)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        self.bar.close()
        if error_type is None:
            update_progress_artifact(self.artifact, progress=100.0)
