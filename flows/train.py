"""Fine-tune on the GPU queue: LoRA (paper settings) or partial tuning on an instruction set; adapter, log,
checkpoints and loss curve under `runs/<run_id>/`. Re-running a run id resumes from its last checkpoint.

    ecgflow train --run-id r64 --config configs/tiny-cpu.yaml --model ./demo-store/models/tiny-mllama-demo \
        --instruct demo --store ./demo-store
    ecgflow train --run-id paper --config configs/paper.yaml --model /models/Llama-3.2-11B-Vision-Instruct \
        --instruct ecginstruct --launcher deepspeed --num-gpus 8
"""

from prefect import flow

from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from tasks.train import fine_tune


@flow(name="train", flow_run_name="train {run_id}")
def train_flow(
    *,
    store: str,
    run_id: str,
    model: str,
    instruct: str,
    recipe: TrainConfig = TrainConfig(),
    launch: Launch = Launch(),
) -> str:
    """Fine-tune (LoRA with the paper's settings, or partial tuning) on an instruction set, output under
    runs/<run_id>/ (a re-run resumes from the last checkpoint); returns that prefix.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        run_id: run name: runs/<run_id>/
        model: Mllama checkpoint folder (Llama 3.2 Vision, or the tiny model)
        instruct: instruction set name (instruct/<name>/)
        recipe: training recipe, default the paper's (configs/paper.yaml): a settings file and keys to replace
            (`--config tiny-cpu.yaml --set max_steps=100`; a deployment's JSON: {"config": "tiny-cpu.yaml",
            "overrides": {"max_steps": 100}})
        launch: how the training processes start: launcher, GPUs per node, nodes, hostfile
    """
    return fine_tune(store, run_id, recipe, model, instruct, launch)
