"""How often each promotion rule promotes, on simulated champion/challenger pairs of known quality.

    .venv/bin/python benchmarks/promotion.py [--trials 300] [--records 159]

The old rule compared the challenger's macro F1 on the split it was built with against the figure the champion
got on its own, older split, promoting at a gain of 0.01. The rule of ecg_core/promotion.py compares both on
the same records: promoted when the lower bound of the 95% paired bootstrap interval of the gain is >= 0.

Each record has a difficulty u ~ U(0, 1), shared by both models; a model of skill s names the true class when
u + 0.15 * its own noise < s, else a wrong class. The same models are scored on a second split whose records
are easier (u - 0.1), as when new data changes the test split. Prints a table, writes
benchmarks/results/promotion.json, and ends with one JSON line.
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import save_and_print

from ecg_core.evaluate.grading import macro_f1_matrix, paired_gain, to_matrix
from ecg_core.labels import SUPERCLASSES

OLD_MARGIN = 0.01
SCENARIOS = {  # name: (champion skill, challenger skill, how much easier the challenger's split is)
    "equal models, same kind of split": (0.6, 0.6, 0.0),
    "equal models, new split easier": (0.6, 0.6, 0.1),
    "challenger worse by 0.05, new split easier": (0.6, 0.55, 0.1),
    "challenger better by 0.10": (0.6, 0.7, 0.0),
}


def answers(truth: np.ndarray, difficulty: np.ndarray, skill: float, rng) -> list[dict]:
    right = difficulty + 0.15 * rng.standard_normal(len(truth)) < skill
    wrong = (truth + rng.integers(1, len(SUPERCLASSES), len(truth))) % len(SUPERCLASSES)
    named = np.where(right, truth, wrong)
    return [
        {"id": i, "truth": [SUPERCLASSES[t]], "parsed": [SUPERCLASSES[n]]} for i, (t, n) in enumerate(zip(truth, named))
    ]


def f1(rows: list[dict]) -> float:
    truth = to_matrix([set(r["truth"]) for r in rows], SUPERCLASSES)
    return macro_f1_matrix(truth, to_matrix([set(r["parsed"]) for r in rows], SUPERCLASSES))


def trial(champion: float, challenger: float, easier: float, records: int, rng) -> tuple[bool, bool]:
    """(old rule promotes, new rule promotes) for one simulated retraining."""
    old_truth, new_truth = rng.integers(0, len(SUPERCLASSES), (2, records))
    old_split, new_split = rng.uniform(0, 1, records), rng.uniform(0, 1, records) - easier
    recorded = f1(answers(old_truth, old_split, champion, rng))  # the champion's figure, on its split
    champion_now = answers(new_truth, new_split, champion, rng)  # both on the current split
    challenger_now = answers(new_truth, new_split, challenger, rng)
    old_rule = f1(challenger_now) - recorded >= OLD_MARGIN
    gain = paired_gain(champion_now, challenger_now, SUPERCLASSES, "macro_f1", n_boot=1000)
    return old_rule, gain["ci95"][0] >= 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--records", type=int, default=159, help="test records per split")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    figures = {"trials": args.trials, "records": args.records, "promotion_rate": {}}
    print(f"{'scenario':45s} {'old rule':>9s} {'paired rule':>12s}")
    for name, skills in SCENARIOS.items():
        outcomes = np.array([trial(*skills, args.records, rng) for _ in range(args.trials)])
        old, new = outcomes.mean(axis=0)
        figures["promotion_rate"][name] = {"old_rule": round(float(old), 3), "paired_rule": round(float(new), 3)}
        print(f"{name:45s} {old:9.1%} {new:12.1%}")
    save_and_print("promotion", figures)


if __name__ == "__main__":
    main()
