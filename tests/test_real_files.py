"""The real Llama 3.2 11B Vision Instruct files (tokenizer, chat template, image processor, generation config)
around small random weights: loading from the hub's key names, prompt format, label masking, tiling,
stopping, label scores and LoRA targets, as the 11B will meet them."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from ecg_core.labels import SUPERCLASSES
from ecg_core.model.checkpointing import checkpoint_vision_layers
from ecg_core.model.collator import IGNORE_INDEX, InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora, lora_target_modules
from ecg_core.model.page_tiles import PagePreprocessing, checkpoint_tiles
from ecg_core.model.prompt import chat_messages
from ecg_core.model.shrunk import hub_key
from ecg_core.model.tiny import CHAT_TEMPLATE
from ecg_core.reading.generate import generate_answers, stop_token_ids
from ecg_core.reading.reader import page_preprocessing
from ecg_core.reading.scores import label_scores
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch
from ecg_core.train.preflight import PreflightError, preflight

PAPER = Path(__file__).resolve().parents[1] / "configs" / "paper.yaml"
PAPER_PAGES = TrainConfig.load(PAPER).pages  # 4 tiles, padded


@pytest.fixture(scope="module")
def shrunk(shrunk_mllama_dir):
    return load_model_and_processor(shrunk_mllama_dir)


def test_weights_load_from_the_hub_key_names(shrunk_mllama_dir, shrunk):
    """transformers 5 renames the hub's `language_model.model.*` / `vision_model.*` keys: every tensor lands."""
    model, processor = shrunk
    saved = {}
    for shard in glob.glob(str(shrunk_mllama_dir / "model-*.safetensors")):
        saved |= load_file(shard)
    assert (
        "language_model.model.layers.3.cross_attn.k_norm.weight" in saved and "language_model.lm_head.weight" in saved
    )
    state = model.state_dict()
    assert len(state) == len(saved)
    assert all(torch.equal(tensor, saved[hub_key(name)]) for name, tensor in state.items())
    text = model.config.text_config
    assert (text.vocab_size, model.config.image_token_index, len(processor.tokenizer)) == (128256, 128256, 128257)
    assert text.cross_attention_layers == [3, 8]  # every fifth from the 4th layer, as 3, 8, ..., 38 of the 11B


def test_prompts_take_metas_form_and_the_tiny_template_renders_like_the_real_one(shrunk):
    _, processor = shrunk
    conversation = [
        {"from": "human", "value": "<image>\nWhich diagnostic classes does this ECG show?"},
        {"from": "gpt", "value": "NORM"},
        {"from": "human", "value": "Describe the rhythm. "},
        {"from": "gpt", "value": " Sinus rhythm, regular.\n"},
    ]
    messages = chat_messages(conversation)
    real = processor.apply_chat_template(messages, tokenize=False)
    assert "<|start_header_id|>user<|end_header_id|>\n\n<|image|>Which diagnostic classes" in real  # Meta's form
    assert "assistant<|end_header_id|>\n\nSinus rhythm, regular.<|eot_id|>" in real
    assert processor.tokenizer.apply_chat_template(messages, tokenize=False, chat_template=CHAT_TEMPLATE) == real
    # Text the messages hand over as is is rendered as is by both, whitespace included.
    raw = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "\n Q "}]}]
    assert processor.tokenizer.apply_chat_template(raw, tokenize=False, chat_template=CHAT_TEMPLATE) == (
        processor.apply_chat_template(raw, tokenize=False)
    )


def test_collator_supervises_the_answers_only_with_the_real_tokenizer(shrunk, ecg_pages):
    _, processor = shrunk
    root, samples = ecg_pages
    batch = InstructionCollator(processor, root, PAPER_PAGES, 2048)(samples[:3])
    tok, image_id = processor.tokenizer, processor.tokenizer.convert_tokens_to_ids("<|image|>")
    for row, sample in enumerate(samples[:3]):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        assert int((ids == image_id).sum()) == 1 and ids[0] == tok.bos_token_id
        assert tok.decode(ids[labels != IGNORE_INDEX]) == sample["conversations"][1]["value"].strip() + "<|eot_id|>"
    assert batch["pixel_values"].shape[2:] == (4, 3, 560, 560)


@pytest.mark.parametrize(
    "size, pages, grid",
    [
        ((1100, 600), PagePreprocessing(4, "pad"), (2, 2)),  # the processor's own choice: 4 tiles, padded
        ((1169, 827), PagePreprocessing(4, "pad"), (2, 2)),
        ((2339, 1654), PagePreprocessing(4, "pad"), (2, 2)),  # A4 at 200 dpi
        ((1100, 600), PagePreprocessing(4, "stretch"), (1, 2)),  # nearest grid to 11:6 is 2 wide, 1 high
        ((800, 700), PagePreprocessing(4, "stretch"), (2, 2)),  # near-square: the largest square grid
        ((1100, 600), PagePreprocessing(2, "pad"), (1, 2)),
        ((1100, 600), PagePreprocessing(1, "pad"), (1, 1)),
        ((1100, 600), PagePreprocessing(1, "stretch"), (1, 1)),
    ],
)
def test_the_processor_tiles_the_fitted_page_on_the_chosen_canvas(shrunk, tmp_path, size, pages, grid):
    _, processor = shrunk
    Image.new("RGB", size, "white").save(tmp_path / "page.png")
    page = pages.load(tmp_path / "page.png", processor)
    assert page.size == (grid[1] * 560, grid[0] * 560)
    pixels = processor.image_processor(images=[[page]], return_tensors="pt")
    assert pixels["num_tiles"] == [[grid[0] * grid[1]]]
    # Aspect-ratio ids index the 11B's list of 8 grids (rows, cols): (1, 1) -> 1, (1, 2) -> 2, (2, 2) -> 6.
    assert pixels["aspect_ratio_ids"].item() == {(1, 1): 1, (1, 2): 2, (2, 2): 6}[grid]
    assert pixels["pixel_values"].shape[2] == 4  # every slot is encoded: the budget saves no vision FLOPs


def test_a_budget_above_the_checkpoints_tiles_is_refused(tiny_mllama_dir, ecg_pages):
    _, processor = load_model_and_processor(tiny_mllama_dir)
    with pytest.raises(ValueError, match="at most 1 tiles"):
        InstructionCollator(processor, ecg_pages[0], PagePreprocessing(4, "pad"), 256)


class FavourToken(nn.Module):
    """An output head whose every next-token choice is `token` (stands in for a model that ends with it)."""

    def __init__(self, token: int, vocab: int):
        super().__init__()
        self.token, self.vocab = token, vocab

    def forward(self, hidden):
        logits = torch.zeros(*hidden.shape[:-1], self.vocab)
        logits[..., self.token] = 1.0
        return logits


@pytest.mark.parametrize("eos", [128001, 128008, 128009])
def test_generation_stops_at_every_stop_id_of_the_generation_config(shrunk_mllama_dir, ecg_pages, eos):
    model, processor = load_model_and_processor(shrunk_mllama_dir)
    assert stop_token_ids(model, processor) == [128001, 128008, 128009]
    model.lm_head = FavourToken(eos, model.config.text_config.vocab_size)
    root, samples = ecg_pages
    tokens = []
    model.register_forward_hook(lambda module, args, kwargs_out: tokens.append(1))
    assert generate_answers(model, processor, samples[:1], root, pages=PAPER_PAGES, max_new_tokens=8) == [""]
    assert len(tokens) == 1  # one forward: the stop id came first and ended the answer


@pytest.mark.slow
def test_label_scores_encode_each_page_once_and_score_as_one_pass_per_label(shrunk, ecg_pages):
    model, processor = shrunk
    root, samples = ecg_pages
    questions = [s for s in samples if s["task_family"] == "abnormality_detection"][:3]
    encoded = []
    hook = model.model.vision_model.register_forward_hook(
        lambda m, a, out: encoded.append(out.last_hidden_state.shape[0])
    )
    scores = label_scores(model, processor, questions, root, SUPERCLASSES, pages=PAPER_PAGES, batch_size=3)
    hook.remove()
    assert encoded == [3]  # 3 pages, once each (not once per label)

    # Reference: every (page, label) pair through the full model, the page encoded with it.
    reference = np.zeros_like(scores)
    tok = processor.tokenizer
    for i, sample in enumerate(questions):
        prompt = processor.apply_chat_template(chat_messages(sample["conversations"][:1]), add_generation_prompt=True)
        page = PAPER_PAGES.load(root / sample["image"], processor)
        first = len(tok(prompt, add_special_tokens=False)["input_ids"])
        for j, label in enumerate(SUPERCLASSES):
            inputs = processor(text=[prompt + label], images=[[page]], add_special_tokens=False, return_tensors="pt")
            with torch.inference_mode():
                logprobs = torch.log_softmax(model(**inputs).logits[0].float(), dim=-1)
            ids = inputs["input_ids"][0]
            reference[i, j] = float(sum(logprobs[t - 1, ids[t]] for t in range(first, len(ids))).exp())
    assert np.allclose(scores, reference, rtol=1e-4, atol=1e-9)
    assert scores.std() > 0  # the pages and labels move the scores (open gates, real vocabulary)


def test_lora_targets_every_linear_layer_of_the_11b_layout_but_lm_head(shrunk):
    model, _ = shrunk
    targets = lora_target_modules(model)
    text, vision = model.config.text_config, model.config.vision_config
    decoder = text.num_hidden_layers * 7  # q, k, v, o + gate, up, down in every (self- or cross-attention) layer
    encoder = (vision.num_hidden_layers + vision.num_global_layers) * 6  # q, k, v, o + fc1, fc2
    assert len(targets) == decoder + encoder + 1  # + the projector
    assert "model.multi_modal_projector" in targets and "model.language_model.layers.3.cross_attn.k_proj" in targets
    assert not any(t.endswith(("lm_head", "embed_tokens")) for t in targets)


def test_preflight_accepts_the_paper_recipe_and_refuses_more_tiles_than_the_checkpoint_takes(
    shrunk_mllama_dir, ecg_pages, tmp_path
):
    root, samples = ecg_pages
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    paths = {"model": str(shrunk_mllama_dir), "train_jsonl": str(tmp_path / "train.jsonl"), "image_root": str(root)}
    paths["output_dir"] = str(tmp_path / "run")
    preflight(TrainConfig.load(PAPER, paths), Launch())
    with pytest.raises(PreflightError, match="max_tiles 5: the processor of .* takes at most 4 tiles"):
        preflight(TrainConfig.load(PAPER, paths | {"max_tiles": "5"}), Launch())


def test_the_tile_budget_read_from_the_files_is_what_transformers_reads(llama_files, tiny_mllama_dir, tmp_path):
    """checkpoint_tiles reads the image processor's settings without transformers: the 11B's own
    preprocessor_config.json, the tiny model's processor_config.json (nested, as transformers 5 saves it), and a
    folder whose settings leave the tile budget to the processor class's default (asked of transformers)."""
    from transformers import AutoImageProcessor

    def read_by_transformers(folder: Path) -> tuple[int, int]:
        processor = AutoImageProcessor.from_pretrained(folder)
        return processor.size["height"], processor.max_image_tiles

    defaults = tmp_path / "defaults"
    defaults.mkdir()
    settings = json.loads((llama_files / "preprocessor_config.json").read_text())
    (defaults / "preprocessor_config.json").write_text(
        json.dumps({k: settings[k] for k in settings if k != "max_image_tiles"})
    )
    assert checkpoint_tiles(llama_files) == read_by_transformers(llama_files) == (560, 4)
    assert checkpoint_tiles(tiny_mllama_dir) == read_by_transformers(tiny_mllama_dir) == (224, 1)
    assert checkpoint_tiles(defaults) == read_by_transformers(defaults) == (560, 4)


def test_evaluation_takes_the_runs_pages_and_refuses_what_the_checkpoint_cannot_take():
    trained = {"max_tiles": 2, "page_fit": "stretch"}
    assert page_preprocessing(trained, "runs/r/config.json", None, None, 4) == PagePreprocessing(2, "stretch")
    assert page_preprocessing(trained, "runs/r/config.json", 2, "stretch", 4) == PagePreprocessing(2, "stretch")
    with pytest.raises(ValueError, match="runs/r/config.json: the run trained with page_fit='stretch'"):
        page_preprocessing(trained, "runs/r/config.json", None, "pad", 4)
    assert page_preprocessing(None, None, None, None, 4) == PagePreprocessing(4, "pad")  # base model: all its tiles
    with pytest.raises(ValueError, match="takes at most 1"):
        page_preprocessing(None, None, 4, None, 1)
    # A run from before the tile budget stretched its pages onto one square tile.
    assert page_preprocessing({"image_size": 224}, "runs/old/config.json", None, None, 1) == PagePreprocessing(
        1, "stretch"
    )


def test_generation_stops_at_the_end_of_turn_when_the_config_names_end_of_text_only(shrunk_mllama_dir):
    """The base 11B's generation config may stop at <|end_of_text|> alone; tuned answers end with <|eot_id|>."""
    model, processor = load_model_and_processor(shrunk_mllama_dir)
    model.generation_config.eos_token_id = 128001
    assert stop_token_ids(model, processor) == [128001, 128009]


@pytest.mark.slow
def test_vision_layers_are_recomputed_in_backward_with_unchanged_gradients(shrunk_mllama_dir, ecg_pages):
    """transformers checkpoints the text layers only; checkpoint_vision_layers adds the vision tower's."""
    root, samples = ecg_pages

    def backward(checkpoint_vision: bool) -> tuple[int, dict]:
        model, processor = load_model_and_processor(shrunk_mllama_dir)
        model.train()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if checkpoint_vision:
            assert checkpoint_vision_layers(model) == 3  # 2 local + 1 global encoder layers
        runs = []
        model.model.vision_model.transformer.layers[0].mlp.register_forward_pre_hook(lambda *_: runs.append(1))
        torch.manual_seed(0)  # the same adapters in both runs
        model = apply_lora(model, r=8, alpha=16, dropout=0.0)
        batch = InstructionCollator(processor, root, PAPER_PAGES, 2048)(samples[:2])
        model(**batch).loss.backward()
        return len(runs), {n: p.grad for n, p in model.named_parameters() if p.requires_grad}

    (plain_runs, plain), (checkpointed_runs, checkpointed) = backward(False), backward(True)
    assert (plain_runs, checkpointed_runs) == (1, 2)  # forward, and once more in backward
    assert plain.keys() == checkpointed.keys()
    assert all(torch.allclose(plain[n], checkpointed[n], rtol=1e-4, atol=1e-7) for n in plain)
