"""The whole story: ingest -> render -> instruction set -> (tiny model) -> fine-tune -> evaluate.

ecgflow demo --store ./demo-store                                     # configs/demo.yaml
ecgflow pipeline --config configs/demo.yaml --set n_records=800       # any settings file, any key overridden
ecgflow pipeline --set recipe.max_steps=50                            # a key of a stage's settings
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from prefect import flow

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
    render: RenderConfig = knob(
        help="render settings: a file in configs/ (or a path), {config, overrides} or their keys",
        factory=lambda: RenderConfig.load("render/plain.yaml"),
    )
    instruct: InstructConfig = knob(
        help="instruction-set settings, given as `render`", factory=lambda: InstructConfig.load("instruct/demo.yaml")
    )
    dpi: float = knob(100.0, "render resolution (replaces the render settings' dpi)")
    seed: int = knob(0, "one seed for synthesis, splits, phrasing and the tiny model")
    recipe: TrainConfig = knob(
        help="training recipe, given as `render`; one key: recipe.max_steps=50",
        factory=lambda: TrainConfig.load("tiny-cpu.yaml"),
    )
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
        # Every key the run will read, checked now: a typo must not wait for the training to fail.
        self.render_settings  # the render settings at this dpi
        for kind, keys in self.cnns.items():
            if kind not in KINDS:
                raise SettingsError(f"cnns: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
            CnnConfig.from_mapping(keys, f"cnns.{kind}")

    @property
    def render_settings(self) -> RenderConfig:
        """The render settings as run: `render` at the pipeline's dpi."""
        return replace(self.render, dpi=self.dpi)

    @property
    def instruct_settings(self) -> InstructConfig:
        """The instruction-set settings as run: `instruct` with the pipeline's seed."""
        return replace(self.instruct, seed=self.seed)


@flow(name="pipeline", flow_run_name="pipeline {settings.name}")
def pipeline_flow(*, store: str, settings: PipelineConfig = PipelineConfig()) -> dict:
    """Every stage in order on one settings file; returns the evaluation's metrics.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        settings: the pipeline's settings, default configs/demo.yaml: a settings file with keys as in it, and keys
            to replace (`--config demo.yaml --set n_records=800 recipe.max_steps=50`; a deployment's JSON:
            {"config": "demo.yaml", "overrides": {"n_records": 800, "recipe.max_steps": 50}})
    """
    name, seed = settings.name, settings.seed
    options = {"n_records": settings.n_records, "seed": seed, "fs": settings.fs, "seconds": settings.seconds}
    ingest_flow(store=store, source="synthetic", options=options, split_seed=seed)
    images = render_flow(store=store, dataset="synthetic", settings=settings.render_settings)
    instruct_flow(store=store, name=name, datasets=["synthetic"], settings=settings.instruct_settings)
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
