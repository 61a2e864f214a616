"""`ecgflow train` with the paper recipe and `ecgflow evaluate` on the real 11B files around small random
weights: the run records its preprocessing, evaluation takes it from there, a contradicting option is refused."""

import pytest

from cli.main import main
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.render.variants import RenderConfig
from ecg_core.store import open_store
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow

# The paper recipe, cut to a few steps a CPU can take: no DeepSpeed (one process; tests/test_train_distributed.py
# runs ZeRO-2), no dataloader workers, no checkpoints.
FEW_STEPS = "max_steps=2 per_device_train_batch_size=2 logging_steps=1 dataloader_num_workers=0 deepspeed=null"
FEW_STEPS += " save_strategy=no eval_strategy=no bf16=false"


def test_paper_recipe_trains_and_evaluates_the_real_files(shrunk_mllama_dir, tmp_path, capsys):
    store_uri, model = str(tmp_path / "store"), str(shrunk_mllama_dir)
    ingest_flow(store=store_uri, source="synthetic", options={"n_records": 24, "seed": 3, "fs": 100.0})
    render_flow(store=store_uri, dataset="synthetic", settings=RenderConfig.load("render/plain.yaml", {"dpi": 100.0}))
    instruct_flow(
        store=store_uri, name="real", datasets=["synthetic"], settings=InstructConfig.load("instruct/demo.yaml")
    )
    store = open_store(store_uri)
    common = f"--store {store_uri} --model {model} --instruct real".split()

    train = f"train --run-id r --config paper.yaml --set max_tiles=2 page_fit=stretch {FEW_STEPS}"
    assert main(train.split() + common) == 0
    run_config = store.get_json("runs/r/config.json")
    assert (run_config["max_tiles"], run_config["page_fit"], run_config["lora_r"]) == (2, "stretch", 64)
    assert len([line for line in store.get_jsonl("runs/r/train_log.jsonl") if "loss" in line]) == 2

    with pytest.raises(ValueError, match="trained with max_tiles=2"):
        main("evaluate --eval-id bad --candidates base run:r --max-tiles 4".split() + common)
    assert main("evaluate --eval-id e --candidates base run:r --batch-size 4".split() + common) == 0
    with pytest.raises(ValueError, match="predictions there were made with"):  # the base model alone: 4 padded tiles
        main("evaluate --eval-id e --candidates base".split() + common)
    metrics = store.get_json("eval/e/metrics.json")
    assert metrics["preprocessing"] == {
        "image_size": 560,
        "max_tiles": 2,
        "page_fit": "stretch",
        "from": "runs/r/config.json",
    }
    test = store.get_jsonl("instruct/real/test.jsonl")
    questions = [s for s in test if s["task_family"] == "abnormality_detection"]
    reports = [s for s in test if s.get("topic") == "report"]
    for row in ("baseline", "finetuned"):
        assert metrics["abnormality_detection"][row]["n"] == len(questions) > 0
        assert len(store.get_jsonl(f"eval/e/real/report/predictions-{row}.jsonl")) == len(reports) > 0
    assert "finetuned" in capsys.readouterr().out  # the table is printed
