"""Fine-tune on the GPU queue: LoRA (paper settings) or partial tuning on an instruction set; adapter, log,
checkpoints and loss curve under `runs/<run_id>/`. Re-running a run id resumes from its last checkpoint.

    ecgflow train --run-id r64 --config configs/tiny-cpu.yaml --model ./demo-store/models/tiny-mllama \
        --instruct demo --store ./demo-store
    ecgflow train --run-id paper --config configs/paper.yaml --model /models/Llama-3.2-11B-Vision-Instruct \
        --instruct ecginstruct --launcher deepspeed --num-gpus 8
"""

from prefect import flow

from tasks.train import ensure_gpu_limit, fine_tune


@flow(name="train", flow_run_name="train {run_id}")
def train_flow(
    store: str,
    run_id: str,
    config: str,
    model: str,
    instruct: str,
    overrides: dict | None = None,
    launch: dict | None = None,
    create_gpu_limit: bool = False,
) -> str:
    """`launch`: {launcher, num_gpus, num_nodes, hostfile}. `create_gpu_limit`: make the `gpu` limit when absent
    (the CLI and the demo do; a deployment leaves it to the operator, so a run without it fails loudly)."""
    if create_gpu_limit:
        ensure_gpu_limit()
    return fine_tune(store, run_id, config, model, instruct, overrides or {}, launch)
