"""The promotion rule of scheduled retraining: champion and challenger answer the same records in one
evaluation, and the challenger is promoted only when the difference says so.

- On the current split (the test split of the instruction set just built), the lower bound of the 95% paired
  bootstrap interval of the challenger's gain must be at least `min_margin`.
- On the regression set (the test split the champion was promoted on, frozen in the registry by its digest),
  the challenger must not be significantly worse: the upper bound of its gain there must not be below 0.

The first challenger, with no champion to beat, is promoted. The decision records both comparisons (figures,
interval of the difference, number of records, split) and why.
"""

from __future__ import annotations

from ecg_core import layout
from ecg_core.evaluate.benchmarks import default_benchmarks
from ecg_core.evaluate.grading import paired_gain
from ecg_core.labels import SUPERCLASSES
from ecg_core.store import Store, digest

BENCHMARK = "ptbxl-super"  # the detection benchmark both models are compared on
CHAMPION_ROW, CHALLENGER_ROW = "champion", "finetuned"  # their rows (prediction files) in the evaluation


def regression_set(store: Store, instruct: str) -> dict:
    """What the registry keeps of a champion's split at promotion: its name and the digest of its test split."""
    return {"instruct": instruct, "test_digest": digest(store, [layout.split_key(instruct, "test")])}


def regression_instruct(store: Store, champion: dict | None) -> tuple[str | None, str | None]:
    """(the champion's regression instruction set when it is there unchanged, else None; why not)."""
    if champion is None:
        return None, "no champion"
    frozen = champion.get("regression_set")
    if frozen is None:
        return None, f"champion {champion['run_id']} was promoted without a regression set"
    if regression_set(store, frozen["instruct"]) != frozen:
        return None, f"the test split of {frozen['instruct']} changed since champion {champion['run_id']} was promoted"
    return frozen["instruct"], None


def comparison(store: Store, eval_id: str, instruct: str, metric: str) -> dict:
    """Champion vs challenger on the test split of `instruct` in evaluation `eval_id` (paired_gain, and the split)."""
    rows = [
        store.get_jsonl(layout.predictions_key(eval_id, instruct, BENCHMARK, row))
        for row in (CHAMPION_ROW, CHALLENGER_ROW)
    ]
    return paired_gain(*rows, SUPERCLASSES, metric) | {"split": f"{instruct}/test"}


def decide(current: dict | None, regression: dict | None, min_margin: float = 0.0, why_no_regression: str = "") -> dict:
    """{"promote", "reason", "current", "regression", "min_margin"} from the comparisons (None: no champion /
    no regression set)."""
    out = {"current": current, "regression": regression, "min_margin": min_margin}
    if current is None:
        return out | {"promote": True, "reason": "no champion yet"}
    metric, interval = current["metric"], current["ci95"]
    if interval is None:
        return out | {"promote": False, "reason": f"{metric} could not be compared on {current['split']}"}
    said = f"{metric} gain {gain_text(current)} on {current['n']} records of {current['split']}"
    if interval[0] < min_margin:
        return out | {"promote": False, "reason": f"{said}: the lower bound is below the margin {min_margin}"}
    if regression is not None and regression["ci95"] is not None and regression["ci95"][1] < 0:
        worse = f"significantly worse on the regression set ({gain_text(regression)} on {regression['n']} records)"
        return out | {"promote": False, "reason": f"{said}, but {worse}"}
    held = (
        f"not worse on the regression set ({gain_text(regression)})"
        if regression
        else f"no regression set: {why_no_regression}"
    )
    return out | {"promote": True, "reason": f"{said}: at least the margin {min_margin}; {held}"}


def outcome(decision: dict) -> str:
    return "Promoted" if decision["promote"] else "Kept the champion"


def gain_text(compared: dict) -> str:
    """The gain with its 95% interval, e.g. "+0.0727, 95% interval [+0.0000, +0.1333]"."""
    low, high = compared["ci95"] or (None, None)
    bounds = f", 95% interval [{low:+.4f}, {high:+.4f}]" if low is not None else ""
    return f"{compared['gain']:+.4f}{bounds}" if compared["gain"] is not None else "-"


def contest(store: Store, run_id: str, instruct: str, champion: dict | None) -> dict:
    """The retraining's evaluation: {candidates, benchmarks}. The challenger (run `run_id`) and the champion, when
    there is one, on the paper's benchmarks of the current split `instruct` and on the detection benchmark of the
    regression set."""
    benchmarks = default_benchmarks(store, instruct)
    regression, _ = regression_instruct(store, champion)
    if regression and regression != instruct:
        benchmarks.append(f"{regression}/{BENCHMARK}")
    return {"candidates": ([CHAMPION_ROW] if champion else []) + [f"run:{run_id}"], "benchmarks": benchmarks}


def challenge(store: Store, eval_id: str, instruct: str, champion: dict | None, metric: str, min_margin: float) -> dict:
    """The decision on evaluation `eval_id` (`contest`'s): the rule above, on `instruct`'s split and the
    champion's regression set."""
    if champion is None:
        return decide(None, None, min_margin)
    regression, why_not = regression_instruct(store, champion)
    current = comparison(store, eval_id, instruct, metric)
    against = comparison(store, eval_id, regression, metric) if regression else None
    return decide(current, against, min_margin, why_not) | {"champion_run": champion["run_id"]}


def decision_table(decision: dict, run_id: str | None) -> str:
    """Champion and challenger rows, one column per split compared, then the gain with its 95% interval
    (markdown, for the decision's artifact)."""
    compared = [c for c in (decision.get("current"), decision.get("regression")) if c]
    if not compared:
        return f"Challenger: `{run_id or 'none'}`, nothing to compare it with."
    columns = [f"{c['metric']} on {c['split']} ({c['n']} records)" for c in compared]
    columns[1:] = [f"{column}, regression set" for column in columns[1:]]

    def figures(key: str) -> str:
        return " | ".join("-" if c[key] is None else f"{c[key]:.4f}" for c in compared)

    lines = [
        "| | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
        f"| champion `{decision.get('champion_run')}` | {figures('champion')} |",
        f"| challenger `{run_id}` | {figures('challenger')} |",
        "| gain, 95% paired interval | " + " | ".join(gain_text(c) for c in compared) + " |",
    ]
    return "\n".join(lines) + f"\n\nMargin asked of the lower bound: {decision['min_margin']}"


def example_readings(store: Store, eval_id: str, instruct: str, n: int = 5) -> str:
    """Markdown: up to `n` records of the current split with their reference labels and each model's reading, those
    where the two disagree first (what a person signing off wants to see)."""
    rows = {}
    for row in (CHAMPION_ROW, CHALLENGER_ROW):
        key = layout.predictions_key(eval_id, instruct, BENCHMARK, row)
        rows[row] = {r["id"]: r for r in store.get_jsonl(key)} if store.exists(key) else {}
    challenger, champion = rows[CHALLENGER_ROW], rows[CHAMPION_ROW]
    ids = sorted(challenger, key=lambda i: (i in champion and champion[i]["parsed"] == challenger[i]["parsed"], i))

    def reading(row: dict | None) -> str:
        return "-" if row is None else " ".join(row["answer"].split())[:120].replace("|", "/")

    lines = ["| record | reference | champion | challenger |", "|---|---|---|---|"]
    for i in ids[:n]:
        truth = ", ".join(challenger[i]["truth"]) or "none"
        lines.append(
            f"| {challenger[i]['record_id']} | {truth} | {reading(champion.get(i))} | {reading(challenger[i])} |"
        )
    return "\n".join(lines)


def signed_off(decision: dict, answer: dict) -> dict:
    """The rule's decision after a person's sign-off: promoted only when approved. `answer`: {"outcome" (approved,
    rejected, timed out), "by", "at", "comment", "waited_s"}; the decision keeps it whole."""
    who = {
        "approved": f"approved by {answer['by']}",
        "rejected": f"rejected by {answer['by']}",
        "timed out": f"no sign-off within {answer['waited_s']:g} s: the champion stands",
    }[answer["outcome"]]
    said = f"{who}: {answer['comment']}" if answer.get("comment") else who
    return decision | {
        "promote": answer["outcome"] == "approved",
        "reason": f"{decision['reason']}; {said}",
        "sign_off": answer,
    }


def against_current_champion(decision: dict, champion: dict | None) -> dict:
    """A promotion decided against one champion, while another has been promoted since (a retraining that ran
    while this one waited for its sign-off): not promoted, it was never compared with the champion now."""
    now = champion["run_id"] if champion else None
    if not decision["promote"] or now == decision.get("champion_run"):
        return decision
    moved = f"champion {now} was promoted while it waited: not promoted (the next retraining compares with it)"
    return decision | {"promote": False, "reason": f"{decision['reason']}; but {moved}"}
