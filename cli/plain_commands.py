"""Commands that need no orchestration (nothing runs long, nothing to track): `ecgflow plan`, `ecgflow gallery`.

ecgflow plan --num-gpus 8                         # the paper recipe on the 11B: memory, FLOPs, samples/s, checkpoints
ecgflow gallery ./gallery                         # one record in every layout, paper and artefact
"""

from __future__ import annotations

import json

from ecg_core.train import TrainConfig


def plan(
    *,
    model_config: str = "configs/models/llama-3.2-11b-vision.json",
    seq_len: int = 512,
    num_gpus: int = 1,
    mfu: float = 0.35,
    recipe: TrainConfig = TrainConfig(),
    upload_mb_per_s: float = 100.0,
    upload_share: float = 0.03,
    requeue_minutes: float = 2.0,
    json_output: bool = False,
) -> str:
    """Before any GPU time: parameters, per-GPU memory, FLOPs and samples/s of a training recipe on a model, which
    GPUs it fits, and its checkpoint: size, upload time and save_steps (no model loaded).

    Args:
        model_config: an Mllama config.json, or a checkpoint folder holding one
        seq_len: text tokens per sample
        num_gpus: data-parallel GPUs
        mfu: assumed model FLOPs utilisation
        recipe: training recipe, default the paper's (configs/paper.yaml): a settings file and keys to replace
            (`--config tiny-cpu.yaml --set max_tiles=2`)
        upload_mb_per_s: sustained upload of checkpoints from one machine to the store, MB/s
        upload_share: the most of the time between saves a checkpoint's upload may take
        requeue_minutes: minutes from a lost machine to its run training again elsewhere
        json_output: the plan as JSON
    """
    from ecg_core.settings import config_path
    from ecg_core.train.plan import SaveCosts, plan_for_recipe, render_plan

    costs = SaveCosts(upload_mb_per_s=upload_mb_per_s, upload_share=upload_share, requeue_minutes=requeue_minutes)
    result = plan_for_recipe(
        config_path(model_config), recipe, seq_len=seq_len, num_gpus=num_gpus, mfu=mfu, save_costs=costs
    )
    return json.dumps(result.to_dict(), indent=2) if json_output else render_plan(result)


def gallery(*, store: str, out_dir: str, dataset: str | None = None) -> str:
    """Draw one record in every layout, paper and artefact into a folder (index.html, contact_sheet.jpg).

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        out_dir: folder the images go to
        dataset: draw this dataset's first record (under records/); default: a synthetic record
    """
    from ecg_core.image_store import header_lines
    from ecg_core.record_store import read_manifest, read_shard
    from ecg_core.render.gallery import write_gallery
    from ecg_core.synth import synthesize_records
    from tasks.storage import open_store

    if dataset:
        source = open_store(store)
        record = read_shard(source, read_manifest(source, dataset).shards[0])[0]
    else:
        record = synthesize_records(1, seed=0, fs=500.0)[0]
    written = write_gallery(record.signal, record.fs, out_dir, header_lines(record))
    return f"{len(written)} images of record {record.record_id} in {out_dir} (index.html, contact_sheet.jpg)"


def list_benchmarks(*, store: str) -> str:
    """The benchmarks in a store: every instruction set's, with their questions (`ecgflow evaluate
    --list-benchmarks`).

    Args:
        store: artifact store, a folder or s3://bucket/prefix
    """
    from ecg_core.evaluate.benchmarks import list_benchmarks as benchmarks_in
    from tasks.storage import open_store

    rows = benchmarks_in(open_store(store))
    if not rows:
        return f"no benchmarks in {store}: build an instruction set (ecgflow instruct) or import ECGBench (ecgflow ingest ecgbench)"
    lines = ["| benchmark | title | metric | questions | without image |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['benchmark']} | {r['title']} | {r['metric']} | {r['questions']} | {r['without_image']} |" for r in rows
    ]
    return "\n".join(lines)
