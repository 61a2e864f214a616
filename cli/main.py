"""`ecgflow`: one subcommand per stage, each derived from the Prefect flow it runs (the flow a deployment runs):
the flow's parameters, types, defaults and docstring are the subcommand's options and help, declared once.

ecgflow demo                       # the whole pipeline on embedded defaults, store ./demo-store
ecgflow <command> --help           # ingest, render, instruct, train, evaluate, judge, ablate, retrain, ...
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import signal
import sys
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cli.local_server import LOST_API_EXIT, ApiWatchdog, prefect_api
from ecg_core.errors import InputError
from ecg_core.settings import is_union, parse_assignments, settings_class

DEFAULT_STORE = "./demo-store"
REJECTED_EXIT = 3  # `ecgflow interpret`: done, but some inputs were rejected (listed with their reasons)
INPUT_EXIT = 2  # a user's mistake (ecg_core/errors.py InputError), as argparse exits for a wrong option


def _table(metrics: dict) -> str:
    from ecg_core.evaluate.leaderboard import report_table, table_one

    return table_one(metrics) + "\n" + report_table(metrics)


def _report_only(evaluation) -> str:
    from ecg_core.evaluate.leaderboard import report_table

    return report_table(evaluation.metrics)


def _leaderboard(evaluation) -> str:
    from ecg_core.evaluate.leaderboard import leaderboard_markdown

    return leaderboard_markdown(evaluation.leaderboard) + "\n" + _table(evaluation.metrics)


def _readings(result: dict) -> str:
    return f"{result['table']}\nreadings, rejected inputs and report.md: {result['store']}"


def _rows(rows: dict) -> str:
    from ecg_core.evaluate.leaderboard import table_one

    return table_one({"abnormality_detection": rows})


def _decision(decision: dict) -> str:
    from ecg_core.promotion import decision_table, outcome

    return f"{outcome(decision)}: {decision['reason']}\n\n{decision_table(decision, decision.get('run_id'))}"


def _ablation(rows: list[dict]) -> str:
    from ecg_core.train.ablation import ablation_markdown

    return ablation_markdown(rows)


@dataclass(frozen=True)
class Command:
    target: str  # "module:function": a Prefect flow, or a plain function for commands without orchestration
    help: str | None = None  # its line in `ecgflow --help`; default: the summary of the target's docstring
    positional: tuple[str, ...] = ()  # parameters taken as positional arguments, in this order
    fixed: dict = field(default_factory=dict)  # parameters the command sets itself
    hidden: tuple[str, ...] = ()  # parameters for flows calling flows, not for people
    groups: dict[str, str] = field(default_factory=dict)  # grouped parameter -> the prefix of its fields' flags
    show: Callable[[Any], str] = lambda result: json.dumps(result, indent=2)  # the result, printed
    orchestrated: bool = True  # runs through the Prefect API (tracked, resumable)
    config_file: bool = True  # its settings parameter takes `--config FILE` (the demo: embedded defaults, `--set` only)
    listing: tuple[str, str] | None = None  # (flag, "module:function"): a plain listing the flag runs instead
    status: Callable[[Any], int] = lambda result: 0  # the exit status its result means
    holds_gpu: bool = False  # its flow holds slots of the `gpu` limit: the command creates the limit when absent
    check: str | None = None  # "module:function" checking the inputs from the arguments, before any work


PIPELINE = "flows.pipeline:pipeline_flow"
CHECKS = "cli.input_checks:"
EVALUATE = "flows.evaluate:evaluate_flow"
LAUNCH_GROUP = {"launch": ""}
# What the commands that train share: the launcher's options, slots of the `gpu` limit, the training inputs' checks.
TRAINING = dict(groups=LAUNCH_GROUP, holds_gpu=True, check=CHECKS + "train")
ENDPOINT_GROUP = {"endpoint": "endpoint-"}
COMMANDS = {
    "demo": Command(
        PIPELINE,
        "Run the whole pipeline on synthetic data with a tiny Mllama (configs/demo.yaml)",
        show=_table,
        config_file=False,  # PipelineConfig's defaults are configs/demo.yaml (tested)
        holds_gpu=True,
        check=CHECKS + "pipeline",
    ),
    "pipeline": Command(
        PIPELINE,
        "Run the whole pipeline with the settings of a YAML file",
        show=_table,
        holds_gpu=True,
        check=CHECKS + "pipeline",
    ),
    "ingest": Command(
        "flows.ingest:ingest_flow", positional=("source", "path"), groups={"options": ""}, check=CHECKS + "ingest"
    ),
    "render": Command(
        "flows.render:render_flow",
        positional=("dataset",),
        show=lambda rows: f"{len(rows)} images",
        check=CHECKS + "render",
    ),
    "gallery": Command("cli.plain_commands:gallery", positional=("out_dir",), show=str, orchestrated=False),
    "instruct": Command(
        "flows.instruct:instruct_flow",
        positional=("name",),
        check=CHECKS + "instruct",
    ),
    "train": Command("flows.train:train_flow", show=str, **TRAINING),
    "plan": Command("cli.plain_commands:plan", show=str, orchestrated=False, check=CHECKS + "plan"),
    "server": Command("cli.server_status:server", positional=("action",), show=str, orchestrated=False),
    "ablate": Command("flows.ablation:ablate_flow", show=_ablation, **TRAINING),
    "retrain": Command(
        "flows.retrain:retrain_flow",
        positional=("source", "path"),
        groups={"options": ""},
        show=_decision,
        holds_gpu=True,
        check=CHECKS + "ingest",  # it ingests first: the store is made here, a dataset folder must exist
    ),
    "evaluate": Command(
        EVALUATE,
        hidden=("judge", "example_image", "cnns", "cnn_datasets"),
        groups=ENDPOINT_GROUP,
        show=_leaderboard,
        listing=("--list-benchmarks", "cli.plain_commands:list_benchmarks"),
        check=CHECKS + "evaluate",
    ),
    "judge": Command(
        EVALUATE,
        "Score the generated reports of an evaluation with an LLM judge (any OpenAI-compatible endpoint); "
        "the evaluation's predictions are reused",
        hidden=("example_image", "cnns", "cnn_datasets", "batch_size"),
        groups={"judge": "judge-"} | ENDPOINT_GROUP,
        show=_report_only,
        check=CHECKS + "evaluate",
    ),
    "cnn": Command("flows.cnn:cnn_flow", show=_rows, check=CHECKS + "cnn"),
    "interpret": Command(
        "flows.interpret:interpret_flow",
        positional=("inputs",),
        show=_readings,
        status=lambda result: REJECTED_EXIT if result["rejected"] else 0,
        holds_gpu=True,
        check=CHECKS + "interpret",
    ),
}


def target(command: Command) -> Callable:
    return _resolve(command.target)


def _resolve(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _summary(command: Command) -> str:
    """The command's line in `ecgflow --help`: the target's docstring summary, read without importing it."""
    if command.help:
        return command.help
    module, name = command.target.split(":")
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name)
    return re.split(r"; |\. ", " ".join(ast.get_docstring(fn).split("\n\n")[0].split()))[0].rstrip(".")


# -- parameters -> options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str  # the parameter (or a grouped parameter's field)
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    help: str


def help_text(text: str) -> str:
    """A docstring line as argparse shows it: on one line, its % escaped (argparse formats help with %)."""
    return " ".join(text.split()).replace("%", "%%")


def parameters(fn: Callable) -> list[Option]:
    """The options a function's signature and Google-style docstring declare."""
    from prefect.utilities.callables import parameter_docstrings

    fn = getattr(fn, "fn", fn)  # a Prefect flow wraps the function
    hints, docs = typing.get_type_hints(fn), parameter_docstrings(inspect.getdoc(fn))
    return [
        Option(name, hints.get(name, Any), param.default, help_text(docs.get(name, "")))
        for name, param in inspect.signature(fn).parameters.items()
    ]


@functools.cache
def options_of(target_path: str) -> dict[str, Option]:
    """The options of a command's target by name, read once per process."""
    return {option.name: option for option in parameters(_resolve(target_path))}


def group_options(option: Option) -> list[Option]:
    """The fields of a grouped parameter: a settings dataclass, or (ingest) every source's reading options."""
    if option.name == "options":
        from ecg_core.sources import SOURCE_NAMES, source_options

        takers: dict[str, list[str]] = {}
        params = {}
        for source in SOURCE_NAMES:
            for key, param in source_options(source).items():
                takers.setdefault(key, []).append(source)
                params.setdefault(key, param)
        return [
            Option(key, param.annotation, param.default, f"reading option of {', '.join(takers[key])}")
            for key, param in params.items()
        ]
    settings = settings_class(option.annotation)
    helps, hints = settings.field_help(), typing.get_type_hints(settings)
    return [
        Option(f.name, hints[f.name], f.default, help_text(helps.get(f.name, ""))) for f in dataclasses.fields(settings)
    ]


def _add_set(parser: argparse.ArgumentParser, dest: str, help: str) -> None:
    parser.add_argument(
        "--set",
        dest=dest,
        nargs="+",
        default=argparse.SUPPRESS,
        metavar="KEY=VALUE",
        help=f"{help}; values typed by their key, e.g. lr=1e-3 bf16=false blocks=[3,4,23,3]",
    )


def _add(parser: argparse.ArgumentParser, option: Option, flag: str | None, dest: str, required: bool) -> bool:
    """Add one option; False when its type has no command-line form (a dict, say)."""
    annotation, default = option.annotation, option.default
    kinds = [k for k in (typing.get_args(annotation) if is_union(annotation) else (annotation,)) if k is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    origin = typing.get_origin(kind)
    spec: dict[str, Any] = {"help": option.help}
    if default not in (inspect.Parameter.empty, None) and kind is not bool:
        spec["help"] += f" (default {list(default) if isinstance(default, tuple) else default})"
    if origin in (list, tuple):
        kind, spec["nargs"] = typing.get_args(kind)[0], "+"
        origin = typing.get_origin(kind)
    if kind is bool and "nargs" not in spec:
        spec["action"] = argparse.BooleanOptionalAction
        spec["help"] += f" (default {'on' if default is True else 'off'})"
    elif origin is Literal:
        spec["choices"], spec["type"] = typing.get_args(kind), type(typing.get_args(kind)[0])
    elif kind in (str, int, float):
        spec["type"], spec["metavar"] = kind, option.name.upper()
    else:
        return False
    if flag is None:  # positional
        spec.setdefault("nargs", None if required else "?")  # a list stays "+": one or more
        # argparse checks an absent optional positional's default against its choices: give it the target's own
        parser.add_argument(dest, default=default if "choices" in spec else argparse.SUPPRESS, **spec)
    else:
        parser.add_argument(flag, dest=dest, required=required, default=argparse.SUPPRESS, **spec)
    return True


def add_command(parser: argparse.ArgumentParser, command: Command) -> None:
    """Every parameter of the command's target as an option, except those it fixes or hides; refuses to build
    a command whose flow has a parameter with no command-line form that it neither fixes nor hides."""
    for option in options_of(command.target).values():
        name = option.name
        if name in command.fixed or name in command.hidden:
            continue
        if name in command.groups:
            for member in group_options(option):
                flag = "--" + (command.groups[name] + member.name).replace("_", "-")
                if not _add(parser, member, flag, f"{name}.{member.name}", required=False):
                    raise TypeError(f"{command.target}: {name}.{member.name} has no command-line form")
        elif settings_class(option.annotation):  # one parameter read from a settings file and `--set` pairs
            settings = settings_class(option.annotation).__name__
            if command.config_file:
                parser.add_argument(
                    "--config", dest=f"{name}.config", metavar="FILE", default=argparse.SUPPRESS, help=option.help
                )
            _add_set(
                parser, f"{name}.overrides", f"{settings} keys to replace (a settings field's key: recipe.lr=1e-3)"
            )
        elif name == "store":
            parser.add_argument("--store", default=DEFAULT_STORE, help=f"{option.help} (default %(default)s)")
        elif not _add(
            parser,
            option,
            None if name in command.positional else "--" + name.replace("_", "-"),
            name,
            required=option.default is inspect.Parameter.empty,
        ):
            raise TypeError(f"{command.target}: parameter {name!r} has no command-line form; fix or hide it")
    if command.listing:
        flag, listing = command.listing
        parser.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=_summary(Command(listing)))


def listing_arguments(command: Command, argv: list[str]) -> dict | None:
    """The arguments of the command's listing when argv asks for it (only --store counts), else None."""
    if command.listing is None or command.listing[0] not in argv:
        return None
    parser = argparse.ArgumentParser(prog=f"ecgflow {argv[0]} {command.listing[0]}")
    parser.add_argument("--store", default=DEFAULT_STORE)
    return {"store": parser.parse_known_args(argv[1:])[0].store}


def call_arguments(command: Command, args: argparse.Namespace) -> dict:
    """The target's keyword arguments from parsed options: groups built, settings read from `--config` and `--set`
    (once: a bad key is refused here, and the flow gets the object; `--set` alone replaces keys of the flow's
    default settings)."""
    given = {k: v for k, v in vars(args).items() if k != "command"}
    kwargs = dict(command.fixed)

    def members(name: str) -> dict:
        return {k.split(".", 1)[1]: given.pop(k) for k in list(given) if k.startswith(name + ".")}

    for name in command.groups:
        annotation = options_of(command.target)[name].annotation
        kwargs[name] = members(name) if name == "options" else settings_class(annotation).from_mapping(members(name))
    for name, option in options_of(command.target).items():
        if name not in command.groups and (settings := settings_class(option.annotation)) and (read := members(name)):
            overrides = parse_assignments(read.get("overrides", ()))
            if "config" in read or not isinstance(option.default, settings):
                kwargs[name] = settings.load(read.get("config"), overrides)
            else:
                kwargs[name] = option.default.updated(overrides, f"{settings.__name__} with overrides")
    return kwargs | given


def parser_for(command_name: str | None) -> argparse.ArgumentParser:
    """The CLI; only the named command's options are built (building one imports its flow and Prefect)."""
    parser = argparse.ArgumentParser(
        prog="ecgflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=_summary(command), description=_summary(command))
        if name == command_name:
            add_command(p, command)
    return parser


def _interrupt(signum, frame):
    from ecg_core.train.launch import request_stop

    request_stop()  # also seen by a running training, should the KeyboardInterrupt be swallowed on its way
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name = next((a for a in argv if a in COMMANDS), None)
    if name and (listing := listing_arguments(COMMANDS[name], argv[argv.index(name) :])) is not None:
        print(_resolve(COMMANDS[name].listing[1])(**listing))  # a listing: nothing runs, nothing to track
        return 0
    parser = parser_for(name)
    args = parser.parse_args(argv)
    command = COMMANDS[args.command]
    try:
        kwargs = call_arguments(command, args)
    except ValueError as exc:  # settings refused: an unknown key, an unknown rubric, a python launcher on 2 GPUs
        parser.error(str(exc))
    try:
        if command.check:
            _resolve(command.check)(kwargs)  # before a server starts: a wrong path costs seconds
        return orchestrate(command, args, kwargs)
    except InputError as error:  # a user's mistake: one line; the flow run, if one began, keeps the whole story
        print(f"ecgflow {args.command}: {error}", file=sys.stderr)
        return INPUT_EXIT


class _NoInputErrorReports(logging.Filter):
    """Prefect's report of a flow that raised an InputError (its traceback), kept off the terminal: the terminal
    gets the one line main() prints, and the run's log in the UI keeps the report whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InputError))


def keep_input_errors_off_the_terminal() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.Logger.manager.loggerDict)]
    for handler in {h for logger in loggers for h in getattr(logger, "handlers", ())}:
        if isinstance(handler, PrefectConsoleHandler):
            handler.addFilter(_NoInputErrorReports())


def orchestrate(command: Command, args: argparse.Namespace, kwargs: dict) -> int:
    """Run the command, through the Prefect API when it is orchestrated."""
    if not command.orchestrated:
        return run_command(command, kwargs)  # nothing to track
    # SIGTERM (kill, a scheduler, a closing terminal) stops a command the way Ctrl-C does: the flow run is
    # marked, the training processes are stopped, GPU slots go back, and the same command resumes.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with prefect_api() as api_url:
        lost = (
            f"\necgflow {args.command}: lost the Prefect API at {api_url} (server stopped?); the work so far is "
            f"kept in {args.store}. Run the same command again to resume (it starts a local server again)."
        )
        watchdog = ApiWatchdog(api_url, lost)
        keep_input_errors_off_the_terminal()
        try:
            with watchdog:
                if command.holds_gpu:
                    from tasks.gpu import ensure_gpu_limit

                    ensure_gpu_limit()
                return run_command(command, kwargs)
        except KeyboardInterrupt:
            if watchdog.lost:  # the message is out; Prefect's shutdown would only retry the dead API
                os._exit(LOST_API_EXIT)
            print(
                f"\necgflow {args.command}: interrupted; finished work is kept in {args.store}. "
                "Run the same command again to resume.",
                file=sys.stderr,
            )
            return 130


def announced(flow):
    """The flow, printing first where its run shows in the Prefect UI (Prefect's own address for it)."""
    from prefect.utilities.urls import url_for

    def announce(flow, flow_run, state) -> None:
        print(f"ecgflow: flow run {flow_run.name!r} at {url_for(flow_run) or flow_run.id}", flush=True)

    return flow.with_options(on_running=[*flow.on_running_hooks, announce])


def run_command(command: Command, kwargs: dict) -> int:
    """Run the command's target; a flow announces its run."""
    started = time.time()
    call = announced(target(command)) if command.orchestrated else target(command)
    result = call(**kwargs)
    print(command.show(result))
    if command.target == PIPELINE:
        from ecg_core.layout import leaderboard_md_key, metrics_key

        settings = kwargs.get("settings") or options_of(command.target)["settings"].default
        print(
            f"\npipeline took {time.time() - started:.0f} s; metrics: {metrics_key(settings.name)}, leaderboard: "
            f"{leaderboard_md_key(settings.name)} in {kwargs['store']}"
        )
    return command.status(result)
