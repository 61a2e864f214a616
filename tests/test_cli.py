"""The CLI is derived from the flows: every flow parameter is an option (or fixed / hidden by its command), the
flows are called by keyword with only what was given (each default stays in the flow), and every `ecgflow`
command line in the README and docs/ parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cli.main import COMMANDS, DEFAULT_STORE, call_arguments, listing_arguments, main, parser_for
from ecg_core.evaluate.endpoint import EndpointConfig
from ecg_core.evaluate.judge import JudgeConfig
from ecg_core.render.variants import RenderConfig
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from flows.pipeline import PipelineConfig

ROOT = Path(__file__).resolve().parents[1]


def arguments(line: str) -> tuple[str, dict]:
    argv = shlex.split(line)
    if (listing := listing_arguments(COMMANDS[argv[0]], argv)) is not None:
        return argv[0], listing
    args = parser_for(argv[0]).parse_args(argv)
    return args.command, call_arguments(COMMANDS[args.command], args)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_builds_from_its_target_with_help_for_every_option(name):
    subparsers = next(a for a in parser_for(name)._actions if a.dest == "command")
    options = [a for a in subparsers.choices[name]._actions if a.dest != "help"]
    assert options and all(a.help for a in options), [a.dest for a in options if not a.help]


def test_flows_get_keywords_given_and_their_own_defaults_otherwise():
    command, kwargs = arguments(
        "train --run-id r --model M --instruct I --set lr=1e-3 bf16=false --launcher deepspeed --num-gpus 2"
    )
    assert kwargs == {
        "store": DEFAULT_STORE,
        "run_id": "r",
        "model": "M",
        "instruct": "I",
        "recipe": TrainConfig(lr=1e-3, bf16=False),  # read here, once: the flow gets the object
        "launch": Launch(launcher="deepspeed", num_gpus=2),
    }  # no --config: the code defaults (the paper's recipe) with the keys set
    _, kwargs = arguments("train --run-id r --model M --instruct I --config tiny-cpu.yaml --set max_steps=100")
    assert kwargs["recipe"] == TrainConfig.load("tiny-cpu.yaml", {"max_steps": 100})
    _, kwargs = arguments("train --run-id r --model M --instruct I")
    assert "recipe" not in kwargs  # the flow's default recipe
    _, kwargs = arguments(
        "judge --eval-id e --model M --instruct I --candidates base run:r --judge-rubric pulse --judge-vision"
    )
    assert kwargs["judge"] == JudgeConfig(rubric="pulse", vision=True) and "batch_size" not in kwargs
    assert kwargs["candidates"] == ["base", "run:r"]
    _, kwargs = arguments(
        "evaluate --eval-id e --benchmarks demo/ptbxl-super ecgbench/ptbxl-report --candidates openai:gpt-4o "
        "--endpoint-base-url http://127.0.0.1:8000/v1"
    )
    assert kwargs["endpoint"] == EndpointConfig(base_url="http://127.0.0.1:8000/v1")
    assert kwargs["benchmarks"] == ["demo/ptbxl-super", "ecgbench/ptbxl-report"] and "model" not in kwargs
    _, kwargs = arguments("ingest ptbxl /data/ptb-xl --sampling-rate 100 --store s3://b/p")
    assert kwargs == {"store": "s3://b/p", "source": "ptbxl", "path": "/data/ptb-xl", "options": {"sampling_rate": 100}}
    _, kwargs = arguments("demo --set n_records=200 recipe.max_steps=50")  # the demo's settings, two keys replaced
    assert kwargs == {
        "store": DEFAULT_STORE,
        "settings": PipelineConfig.load("demo.yaml", {"n_records": 200, "recipe.max_steps": 50}),
    }
    _, kwargs = arguments("render synthetic --set dpi=100")  # over the flow's default file, not the code defaults
    assert kwargs["settings"] == RenderConfig.load("render/default.yaml", {"dpi": 100})
    _, kwargs = arguments("ablate --name a --model M --instruct I --config ablation.yaml --set recipe.max_steps=3")
    assert kwargs["settings"].recipes["partial"].max_steps == 3
    # Retraining reads its data as `ingest` does, its settings as the pipeline does, and its own policy keys.
    _, kwargs = arguments(
        "retrain synthetic --n-records 400 --min-new-records 100 --approval required --set recipe.max_steps=50"
    )
    assert kwargs == {
        "store": DEFAULT_STORE,
        "source": "synthetic",
        "options": {"n_records": 400},
        "min_new_records": 100,
        "approval": "required",
        "settings": PipelineConfig.load("demo.yaml", {"recipe.max_steps": 50}),
    }


def test_bad_options_are_refused_before_any_work(capsys):
    with pytest.raises(SystemExit):
        main("train --run-id r --model M".split())
    assert "the following arguments are required: --instruct" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main("judge --eval-id e --model M --instruct I --candidates base --judge-rubric x".split())
    assert "unknown rubric 'x'; known: paper, pulse" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main("train --run-id r --model M --instruct I --num-gpus 2".split())
    assert "the python launcher runs one process" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a bad key, refused before a Prefect server or a flow run exists
        main("train --run-id r --model M --instruct I --set lora_rank=16".split())
    assert "TrainConfig with overrides: unknown key(s) lora_rank; allowed:" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a nested key of the pipeline's settings too
        main(["demo", "--set", "cnns={signal: {epoch: 3}}"])
    assert "cnns.signal: unknown key(s) epoch" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main("retrain --approval maybe".split())
    assert "argument --approval: invalid choice: 'maybe'" in capsys.readouterr().err


def _documented_commands() -> list[str]:
    """`ecgflow ...` lines of the fenced code blocks in README.md and docs/*.md, continuations joined."""
    lines = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith("ecgflow "):
                    lines.append(line.removeprefix("ecgflow "))
    return lines


def test_every_documented_command_parses():
    documented = _documented_commands()
    assert len(documented) >= 10
    for line in documented:
        arguments(line.replace("$(mktemp -d)", "x"))
