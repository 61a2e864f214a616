"""Reference CNNs on any ingested dataset: a 1-D ResNet on the signals, a ResNet-18-class CNN on the
rendered images; same patient-level splits and metrics as the VLM evaluation.

    ecgflow baseline --datasets ptbxl --kinds signal image --name ptbxl-cnn --store ./store --device cuda
"""

from prefect import flow

from ecg_core.evaluate.table import table_one
from tasks.baselines import baseline_row
from tasks.storage import open_store


@flow(name="baseline", flow_run_name="baseline {name} {kinds}")
def baseline_flow(
    store: str,
    datasets: list[str],
    name: str,
    kinds: list[str] | None = None,
    settings: dict | None = None,
    device: str = "cpu",
) -> dict:
    """Rows (the Table-I format) per `cnn-<kind>` (`kinds`: signal, image; default both);
    `settings`: BaselineConfig keys, the same for both kinds
    or per kind under "signal" / "image". Writes baselines/<name>/table.md."""
    settings = settings or {}
    shared = {k: v for k, v in settings.items() if k not in ("signal", "image")}
    rows = {
        f"cnn-{kind}": baseline_row(store, kind, datasets, name, name, shared | settings.get(kind, {}), device)
        for kind in kinds or ["signal", "image"]
    }
    open_store(store).put_bytes(f"baselines/{name}/table.md", table_one({"abnormality_detection": rows}).encode())
    return rows
