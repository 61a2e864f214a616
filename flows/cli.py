"""`ecgflow`: one subcommand per stage; each runs the same Prefect flow a deployment runs.

ecgflow demo                       # the whole pipeline on embedded defaults, store ./demo-store
ecgflow <stage> --help             # ingest, render, instruct, train, ablate, evaluate, judge, baseline, pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import yaml

from ecg_core.evaluate.report_score import JUDGES
from ecg_core.sources import INSTRUCTION_SOURCES, SOURCE_NAMES
from ecg_core.train.launch import LAUNCHERS
from flows import CONFIGS
from flows.local_server import LOST_API_EXIT, ApiWatchdog, prefect_api

DEFAULT_STORE = "./demo-store"
TASK_RUNNER_HELP = "where batches run: threads[:N] (default), dask[:N] (local cluster), dask:tcp://host:port"

# Which ingest options each source takes (the rest of the CLI flags do not apply to it).
SOURCE_OPTIONS = {
    "synthetic": ("n_records", "fs", "seed"),
    "ptbxl": ("sampling_rate",),
    "wfdb": ("fs",),
    "challenge": ("fs",),
    "mimic-iv-ecg": ("fs",),
    "code15": ("fs",),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecgflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--store", default=DEFAULT_STORE, help="artifact store: a folder (default %(default)s)")
        return p

    p = command("demo", "run the whole pipeline on synthetic data with a tiny Mllama (configs/demo.yaml)")
    p.add_argument("--config", default=str(CONFIGS / "demo.yaml"), help="settings file (default %(default)s)")
    p.add_argument(
        "--judge",
        choices=JUDGES,
        help="report scoring: labels (no external service) or openai (an LLM "
        "judge at OPENAI_BASE_URL with OPENAI_API_KEY); default: the settings file's",
    )
    _judge_arguments(p)

    p = command("pipeline", "run the whole pipeline with the settings of a YAML file")
    p.add_argument("--config", required=True, help="settings file, keys as in configs/demo.yaml")

    p = command(
        "ingest", "ingest a source into validated, patient-split records under records/<dataset>/ (incremental)"
    )
    p.add_argument("source", choices=SOURCE_NAMES + tuple(INSTRUCTION_SOURCES), help="data source format")
    p.add_argument("path", nargs="?", help="the dataset folder as published (not for synthetic)")
    p.add_argument("--n-records", type=int, help="synthetic: how many records (default 500)")
    p.add_argument(
        "--fs",
        type=float,
        help="synthetic: sampling rate; wfdb, challenge, mimic-iv-ecg, code15: rate to resample to, in Hz (default 500)",
    )
    p.add_argument("--seed", type=int, help="synthetic: random seed (default 0)")
    p.add_argument(
        "--sampling-rate", type=int, choices=[100, 500], help="ptbxl: records100 or records500 (default 500)"
    )
    p.add_argument("--name", help="ecginstruct/ecgbench: instruction set to import into (default: the source name)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the patient-level split (default %(default)s)")
    p.add_argument("--task-runner", default="threads", help=TASK_RUNNER_HELP)

    p = command(
        "render", "render a dataset's records as ECG paper images under images/<dataset>/ (N variants each, resumable)"
    )
    p.add_argument("dataset", nargs="?", help="dataset name under records/")
    p.add_argument(
        "--config", default=str(CONFIGS / "render" / "default.yaml"), help="render config (default %(default)s)"
    )
    p.add_argument("--variants", type=int, help="images per record (overrides the config)")
    p.add_argument("--dpi", type=float, help="resolution (overrides the config)")
    p.add_argument("--seed", type=int, help="seed of every random choice (overrides the config)")
    p.add_argument("--format", choices=["auto", "png", "jpeg"], help="image format (overrides the config)")
    p.add_argument("--task-runner", default="threads", help=TASK_RUNNER_HELP)
    p.add_argument(
        "--gallery",
        metavar="DIR",
        help="instead: draw one record (the dataset's first, or a synthetic one) in every layout, paper and artefact into DIR",
    )

    p = command("instruct", "build an ECGInstruct-format instruction set under instruct/<name>/")
    p.add_argument("name", help="instruction set name")
    p.add_argument("--datasets", nargs="+", default=["synthetic"], help="datasets to draw from (default %(default)s)")
    p.add_argument(
        "--config",
        default=str(CONFIGS / "instruct" / "default.yaml"),
        help="families, filters and mixing caps (default %(default)s)",
    )
    p.add_argument("--families", nargs="+", help="task families (overrides the config)")
    p.add_argument("--seed", type=int, help="seed for phrasing and mixing (overrides the config)")

    p = command("train", "fine-tune with LoRA (paper settings) on an instruction set; output under runs/<run-id>/")
    p.add_argument("--run-id", required=True, help="run name")
    p.add_argument("--model", required=True, help="Mllama checkpoint folder (Llama 3.2 Vision or tiny)")
    p.add_argument("--instruct", required=True, help="instruction set name")
    p.add_argument("--config", default=str(CONFIGS / "paper.yaml"), help="training recipe (default %(default)s)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override recipe keys, e.g. max_steps=100")
    _launch_arguments(p)

    p = sub.add_parser(
        "plan",
        help="before any GPU time: parameters, per-GPU memory, FLOPs and samples/s of a training "
        "recipe on a model, and which GPUs it fits",
        description="plan a fine-tuning run (no model loaded)",
    )
    p.add_argument(
        "--model-config",
        default=str(CONFIGS / "models" / "llama-3.2-11b-vision.json"),
        help="an Mllama config.json, or a checkpoint folder holding one (default %(default)s)",
    )
    p.add_argument("--config", default=str(CONFIGS / "paper.yaml"), help="training recipe (default %(default)s)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override recipe keys, e.g. max_tiles=2")
    p.add_argument("--seq-len", type=int, default=512, help="text tokens per sample (default %(default)s)")
    p.add_argument("--num-gpus", type=int, default=1, help="data-parallel GPUs (default %(default)s)")
    p.add_argument("--mfu", type=float, default=0.35, help="assumed model FLOPs utilisation (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")

    p = command(
        "ablate", "ablations: LoRA ranks, LoRA vs partial, data sources; one run each, then one comparison table"
    )
    p.add_argument("--name", required=True, help="ablation name: runs/<name>-<variant>/, eval/<name>/ablation.md")
    p.add_argument("--model", required=True, help="base Mllama checkpoint folder")
    p.add_argument("--instruct", required=True, help="instruction set name")
    p.add_argument(
        "--config", default=str(CONFIGS / "ablation.yaml"), help="variants and base recipe (default %(default)s)"
    )
    p.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="recipe keys for every variant, e.g. max_steps=100"
    )
    _launch_arguments(p)

    p = command(
        "evaluate", "evaluate baseline (and fine-tuned, with --run-id) on the test split; output under eval/<eval-id>/"
    )
    _evaluation_arguments(p)
    p.add_argument("--batch-size", type=int, default=16, help="generation batch size (default %(default)s)")

    p = command(
        "judge",
        "score the generated reports of an evaluation with an LLM judge (any OpenAI-compatible "
        "endpoint); the evaluation's predictions are reused",
    )
    _evaluation_arguments(p)
    _judge_arguments(p)

    p = command(
        "baseline",
        "train reference CNNs (signal 1-D ResNet, image ResNet-18-class) on ingested datasets; "
        "output under baselines/<name>/",
    )
    p.add_argument(
        "--datasets", nargs="+", required=True, help="datasets under records/ (the image CNN needs them rendered)"
    )
    p.add_argument(
        "--name", required=True, help="names the output: baselines/<name>/, eval/<name>/predictions-cnn-*.jsonl"
    )
    p.add_argument(
        "--kinds", nargs="+", choices=["signal", "image"], default=["signal", "image"], help="which CNNs (default both)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default %(default)s)")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="BaselineConfig keys as YAML values, e.g. epochs=20 width=32 blocks=[3,4,23,3]",
    )
    return parser


def _evaluation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval-id", required=True, help="evaluation name")
    p.add_argument("--model", required=True, help="base Mllama checkpoint folder")
    p.add_argument("--instruct", required=True, help="instruction set name")
    p.add_argument("--run-id", help="training run whose adapter gives the fine-tuned row")
    p.add_argument(
        "--max-tiles",
        type=int,
        help="tile budget per page (1, 2 or 4); default: the run's "
        "(runs/<run-id>/config.json), which this may repeat but not contradict; without a run: the checkpoint's",
    )
    p.add_argument("--page-fit", help="pad or stretch: how pages fill their tiles; default: the run's, else pad")


def _judge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--judge-model", default="gpt-4o", help="judge model name (default %(default)s)")
    p.add_argument(
        "--rubric",
        choices=["paper", "pulse"],
        default="paper",
        help="paper: 4 criteria -> 0-100; pulse: diagnosis, waveform, rhythm 0-10 each, x10 (default %(default)s)",
    )
    p.add_argument("--base-url", help="endpoint (default: OPENAI_BASE_URL, else OpenAI)")
    p.add_argument("--api-key-block", help="Prefect Secret block holding the key (default: OPENAI_API_KEY)")
    p.add_argument("--vision", action="store_true", help="attach the ECG image (the endpoint must take images)")
    p.add_argument(
        "--allow-credentialed-remote",
        action="store_true",
        help="allow MIMIC-IV-ECG records to go to a non-loopback endpoint (check your data use agreement)",
    )


def _judge_settings(args: argparse.Namespace) -> dict:
    return {
        "model": args.judge_model,
        "rubric": args.rubric,
        "base_url": args.base_url,
        "vision": args.vision,
        "api_key_block": args.api_key_block,
        "allow_credentialed_remote": args.allow_credentialed_remote,
    }


def _launch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default="python",
        help="python (one process), deepspeed (ZeRO-2 ranks) or torchrun (default %(default)s)",
    )
    p.add_argument(
        "--num-gpus",
        type=int,
        default=1,
        help="ranks per node: GPUs, or CPU ranks over gloo without a GPU (default %(default)s)",
    )
    p.add_argument("--num-nodes", type=int, default=1, help="machines (default %(default)s)")
    p.add_argument("--hostfile", help="DeepSpeed hostfile for several nodes")


def _launch(args: argparse.Namespace) -> dict:
    return {
        "launcher": args.launcher,
        "num_gpus": args.num_gpus,
        "num_nodes": args.num_nodes,
        "hostfile": args.hostfile,
    }


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def _gallery(store: str, dataset: str | None, out_dir: str) -> int:
    from ecg_core.image_store import header_lines
    from ecg_core.record_store import read_manifest, read_shard
    from ecg_core.render.gallery import write_gallery
    from ecg_core.store import open_store
    from ecg_core.synth import synthesize_records

    if dataset:
        source = open_store(store)
        record = read_shard(source, read_manifest(source, dataset).shards[0])[0]
    else:
        record = synthesize_records(1, seed=0, fs=500.0)[0]
    written = write_gallery(record.signal, record.fs, out_dir, header_lines(record))
    print(f"{len(written)} images of record {record.record_id} in {out_dir} (index.html, contact_sheet.jpg)")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plan" or getattr(args, "gallery", None):
        return run_command(args)  # no orchestration: nothing to track
    # SIGTERM (kill, a scheduler, a closing terminal) stops a command the way Ctrl-C does: the flow run is
    # marked, the training processes are stopped, GPU slots go back, and the same command resumes.
    signal.signal(signal.SIGTERM, _interrupt)
    with prefect_api() as api_url:
        lost = (
            f"\necgflow {args.command}: lost the Prefect API at {api_url} (server stopped?); the work so far is "
            f"kept in {args.store}. Run the same command again to resume (it starts a local server again)."
        )
        watchdog = ApiWatchdog(api_url, lost)
        try:
            with watchdog:
                return run_command(args)
        except KeyboardInterrupt:
            if watchdog.lost:  # the message is out; Prefect's shutdown would only retry the dead API
                os._exit(LOST_API_EXIT)
            print(
                f"\necgflow {args.command}: interrupted; finished work is kept in {args.store}. "
                "Run the same command again to resume.",
                file=sys.stderr,
            )
            return 130


def run_command(args: argparse.Namespace) -> int:
    # Flows are imported here, not at module top: `ecgflow --help` stays instant.
    if args.command in ("demo", "pipeline"):
        from ecg_core.evaluate.table import report_table, table_one
        from flows.pipeline import load_settings, pipeline_flow

        settings = load_settings(args.config)
        if getattr(args, "judge", None):
            settings |= {"judge": args.judge, "judge_settings": _judge_settings(args)}
        started = time.time()
        metrics = pipeline_flow(store=args.store, **settings)
        print(f"\nTable I (abnormality detection, test split) — pipeline took {time.time() - started:.0f} s\n")
        print(table_one(metrics) + "\n" + report_table(metrics))
        print(f"metrics: {args.store}/eval/{settings.get('name', 'demo')}/metrics.json")
    elif args.command == "ingest":
        from flows.ingest import ingest_flow

        options = {
            key: getattr(args, key) for key in SOURCE_OPTIONS.get(args.source, ()) if getattr(args, key) is not None
        }
        if args.path is None and args.source != "synthetic":
            raise SystemExit(f"ingest {args.source}: give the dataset folder (PATH)")
        print(
            json.dumps(
                ingest_flow(
                    args.store,
                    args.source,
                    args.path,
                    options,
                    args.split_seed,
                    args.name,
                    task_runner=args.task_runner,
                ),
                indent=2,
            )
        )
    elif args.command == "render":
        if args.gallery:
            return _gallery(args.store, args.dataset, args.gallery)
        if not args.dataset:
            raise SystemExit("render: give a DATASET (or --gallery DIR)")
        from flows.render import render_flow

        overrides = {
            key: getattr(args, key) for key in ("variants", "dpi", "seed", "format") if getattr(args, key) is not None
        }
        print(
            f"{len(render_flow(args.store, args.dataset, args.config, overrides, task_runner=args.task_runner))} images"
        )
    elif args.command == "instruct":
        from flows.instruct import instruct_flow

        overrides = {key: getattr(args, key) for key in ("families", "seed") if getattr(args, key) is not None}
        print(json.dumps(instruct_flow(args.store, args.name, args.datasets, args.config, overrides), indent=2))
    elif args.command == "train":
        from flows.train import train_flow

        print(
            train_flow(
                args.store,
                args.run_id,
                args.config,
                args.model,
                args.instruct,
                _overrides(args.set),
                _launch(args),
                create_gpu_limit=True,
            )
        )
    elif args.command == "plan":
        from ecg_core.train import TrainConfig
        from ecg_core.train.plan import plan_for_recipe, render_plan

        recipe = TrainConfig.load(args.config, _overrides(args.set))
        plan = plan_for_recipe(args.model_config, recipe, seq_len=args.seq_len, num_gpus=args.num_gpus, mfu=args.mfu)
        print(json.dumps(plan.to_dict(), indent=2) if args.json else render_plan(plan))
    elif args.command == "ablate":
        from ecg_core.train.ablation import ablation_markdown
        from flows.ablation import ablation_flow

        rows = ablation_flow(
            args.store,
            args.name,
            args.model,
            args.instruct,
            args.config,
            {"train_overrides": _overrides(args.set)} if args.set else None,
            _launch(args),
        )
        print(ablation_markdown(rows))
    elif args.command == "evaluate":
        from ecg_core.evaluate.table import report_table, table_one
        from flows.evaluate import evaluate_flow

        metrics = evaluate_flow(
            store=args.store,
            eval_id=args.eval_id,
            model=args.model,
            instruct=args.instruct,
            run_id=args.run_id,
            max_tiles=args.max_tiles,
            page_fit=args.page_fit,
            batch_size=args.batch_size,
        )
        print(table_one(metrics) + "\n" + report_table(metrics))
    elif args.command == "baseline":
        from ecg_core.evaluate.table import table_one
        from flows.baseline import baseline_flow

        settings = {key: yaml.safe_load(value) for key, value in _overrides(args.set).items()}
        rows = baseline_flow(args.store, args.datasets, args.name, args.kinds, settings, args.device)
        print(table_one({"abnormality_detection": rows}))
    elif args.command == "judge":
        from ecg_core.evaluate.table import report_table
        from flows.evaluate import evaluate_flow

        metrics = evaluate_flow(
            store=args.store,
            eval_id=args.eval_id,
            model=args.model,
            instruct=args.instruct,
            run_id=args.run_id,
            max_tiles=args.max_tiles,
            page_fit=args.page_fit,
            judge="openai",
            judge_settings=_judge_settings(args),
        )
        print(report_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
