"""Fine-tune: LoRA (paper settings) on an instruction set; adapter, log and loss curve under `runs/<run_id>/`.

    ecgflow train --run-id r64 --config configs/tiny-cpu.yaml --model ./demo-store/models/tiny-mllama \
        --instruct demo --store ./demo-store
"""

from prefect import flow

from tasks.train import fine_tune


@flow(name="train", flow_run_name="train {run_id}")
def train_flow(store: str, run_id: str, config: str, model: str, instruct: str, overrides: dict | None = None) -> str:
    return fine_tune(store, run_id, config, model, instruct, overrides or {})
