"""Fine-tuning task: the training run as a launched subprocess (python, deepspeed or torchrun) holding its
`gpu` slots, whose output lands in the store."""

import dataclasses
import json

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ecg_core import layout
from ecg_core.instruct.dataset import fetch_training_files
from ecg_core.plots import loss_curve_png
from ecg_core.train.checkpoints import CHECKPOINT_PREFIX, fetch_newest
from ecg_core.train.config import TrainConfig, write_run_config
from ecg_core.train.launch import Launch, launch_environment, parse_progress, run_streaming, training_command
from ecg_core.train.preflight import preflight
from tasks.artifacts import artifact_key, publishing, stored_image
from tasks.gpu import gpu_slots
from tasks.progress import Progress
from tasks.storage import open_store


@task(tags=["gpu"])
def fine_tune(
    store_uri: str,
    run_id: str,
    recipe: TrainConfig,
    model_dir: str,
    instruct_name: str,
    launch: Launch,
) -> str:
    """Train on `instruct/<name>/train.jsonl` with `recipe`, its model and data set here; returns the run's
    store prefix `runs/<run_id>`.

    Checks the run first (preflight), then waits for one slot of the `gpu` limit per GPU it uses (strict:
    a missing limit is an error, never an unlimited run). A run id with checkpoints resumes from the newest.
    """
    logger = get_run_logger()
    store = open_store(store_uri)
    prefix = layout.run_prefix(run_id)
    options = {"model": model_dir, "output_dir": str(fetch_newest(store, prefix))}
    options |= fetch_training_files(store, instruct_name)
    if store.remote:  # checkpoints leave this machine as saved: losing it costs only the steps since the last save
        options |= {"checkpoint_store": store.uri, "checkpoint_prefix": prefix}
    train_config = dataclasses.replace(recipe, **options)  # the recipe as given; only its paths are this machine's
    finished, settings = layout.run_finished_key(run_id), json.loads(json.dumps(train_config.to_dict()))
    if store.exists(finished) and store.get_json(finished) == settings:
        logger.info("run %s already finished with these settings (%s): nothing to train", run_id, store.url(finished))
        return prefix
    preflight(train_config, launch)
    run_config = write_run_config(train_config)  # what the training process reads, and the run's record

    def follow(line: str) -> None:
        step = parse_progress(line)
        if step is None:
            logger.info(line)
        elif progress.update(*step):  # logged as often as the artifact moves
            logger.info("step %d/%d", *step)

    with Progress(f"training {run_id}", "step") as progress, gpu_slots(launch.gpu_slots):
        code = run_streaming(training_command(run_config, launch), follow, env=launch_environment(launch))
        if code != 0:
            raise RuntimeError(f"training run {run_id} failed with exit code {code}; see the log above")
    # The rest of the run's output; its checkpoints went up as they were saved, and those the store let go of stay gone.
    store.put_dir(train_config.output_dir, prefix, skip=lambda relative: relative.startswith(CHECKPOINT_PREFIX))
    curve_key = layout.loss_curve_key(run_id)
    store.put_bytes(
        curve_key, loss_curve_png(store.get_jsonl(layout.train_log_key(run_id)), f"training loss, run {run_id}")
    )
    with publishing(f"the loss curve of run {run_id}", store.url(curve_key)):
        create_markdown_artifact(
            markdown=f"# Run `{run_id}`\n\n{stored_image(store, curve_key, 'loss curve')}\n\nAdapter: `{store.url(layout.adapter_prefix(run_id))}`",
            key=artifact_key("run", run_id),
        )
    store.put_json(finished, settings)  # last: a run cut short before it is trained again
    return prefix
