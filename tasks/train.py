"""Fine-tuning task: launches the training entry point as a subprocess and lands its output in the store."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact

from ecg_core.plots import loss_curve_png
from ecg_core.store import open_store
from ecg_core.train.launch import parse_progress, run_streaming, training_command


@task(name="fine-tune", tags=["gpu"])
def fine_tune(store_uri: str, run_id: str, config: str, model_dir: str, instruct_name: str, overrides: dict) -> str:
    """Train on `instruct/<name>/train.jsonl`; returns the run's store prefix `runs/<run_id>`."""
    logger = get_run_logger()
    store = open_store(store_uri)
    prefix = f"runs/{run_id}"
    instruct_dir = store.local_dir(f"instruct/{instruct_name}")
    options = {
        "model": model_dir,
        "train_jsonl": instruct_dir / "train.jsonl",
        "val_jsonl": instruct_dir / "val.jsonl",
        "image_root": store.local_dir(""),  # image keys in the samples are relative to the store root
        "output_dir": store.local_dir(prefix),
    } | overrides
    progress_id = create_progress_artifact(progress=0.0, description=f"training {run_id}")
    last = [0.0]

    def follow(line: str) -> None:
        step = parse_progress(line)
        if step is None:
            logger.info(line)
        elif step[1] and step[0] / step[1] - last[0] >= 0.05:  # a Prefect update every 5% is plenty
            last[0] = step[0] / step[1]
            update_progress_artifact(progress_id, progress=100.0 * last[0])
            logger.info("step %d/%d", *step)

    code = run_streaming(training_command(config, options), follow)
    if code != 0:
        raise RuntimeError(f"training run {run_id} failed with exit code {code}; see the log above")
    update_progress_artifact(progress_id, progress=100.0)
    store.put_dir(options["output_dir"], prefix)
    curve_key = f"{prefix}/loss_curve.png"
    store.put_bytes(curve_key, loss_curve_png(store.get_jsonl(f"{prefix}/train_log.jsonl"), f"training loss, run {run_id}"))
    create_markdown_artifact(
        markdown=f"# Run `{run_id}`\n\n![loss curve]({store.url(curve_key)})\n\nAdapter: `{store.url(prefix + '/adapter')}`",
        key=f"run-{run_id}".lower().replace("_", "-"),
    )
    return prefix
