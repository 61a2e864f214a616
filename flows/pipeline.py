"""The whole story: ingest -> render -> instruction set -> (tiny model) -> fine-tune -> evaluate.

ecgflow demo --store ./demo-store                                     # configs/demo.yaml
ecgflow pipeline --config configs/demo.yaml --set n_records=800       # any settings file, any key overridden
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from prefect import flow
from prefect.runtime import flow_run

from ecg_core.cnn import KINDS, CnnConfig
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.render.variants import RenderConfig
from ecg_core.settings import Settings, SettingsError, knob
from ecg_core.train import TrainConfig
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from flows.train_and_evaluate import base_model, train_and_evaluate


@dataclass(frozen=True)
class PipelineConfig(Settings):
    """configs/demo.yaml documents every key and is tested to agree with these defaults."""

    name: str = knob("demo", "names the instruction set, the training run and the evaluation")
    model: str | None = knob(None, "base Mllama checkpoint folder; None: a tiny Mllama built for CPU runs")
    n_records: int = knob(1600, "synthetic records (~80/10/10 train/val/test by patient)")
    fs: float = knob(250.0, "sampling rate of the synthetic signals in Hz")
    seconds: float = knob(10.0, "record length")
    render_config: str = knob("render/plain.yaml", "render config (a path or a name in configs/)")
    instruct_config: str = knob("instruct/demo.yaml", "instruction-set config")
    dpi: float = knob(100.0, "render resolution (overrides the render config)")
    seed: int = knob(0, "one seed for synthesis, splits, phrasing and the tiny model")
    train_config: str = knob("tiny-cpu.yaml", "training recipe")
    train_overrides: dict = knob(factory=dict, help="recipe keys to override, e.g. {max_steps: 50}")
    tiny_tile_size: int = knob(224, "tile side of the tiny model's vision tower")
    eval_batch_size: int = knob(32, "generation batch size for the test split")
    judge: JudgeConfig | None = knob(None, "None: the label-based report score; else an LLM judge's settings")
    cnns: dict[str, dict] = knob(
        help="reference CNNs by kind (signal, image) with their CnnConfig keys; {}: none",
        factory=lambda: {
            "signal": {"width": 32, "blocks": [1, 1, 1, 1], "epochs": 15, "patience": 3},
            "image": {"width": 16, "image_size": [128, 256], "epochs": 4, "patience": 2},
        },
    )

    def __post_init__(self):
        # Every file and key the run will read, checked now: a typo must not wait for the training to fail.
        RenderConfig.load(self.render_config, {"dpi": self.dpi})
        InstructConfig.load(self.instruct_config)
        self.recipe  # read now, and kept for the training
        for kind, keys in self.cnns.items():
            if kind not in KINDS:
                raise SettingsError(f"cnns: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
            CnnConfig.from_mapping(keys, f"cnns.{kind}")

    @cached_property
    def recipe(self) -> TrainConfig:
        """The training recipe: train_config with train_overrides, read once."""
        return TrainConfig.load(self.train_config, self.train_overrides)


DEMO = "demo.yaml"  # the embedded defaults: configs/demo.yaml


def _run_name() -> str:
    """Runs are named by the settings' `name` (which lives in the file or the overrides, not in a parameter)."""
    parameters = flow_run.parameters
    return f"pipeline {PipelineConfig.load(parameters.get('config', DEMO), parameters.get('overrides')).name}"


@flow(name="pipeline", flow_run_name=_run_name)
def pipeline_flow(*, store: str, config: str = DEMO, overrides: dict | None = None) -> dict:
    """Every stage in order on one settings file; returns the evaluation's metrics.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        config: pipeline settings file (a path or a name in configs/), keys as in configs/demo.yaml
        overrides: settings keys to replace, e.g. {"n_records": 800} (`--set n_records=800`)
    """
    settings = PipelineConfig.load(config, overrides)
    name, seed = settings.name, settings.seed
    options = {"n_records": settings.n_records, "seed": seed, "fs": settings.fs, "seconds": settings.seconds}
    ingest_flow(store=store, source="synthetic", options=options, split_seed=seed)
    images = render_flow(
        store=store, dataset="synthetic", config=settings.render_config, overrides={"dpi": settings.dpi}
    )
    instruct_flow(
        store=store, name=name, datasets=["synthetic"], config=settings.instruct_config, overrides={"seed": seed}
    )
    model = base_model(store, settings.model, name, settings.tiny_tile_size, seed)
    trained = train_and_evaluate(
        store=store,
        run_id=name,
        model=model,
        instruct=name,
        recipe=settings.recipe,
        candidates=["base", f"run:{name}"],
        batch_size=settings.eval_batch_size,
        example_image=images[0]["image"],
        judge=settings.judge,
        cnns=settings.cnns,
        cnn_datasets=["synthetic"],
    )
    return trained.evaluation.metrics
