"""Train one run and evaluate it: the step `pipeline`, `retrain` and `ablate` share, so they cannot drift.

The base model is the one given, else a tiny Mllama built for the instruction set it trains on
(`models/tiny-mllama-<set>/`: its tokenizer learnt that set's texts), built once and reused while the set's
training split is unchanged; two pipelines in one store each keep their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core import layout
from ecg_core.evaluate.evaluation import Evaluation
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from flows.evaluate import evaluate_flow
from flows.train import train_flow
from tasks.model import build_tiny_model
from tasks.storage import run_cached


@dataclass(frozen=True)
class TrainedRun:
    """A trained and evaluated run: its id, the base model it adapts, its evaluation."""

    run_id: str
    model: str
    evaluation: Evaluation

    @property
    def finetuned(self) -> dict:
        """The run's abnormality-detection metrics on the test split (Table I's fine-tuned row)."""
        return self.evaluation.detection["finetuned"]


def tiny_model_key(instruct: str) -> str:
    """Where the tiny Mllama of instruction set `instruct` is built in the store."""
    return layout.model_prefix(tiny_model_name(instruct))


def tiny_model_name(instruct: str) -> str:
    return f"tiny-mllama-{instruct}"


def base_model(store: str, model: str | None, instruct: str, tile_size: int, seed: int) -> str:
    """`model`, or the tiny Mllama of instruction set `instruct` with `tile_size` px tiles (built when absent
    or when the set's training split changed)."""
    if model:
        return model
    return run_cached(
        build_tiny_model,
        reads=[layout.split_key(instruct, "train")],
        writes=layout.model_config_key(tiny_model_name(instruct)),
        store_uri=store,
        instruct_name=instruct,
        key=tiny_model_key(instruct),
        image_size=tile_size,
        seed=seed,
    )


def train_and_evaluate(
    *,
    store: str,
    run_id: str,
    model: str,
    instruct: str,
    recipe: TrainConfig,
    launch: Launch = Launch(),
    train_instruct: str | None = None,
    candidates: list[str] | None = None,
    **evaluation,
) -> TrainedRun:
    """Fine-tune `model` with `recipe` on `train_instruct` (default: `instruct`) as run `run_id`, then evaluate the run
    (and any other `candidates`) on `instruct`'s test split as evaluation `run_id`; `evaluation`: the
    evaluate flow's other keywords (batch_size, judge, cnns, ...)."""
    train_flow(
        store=store,
        run_id=run_id,
        model=model,
        instruct=train_instruct or instruct,
        recipe=recipe,
        launch=launch,
    )
    evaluation = evaluate_flow(
        store=store,
        eval_id=run_id,
        model=model,
        instruct=instruct,
        candidates=candidates or [f"run:{run_id}"],
        **evaluation,
    )
    return TrainedRun(run_id, model, evaluation)
