"""Reference CNNs on any ingested dataset: a 1-D ResNet on the signals, a ResNet-18-class CNN on the
rendered images; same patient-level splits and metrics as the VLM evaluation (Table I's reference rows).

    ecgflow cnn --datasets ptbxl --kinds signal image --name ptbxl-cnn --store ./store --device cuda
"""

from typing import Literal

from prefect import flow

from ecg_core import layout
from ecg_core.cnn import CnnConfig
from ecg_core.evaluate.leaderboard import table_one
from tasks.cnn import cnn_row
from tasks.storage import open_store


@flow(name="cnn", flow_run_name="cnn {name} {kinds}")
def cnn_flow(
    *,
    store: str,
    name: str,
    datasets: list[str],
    kinds: tuple[Literal["signal", "image"], ...] = ("signal", "image"),
    settings: CnnConfig = CnnConfig(),
    device: str = "cpu",
) -> dict:
    """Train reference CNNs (1-D ResNet on signals, ResNet-18 layout on pages) on ingested datasets, output
    under cnn/<name>/; returns their Table-I rows, also written to cnn/<name>/table.md.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        name: names the output: cnn/<name>/
        datasets: datasets under records/ (the image CNN needs them rendered)
        kinds: which CNNs: signal (1-D ResNet), image (ResNet-18 layout)
        settings: training settings of every kind, keys to replace over the code defaults (`--set epochs=20
            blocks=[3,4,23,3]`; a deployment's JSON: {"overrides": {"epochs": 20}})
        device: cpu or cuda
    """
    rows = {
        f"cnn-{kind}": cnn_row(
            store_uri=store,
            kind=kind,
            datasets=datasets,
            name=name,
            settings=settings,
            device=device,
        )
        for kind in kinds
    }
    open_store(store).put_bytes(layout.cnn_table_key(name), table_one({"abnormality_detection": rows}).encode())
    return rows
