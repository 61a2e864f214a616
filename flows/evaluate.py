"""Evaluate: base model (baseline) vs base + adapter (fine-tuned) on the test split -> `eval/<eval_id>/`.

    ecgflow evaluate --eval-id demo --model ./demo-store/models/tiny-mllama --run-id demo \
        --instruct demo --store ./demo-store
"""

from prefect import flow

from ecg_core.store import open_store
from tasks.evaluate import evaluate_model, write_report


@flow(name="evaluate", flow_run_name="evaluate {eval_id}")
def evaluate_flow(
    store: str,
    eval_id: str,
    model: str,
    instruct: str,
    run_id: str | None = None,
    image_size: int = 224,
    batch_size: int = 16,
    example_image: str | None = None,
    baseline: bool = True,
) -> dict:
    """`baseline`: also score the base model without adapter (the ablation flow scores it once, not per variant)."""
    models = {"baseline": None} if baseline else {}
    if run_id:
        models["finetuned"] = str(open_store(store).local_dir(f"runs/{run_id}/adapter"))
    detection = {
        name: evaluate_model(store, eval_id, name, model, adapter, instruct, image_size, batch_size)
        for name, adapter in models.items()
    }
    return write_report(store, eval_id, detection, example_image)
