"""tasks/progress.py: the Prefect progress artifact moves in 5% steps and reads 100% only after a clean finish."""

import pytest

from tasks import progress as module
from tasks.progress import Progress


@pytest.fixture
def artifact_moves(monkeypatch) -> list[float]:
    moves = []
    monkeypatch.setattr(module, "create_progress_artifact", lambda progress, description: "artifact-id")
    monkeypatch.setattr(module, "update_progress_artifact", lambda artifact, progress: moves.append(progress))
    return moves


def test_the_artifact_moves_every_five_percent_and_ends_at_100(artifact_moves):
    with Progress("training", "step") as progress:
        moved = [progress.update(step, 200, loss="0.5") for step in range(1, 201)]
    shown = artifact_moves[:-1]
    assert len(shown) == sum(moved) <= 20 and shown[0] == 5.0  # 200 steps, at most 20 API calls
    assert all(later - earlier >= 5.0 for earlier, later in zip(shown, shown[1:]))
    assert artifact_moves[-1] == 100.0 and progress.bar.n == 200


def test_advancing_by_units_and_a_failure_leaves_the_artifact_where_it_was(artifact_moves):
    with pytest.raises(RuntimeError), Progress("render", "image", total=10) as progress:
        progress.advance(3)
        progress.advance(2)
        raise RuntimeError("batch failed")
    assert progress.bar.n == 5 and artifact_moves == [30.0, 50.0]
