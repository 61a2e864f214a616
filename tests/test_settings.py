"""One settings grammar: every stage's settings class reads its YAML files, types `--set` text by the field,
refuses an unknown or mistyped key with the key, the file and the allowed keys, and agrees with its default file."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from ecg_core.cnn import CnnConfig
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.render.variants import RenderConfig
from ecg_core.settings import CONFIGS, SettingsError, config_path, parse_assignments
from ecg_core.train import TrainConfig
from ecg_core.train.ablation import AblationConfig
from ecg_core.train.launch import Launch
from flows.pipeline import PipelineConfig

# Every settings file in configs/ and the class that reads it.
FILES = {
    "paper.yaml": TrainConfig,
    "tiny-cpu.yaml": TrainConfig,
    "render/default.yaml": RenderConfig,
    "render/plain.yaml": RenderConfig,
    "instruct/default.yaml": InstructConfig,
    "instruct/demo.yaml": InstructConfig,
    "ablation.yaml": AblationConfig,
    "demo.yaml": PipelineConfig,
}
PATHS = ("model", "train_jsonl", "val_jsonl", "image_root", "output_dir")  # a recipe's per-run paths


def test_every_settings_file_is_read_by_its_class():
    on_disk = {p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*.yaml")}
    assert on_disk == set(FILES)
    for name, settings in FILES.items():
        assert dataclasses.is_dataclass(settings.load(name))


@pytest.mark.parametrize(
    "settings, name",
    [
        (TrainConfig, "paper.yaml"),
        (InstructConfig, "instruct/default.yaml"),
        (AblationConfig, "ablation.yaml"),
        (PipelineConfig, "demo.yaml"),
    ],
)
def test_code_defaults_agree_with_the_default_file(settings, name):
    loaded, defaults = settings.load(name).to_dict(), settings().to_dict()
    if settings is TrainConfig:
        loaded, defaults = ({k: v for k, v in d.items() if k not in PATHS} for d in (loaded, defaults))
    assert loaded == defaults


def test_the_default_render_file_spells_every_key():
    """No key of the realistic mix falls back to a code default that could drift from it."""
    spelled = yaml.safe_load(config_path("render/default.yaml").read_text())
    assert set(spelled) == {f.name for f in dataclasses.fields(RenderConfig)}
    assert set(spelled["artefacts"]) == set(RenderConfig.load("render/default.yaml").artefacts)


def test_text_is_typed_by_its_field():
    recipe = TrainConfig.load("tiny-cpu.yaml", {"lr": "1e-3", "bf16": "false", "save_total_limit": "null"})
    assert (recipe.lr, recipe.bf16, recipe.save_total_limit) == (1e-3, False, None)
    assert CnnConfig.from_mapping({"blocks": "[3, 4, 23, 3]", "epochs": "20"}).blocks == [3, 4, 23, 3]
    assert Launch.from_mapping({"launcher": "deepspeed", "num_gpus": "2"}).world_size == 2
    assert JudgeConfig.from_mapping({"vision": "true"}).vision is True
    assert InstructConfig.load("instruct/demo.yaml", {"topics": "[report]"}).topics == ["report"]


@pytest.mark.parametrize(
    "settings, file, values, message",
    [
        (
            TrainConfig,
            "paper.yaml",
            {"lora_rank": "16"},
            r"paper.yaml with overrides: unknown key\(s\) lora_rank; allowed: .*lora_r",
        ),
        (TrainConfig, "paper.yaml", {"lr": "fast"}, r"paper.yaml with overrides: lr = 'fast': expected float"),
        (TrainConfig, "paper.yaml", {"max_steps": "2.5"}, r"max_steps = '2.5': expected int"),
        (
            RenderConfig,
            "render/plain.yaml",
            {"dpi": "high"},
            r"render/plain.yaml with overrides: dpi = 'high': expected float",
        ),
        (InstructConfig, "instruct/demo.yaml", {"export_hf": "maybe"}, r"export_hf = 'maybe': expected bool"),
        (AblationConfig, "ablation.yaml", {"variants": "[1, 2]"}, r"variants = '\[1, 2\]': expected dict"),
        (PipelineConfig, "demo.yaml", {"n_record": "5"}, r"unknown key\(s\) n_record; allowed: .*n_records"),
        (PipelineConfig, "demo.yaml", {"recipe.max_stepz": "5"}, r"recipe: unknown key\(s\) max_stepz; allowed"),
        (PipelineConfig, "demo.yaml", {"recipe": "nowhere.yaml"}, r"recipe: settings file nowhere.yaml: not found"),
        (PipelineConfig, "demo.yaml", {"dpi.x": "1"}, r"dpi.x: dpi has no keys; dotted keys go to instruct, judge"),
        (AblationConfig, None, {"variants": "{r8: {lora_rank: 8}}"}, r"variants.r8: unknown key\(s\) lora_rank"),
        (Launch, None, {"launcher": "mpirun"}, r"launcher = 'mpirun': expected one of python, deepspeed, torchrun"),
    ],
)
def test_unknown_or_mistyped_keys_are_refused_before_any_work(settings, file, values, message):
    with pytest.raises(SettingsError, match=message):
        settings.load(file, values)


def test_a_bad_file_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "recipe.yaml"
    bad.write_text("lora_r: 16\nlearning_rate: 1e-4\n")
    with pytest.raises(SettingsError, match=r"recipe.yaml: unknown key\(s\) learning_rate"):
        TrainConfig.load(bad)
    with pytest.raises(SettingsError, match="settings file nowhere.yaml: not found"):
        TrainConfig.load("nowhere.yaml")
    with pytest.raises(SettingsError, match="expects KEY=VALUE"):
        parse_assignments(["lr"])
    assert parse_assignments(["lr=1e-3", "tag=a=b"]) == {"lr": "1e-3", "tag": "a=b"}


def test_a_flow_parameter_of_settings_is_read_by_the_same_grammar_from_json():
    """A deployment run's JSON: a file, a file with overrides, or the keys as Prefect records them; the CLI's
    object passes as it is; a misspelt key is refused with the allowed keys, before the flow starts."""
    from prefect.exceptions import ParameterTypeError

    from flows.train import train_flow

    def recipe(value) -> TrainConfig:
        given = {"store": "s", "run_id": "r", "model": "m", "instruct": "i", "recipe": value}
        return train_flow.validate_parameters(given)["recipe"]

    tiny = TrainConfig.load("tiny-cpu.yaml", {"max_steps": "100"})
    assert recipe({"config": "tiny-cpu.yaml", "overrides": {"max_steps": 100}}) == tiny
    assert recipe("tiny-cpu.yaml") == TrainConfig.load("tiny-cpu.yaml")
    assert recipe(tiny.to_dict()) == tiny and recipe(tiny) is tiny
    with pytest.raises(ParameterTypeError, match=r"tiny-cpu.yaml with overrides: unknown key\(s\) max_stepz; allowed"):
        recipe({"config": "tiny-cpu.yaml", "overrides": {"max_stepz": 100}})


def test_the_pipelines_settings_go_through_json_and_back():
    """A deployment run of the pipeline: its JSON read once into PipelineConfig (nested recipe included), and the
    parameters Prefect records (the object as JSON) read back to the same settings, as a retried run does."""
    from flows.pipeline import pipeline_flow

    def settings(value) -> PipelineConfig:
        return pipeline_flow.validate_parameters({"store": "s", "settings": value})["settings"]

    given = {"config": "demo.yaml", "overrides": {"n_records": 800, "recipe.max_steps": 50}}
    read = settings(given)
    assert read == PipelineConfig.load("demo.yaml", {"n_records": "800", "recipe.max_steps": "50"})
    recorded = pipeline_flow.serialize_parameters({"settings": read})["settings"]
    assert json.loads(json.dumps(recorded)) == recorded and settings(recorded) == read


def test_a_settings_field_takes_a_file_its_keys_or_one_dotted_key():
    """The pipeline's recipe: a file, {config, overrides}, or one key replaced over the value it has."""
    tiny = TrainConfig.load("tiny-cpu.yaml")
    assert PipelineConfig().recipe == tiny  # configs/demo.yaml: `recipe: tiny-cpu.yaml`
    assert PipelineConfig.load("demo.yaml", {"recipe": "paper.yaml"}).recipe == TrainConfig.load("paper.yaml")
    given = {"recipe": "{config: tiny-cpu.yaml, overrides: {max_steps: 7}}"}
    assert PipelineConfig.load("demo.yaml", given).recipe == tiny.updated({"max_steps": 7})
    dotted = PipelineConfig.load("demo.yaml", {"recipe.max_steps": "7", "recipe.lr": "1e-3"}).recipe
    assert dotted == dataclasses.replace(tiny, max_steps=7, lr=1e-3)
    on_another_file = {"recipe": "paper.yaml", "recipe.max_steps": "7"}
    assert PipelineConfig.load("demo.yaml", on_another_file).recipe == TrainConfig.load("paper.yaml", {"max_steps": 7})
    assert PipelineConfig.load("demo.yaml", {"judge.model": "gpt-4o"}).judge == JudgeConfig(model="gpt-4o")
