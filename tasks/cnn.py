"""Reference CNN task: train one reference CNN (signal or image) and hand its test predictions to the evaluation."""

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ecg_core import layout
from ecg_core.cnn import CnnConfig, train_cnn
from ecg_core.plots import loss_curve_png
from tasks.artifacts import artifact_key, publishing, stored_image
from tasks.progress import Progress
from tasks.storage import open_store


@task
def cnn_row(
    store_uri: str, kind: str, datasets: list[str], name: str, settings: CnnConfig, device: str = "cpu"
) -> dict:
    """Train `cnn-<kind>` on the records' splits: its row, test predictions in cnn/<name>/<kind>/."""
    store = open_store(store_uri)
    with Progress(f"training the {kind} CNN", "step") as progress:

        def follow(step: int, total: int, loss: float) -> None:
            progress.update(step, total, loss=f"{loss:.3f}")

        row = train_cnn(store, kind, datasets, name, settings, device, follow)
    curve = layout.cnn_loss_curve_key(name, kind)
    store.put_bytes(
        curve, loss_curve_png(store.get_jsonl(layout.cnn_history_key(name, kind)), f"training loss, {kind} CNN")
    )
    with publishing(f"the {kind} CNN of {name}", store.url(curve)):
        create_markdown_artifact(
            markdown=f"# {kind} CNN `{name}`\n\nmacro AUC {row['auc']:.3f}, macro F1 {row['macro_f1']:.3f}, "
            f"{row['steps']} steps in {row['train_seconds']} s\n\n{stored_image(store, curve, 'loss curve')}",
            key=artifact_key("cnn", name, kind),
        )
    logger = get_run_logger()
    if row["n_rejected"]:
        logger.warning(
            "%d image(s) could not be read, set aside: see %s", row["n_rejected"], layout.cnn_rejected_key(name, kind)
        )
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
