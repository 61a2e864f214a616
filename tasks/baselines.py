"""Baseline task: train one reference CNN (signal or image) and hand its test predictions to the evaluation."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from tqdm import tqdm

from ecg_core.baselines import BaselineConfig, train_baseline
from ecg_core.plots import loss_curve_png
from tasks.artifacts import stored_image
from tasks.storage import open_store


@task(name="train-baseline", tags=["cpu"])
def baseline_row(
    store_uri: str, kind: str, datasets: list[str], name: str, eval_id: str, settings: dict, device: str = "cpu"
) -> dict:
    """Train `cnn-<kind>` on the records' splits; its test predictions go beside the VLM's in eval/<eval_id>/."""
    store = open_store(store_uri)
    progress = create_progress_artifact(progress=0.0, description=f"training the {kind} CNN")
    shown = [0.0]
    with tqdm(unit="step", desc=f"cnn-{kind}") as bar:

        def follow(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if step / total - shown[0] >= 0.05:
                shown[0] = step / total
                update_progress_artifact(progress, progress=100.0 * shown[0])

        row = train_baseline(store, kind, datasets, name, BaselineConfig.from_mapping(settings), device, follow)
    update_progress_artifact(progress, progress=100.0)
    prefix = f"baselines/{name}/{kind}"
    store.put_jsonl(f"eval/{eval_id}/predictions-cnn-{kind}.jsonl", store.get_jsonl(f"{prefix}/predictions.jsonl"))
    curve = f"{prefix}/loss_curve.png"
    store.put_bytes(curve, loss_curve_png(store.get_jsonl(f"{prefix}/history.jsonl"), f"training loss, {kind} CNN"))
    create_markdown_artifact(
        markdown=f"# {kind} CNN `{name}`\n\nmacro AUC {row['auc']:.3f}, macro F1 {row['macro_f1']:.3f}, "
        f"{row['steps']} steps in {row['train_seconds']} s\n\n{stored_image(store, curve, 'loss curve')}",
        key=f"baseline-{name}-{kind}".lower().replace("_", "-"),
    )
    logger = get_run_logger()
    if row["n_rejected"]:
        logger.warning("%d image(s) could not be read, set aside: see %s/rejected.jsonl", row["n_rejected"], prefix)
    logger.info(
        "cnn-%s: macro AUC %.3f, macro F1 %.3f, Hamming %.3f (%d steps, %.0f s)",
        kind,
        row["auc"],
        row["macro_f1"],
        row["hamming"],
        row["steps"],
        row["train_seconds"],
    )
    return row
