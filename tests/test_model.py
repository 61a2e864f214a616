"""The tiny checkpoint, LoRA targets and the training collator (label masking token by token)."""

from __future__ import annotations

import math

import pytest
import torch
from peft.tuners.lora import LoraLayer
from PIL import Image
from torch import nn
from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil, MllamaProcessor

from ecg_core.model.collator import IGNORE_INDEX, InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora, lora_target_modules
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.model.prompt import chat_messages

LLAMA3_SPECIALS = ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")


def test_tiny_checkpoint_is_laid_out_like_the_11b(tiny_mllama_dir):
    model, processor = load_model_and_processor(tiny_mllama_dir)
    tok, config = processor.tokenizer, model.config
    text_vocab = config.text_config.vocab_size
    # <|image|> is the last token, id = text vocabulary size (128256 in the 11B); 8 spare embedding rows.
    assert config.image_token_index == tok.convert_tokens_to_ids("<|image|>") == text_vocab == len(tok) - 1
    assert model.model.language_model.embed_tokens.num_embeddings == text_vocab + 8
    assert model.lm_head.out_features == text_vocab
    assert all(tok.convert_tokens_to_ids(t) < text_vocab for t in LLAMA3_SPECIALS)
    assert tok.pad_token == "<|finetune_right_pad_id|>" and tok.eos_token == "<|eot_id|>"
    # The notes' recipe: open gates, wide lm_head.
    cross_layer = model.model.language_model.layers[config.text_config.cross_attention_layers[0]]
    assert cross_layer.cross_attn_attn_gate.item() == cross_layer.cross_attn_mlp_gate.item() == 2.0
    global_layer = model.model.vision_model.global_transformer.layers[0]
    assert global_layer.gate_attn.item() == global_layer.gate_ffn.item() == pytest.approx(math.pi / 4)
    assert abs(model.lm_head.weight.std().item() - 0.5) < 0.05


def test_class_answers_are_one_or_two_tokens(tiny_mllama_dir, stripe_pages):
    _, processor = load_model_and_processor(tiny_mllama_dir)
    assert all(len(processor.tokenizer(c, add_special_tokens=False).input_ids) <= 2 for c in stripe_pages.classes)


def test_the_image_moves_the_answer_logits(tiny_mllama_dir, stripe_pages):
    """Random init at default scale leaves the image without effect; the tiny build must not."""
    model, processor = load_model_and_processor(tiny_mllama_dir)
    collator = InstructionCollator(processor, stripe_pages.root, PagePreprocessing(1, "stretch"), 128)
    batch = collator(stripe_pages.test[:2])  # two classes, two stripe periods, same question
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    # the logits that predict the first answer token, i.e. at the position just before it
    answer_logits = [logits[row, (batch["labels"][row] != IGNORE_INDEX).nonzero()[0, 0] - 1] for row in range(2)]
    assert (answer_logits[0] - answer_logits[1]).abs().max() > 0.1 * answer_logits[0].std()


def test_lora_adapts_every_linear_layer_but_lm_head(tiny_mllama_dir):
    model, _ = load_model_and_processor(tiny_mllama_dir)
    linears = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    targets = lora_target_modules(model)
    peft_model = apply_lora(model, r=64, alpha=128, dropout=0.05)

    lora_layers = [name for name, module in peft_model.named_modules() if isinstance(module, LoraLayer)]
    adapted = sorted(name.removeprefix("base_model.model.") for name in lora_layers)
    assert adapted == sorted(targets)
    assert set(linears) - set(adapted) == {"lm_head"}
    assert not any("lm_head" in n or "embed_tokens" in n for n in adapted)
    for part in (
        "model.vision_model.transformer.layers.0.self_attn.q_proj",  # local vision encoder
        "model.vision_model.global_transformer.layers.0.mlp.fc2",  # global vision encoder
        "model.multi_modal_projector",  # vision -> text projector
        "model.language_model.layers.1.cross_attn.k_proj",  # cross-attention to the image
        "model.language_model.layers.0.self_attn.o_proj",
        "model.language_model.layers.2.mlp.down_proj",
    ):
        assert part in adapted

    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    expected = sum(64 * (linears[n].in_features + linears[n].out_features) for n in targets)
    assert sum(p.numel() for p in peft_model.parameters() if p.requires_grad) == expected
    assert peft_model.peft_config["default"].lora_alpha == 128


def multi_turn_record(pages) -> dict:
    return {
        "id": "multi",
        "image": pages.train[0]["image"],
        "conversations": [
            {"from": "human", "value": f"<image>\n{pages.question}"},
            {"from": "gpt", "value": "MI, STTC"},
            {"from": "human", "value": "Is the rhythm regular?"},
            {"from": "gpt", "value": pages.report},
        ],
    }


def expected_label_mask(tokens: list[str]) -> list[bool]:
    """Token-level oracle: supervise from after "assistant<|end_header_id|>\\n\\n" through the next <|eot_id|>."""
    mask, inside = [], False
    for i, token in enumerate(tokens):
        answer_starts = i >= 3 and tokens[i - 3 : i - 1] == ["assistant", "<|end_header_id|>"]
        inside = inside or answer_starts
        mask.append(inside)
        inside = inside and token != "<|eot_id|>"
    return mask


def test_chat_prompt_follows_the_llama_3_2_vision_template(tiny_mllama_dir, stripe_pages):
    _, processor = load_model_and_processor(tiny_mllama_dir)
    record = stripe_pages.train[0]
    text = processor.apply_chat_template(chat_messages(record["conversations"]))
    assert text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>" + stripe_pages.question + "<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n" + record["labels"][0] + "<|eot_id|>"
    )


def test_collator_supervises_only_the_answers(tiny_mllama_dir, stripe_pages):
    _, processor = load_model_and_processor(tiny_mllama_dir)
    tok = processor.tokenizer
    records = [multi_turn_record(stripe_pages), stripe_pages.train[1]]
    batch = InstructionCollator(processor, stripe_pages.root, PagePreprocessing(1, "stretch"), 256)(records)

    for row in range(2):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        length = int(batch["attention_mask"][row].sum())
        tokens = tok.convert_ids_to_tokens(ids[:length].tolist())
        want = expected_label_mask(tokens)
        for j, (token, supervised) in enumerate(zip(tokens, want)):
            assert labels[j].item() == (ids[j].item() if supervised else IGNORE_INDEX), (j, token)
        assert (labels[length:] == IGNORE_INDEX).all() and (ids[length:] == tok.pad_token_id).all()
        assert labels[tokens.index("<|image|>")] == IGNORE_INDEX

    def supervised_text(row: int) -> str:
        return tok.decode(batch["input_ids"][row][batch["labels"][row] != IGNORE_INDEX])

    assert supervised_text(0) == f"MI, STTC<|eot_id|>{stripe_pages.report}<|eot_id|>"
    assert supervised_text(1) == f"{stripe_pages.train[1]['labels'][0]}<|eot_id|>"
    assert batch["attention_mask"][1, -1] == 0  # the single-turn row is the shorter one: right padding


@pytest.mark.parametrize("page_fit", ["stretch", "pad"])
def test_collator_batch_equals_the_processor(tiny_mllama_dir, stripe_pages, page_fit):
    """Stretched onto the tile, or padded as the processor itself would, pages reach the model as the
    processor makes them."""
    _, processor = load_model_and_processor(tiny_mllama_dir)
    root = stripe_pages.root
    records = [multi_turn_record(stripe_pages), *stripe_pages.train[1:4]]
    batch = InstructionCollator(processor, root, PagePreprocessing(1, page_fit), 256, cache_images=True)(records)

    texts = [processor.apply_chat_template(chat_messages(r["conversations"])) for r in records]
    pages = [[Image.open(root / r["image"]).convert("RGB")] for r in records]
    if page_fit == "stretch":
        pages = [[page.resize((224, 224), Image.Resampling.BILINEAR)] for [page] in pages]
    reference = processor(
        text=texts, images=pages, padding=True, padding_side="right", add_special_tokens=False, return_tensors="pt"
    )
    assert set(batch) == set(reference) | {"labels"}
    for key in reference:
        assert torch.equal(batch[key], reference[key]), key


def test_stretching_keeps_every_pixel_row_of_a_wide_page(tiny_mllama_dir, tmp_path):
    """With 1 tile the processor keeps the aspect ratio: a 1100 x 600 page fills 122 of 224 rows."""
    _, processor = load_model_and_processor(tiny_mllama_dir)
    Image.new("RGB", (1100, 600), "white").save(tmp_path / "page.png")

    def blank_rows(page_fit):  # rows that are the processor's black padding (negative after normalising)
        page = PagePreprocessing(1, page_fit).load(tmp_path / "page.png", processor)
        pixels = processor.image_processor(images=[[page]], return_tensors="pt")
        return int((pixels["pixel_values"][0, 0, 0].amax(dim=(0, 2)) < 0).sum())

    assert blank_rows("pad") > 0.4 * 224
    assert blank_rows("stretch") == 0


def test_collator_tiles_pages_and_masks_cross_attention_per_tile(tiny_mllama_dir, stripe_pages, tmp_path):
    """The 11B's way with a page: up to 4 tiles chosen by its shape (a small square page takes one), the
    text after <|image|> attends to the used tiles only; a 4-tile Mllama trains on the batch."""
    _, tiny = load_model_and_processor(tiny_mllama_dir)
    tiles = MllamaImageProcessorPil(
        size={"height": 224, "width": 224},
        max_image_tiles=4,
        image_mean=tiny.image_processor.image_mean,
        image_std=tiny.image_processor.image_std,
    )
    processor = MllamaProcessor(tiles, tiny.tokenizer, chat_template=tiny.chat_template)
    Image.new("RGB", (200, 200), "white").save(tmp_path / "square.png")
    records = [
        stripe_pages.train[0],
        stripe_pages.train[1] | {"image": str(tmp_path / "square.png")},
    ]  # 550 x 300, 200 x 200
    batch = InstructionCollator(processor, stripe_pages.root, PagePreprocessing(4, "pad"), 256)(records)

    assert batch["pixel_values"].shape == (2, 1, 4, 3, 224, 224)
    used = batch["aspect_ratio_mask"][:, 0].sum(dim=1).tolist()
    assert used[0] > 1 and used[1] == 1  # the wide page is tiled, the small square fits one tile
    mask = batch["cross_attention_mask"]  # (batch, tokens, images, tiles)
    for row in range(2):
        image_at = batch["input_ids"][row].tolist().index(tiny.tokenizer.convert_tokens_to_ids("<|image|>"))
        length = int(batch["attention_mask"][row].sum())
        assert (mask[row, :image_at] == 0).all()  # no token before the image sees it
        assert (mask[row, image_at:length, 0, : used[row]] == 1).all() and (mask[row, :, 0, used[row] :] == 0).all()

    config = MllamaConfig.from_pretrained(tiny_mllama_dir)
    config.vision_config.max_num_tiles = 4
    config.vision_config.supported_aspect_ratios = [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]]
    model = MllamaForConditionalGeneration(config)
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
