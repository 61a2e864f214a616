"""A tile budget of k tiles runs a model of k tile slots (ecg_core/model/tile_slots.py), on the real-files shrunk
checkpoint (the real 11B's processor, tokenizer and 4 tile slots around small random weights): the same outputs as
the 4-slot model with its slots beyond k hidden, adapters that move between the two, and the budget
checked."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
import torch
import transformers.models.mllama.modeling_mllama as mllama

from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.model.tile_slots import cut_tile_slots

_vision_mask, _cross_attention_mask = mllama._prepare_aspect_ratio_attention_mask, mllama._prepare_cross_attention_mask


def slots_beyond_hidden(budget: int) -> contextlib.ExitStack:
    """The 4-slot model with what its masks let the slots beyond `budget` reach closed, as a model of `budget` slots
    has none: in both vision encoders a patch attends to the black tiles of unused slots (the mask hides a padded
    slot from padded slots only), and text before `<|image|>` (no tile to attend to) attends unmasked to every
    slot."""

    def vision_mask(aspect_ratio_mask, num_patches, target_length, dtype):
        mask = _vision_mask(aspect_ratio_mask, num_patches, target_length, dtype)
        batch, slots = aspect_ratio_mask.shape
        beyond = torch.arange(slots) >= budget
        keys = beyond.view(1, slots, 1).expand(batch, slots, target_length).reshape(batch, 1, 1, -1)
        return mask.masked_fill(keys, torch.finfo(dtype).min)

    def cross_attention_mask(mask, num_vision_tokens, dtype):
        mask, text_rows = _cross_attention_mask(mask, num_vision_tokens, dtype)
        beyond = (text_rows == 0).expand_as(mask).clone()  # rows that attend to no tile
        beyond[..., : budget * num_vision_tokens] = False
        return mask.masked_fill(beyond, torch.finfo(mask.dtype).min), text_rows

    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(mllama, "_prepare_aspect_ratio_attention_mask", vision_mask))
    stack.enter_context(mock.patch.object(mllama, "_prepare_cross_attention_mask", cross_attention_mask))
    return stack


@pytest.fixture(scope="module")
def four_slots(shrunk_mllama_dir):
    return load_model_and_processor(shrunk_mllama_dir)


@pytest.mark.parametrize("budget", [1, 2])
def test_k_slots_compute_what_4_slots_compute_with_the_slots_beyond_k_hidden(
    budget, shrunk_mllama_dir, four_slots, ecg_pages
):
    root, samples = ecg_pages
    samples = [samples[0], samples[-1]]  # two A4 pages, a question and a report
    full, full_processor = four_slots
    cut, cut_processor = load_model_and_processor(shrunk_mllama_dir, tile_slots=budget)
    assert cut.config.vision_config.max_num_tiles == cut_processor.image_processor.max_image_tiles == budget
    for fit in ("pad", "stretch"):
        pages = PagePreprocessing(budget, fit)
        batch = InstructionCollator(cut_processor, root, pages, 2048)(samples)
        padded = InstructionCollator(full_processor, root, pages, 2048)(samples)
        assert batch["pixel_values"].shape[2] == budget and padded["pixel_values"].shape[2] == 4
        with torch.no_grad():
            logits = cut(**batch).logits
            released = full(**padded).logits
            with slots_beyond_hidden(budget):
                hidden = full(**padded).logits
        assert (logits - hidden).abs().max() < 1e-4, (budget, fit)
        # The released masks let the unused slots through: if this fails, transformers closed them, and the cut
        # model then equals the released one (update the module's docstring).
        assert (logits - released).abs().max() > 1e-3, (budget, fit)


def test_adapters_move_between_budgets(shrunk_mllama_dir, tmp_path):
    """LoRA adapts the same layers at any budget (the tile tables are embeddings, never adapted): an adapter saved
    from a 1-slot model loads into the 4-slot model and back, to the same weights."""
    model, _ = load_model_and_processor(shrunk_mllama_dir, tile_slots=1)
    adapted = apply_lora(model, r=4)
    for name, param in adapted.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param)  # a trained adapter: B no longer zero
    adapted.save_pretrained(tmp_path / "adapter")
    merged = {}
    for slots in (4, 1):
        model, _ = load_model_and_processor(shrunk_mllama_dir, adapter=tmp_path / "adapter", tile_slots=slots)
        merged[slots] = model.state_dict()
    tables = {
        f"model.vision_model.{name}.weight"
        for name in ("pre_tile_positional_embedding.embedding", "post_tile_positional_embedding.embedding")
        + ("gated_positional_embedding.tile_embedding",)
    }
    assert set(merged[1]) == set(merged[4]) and tables < set(merged[4])
    assert all(torch.equal(merged[4][name], merged[1][name]) for name in set(merged[4]) - tables)
    base, _ = load_model_and_processor(shrunk_mllama_dir)
    projector = "model.multi_modal_projector.weight"
    assert not torch.equal(merged[4][projector], base.state_dict()[projector])  # the adapter was merged


def test_the_tables_keep_the_checkpoints_rows_for_each_aspect_ratio(four_slots, shrunk_mllama_dir):
    full, _ = four_slots
    cut, _ = load_model_and_processor(shrunk_mllama_dir, tile_slots=2)
    table = "model.vision_model.pre_tile_positional_embedding.embedding.weight"
    four, two = full.state_dict()[table].view(9, 4, -1), cut.state_dict()[table].view(4, 2, -1)
    # A 2-tile processor numbers 1 x 1, 1 x 2, 2 x 1 as 1, 2, 3; the 4-tile checkpoint as 1, 2, 5 (of 8).
    for two_tile_id, checkpoint_id in ((0, 0), (1, 1), (2, 2), (3, 5)):
        assert torch.equal(two[two_tile_id], four[checkpoint_id, :2])


def test_a_budget_outside_the_checkpoints_slots_is_refused(four_slots):
    full, _ = four_slots
    for slots in (0, 5):
        with pytest.raises(ValueError, match=f"{slots} tile slots: this checkpoint has 4"):
            cut_tile_slots(full, slots)
    assert cut_tile_slots(full, 4) is full and full.config.vision_config.max_num_tiles == 4
