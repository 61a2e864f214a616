"""A tile budget that costs only its tiles: an Mllama checkpoint's tile slots cut to the budget at load.

transformers' Mllama encodes `vision_config.max_num_tiles` tile slots per image (4 for the 11B) whatever the page
uses: the processor pads the unused slots with black tiles and both vision encoders attend over every slot, so a
budget of 2 tiles on the 11B pays for 4. Cutting the model to k slots makes the vision tower, the projector and
the cross-attention see k tiles only. The checkpoint's own weights are kept: the tile and aspect-ratio embeddings
are tables with a row per aspect ratio (1 x 1, 1 x 2, ..., 4 x 1) and a column block per slot; a k-slot model
takes the rows of the aspect ratios that fit in k tiles, renumbered as a k-tile processor numbers them, and
their first k column blocks. Every other weight (and so every adapter) is the same in either model.

One difference remains, and it is the model's own: two of Mllama's masks let unused slots through. The vision
mask hides a padded slot only from other padded slots, so a real patch attends to the black tiles; and text
before `<|image|>` (no tile to attend to) attends unmasked to every slot. A k-slot model has no slots beyond k
for either to reach: it equals the full-slot model with those slots hidden (tests/test_tile_slots.py), not the
full-slot model as released, and a run trains and is evaluated with its own budget (runs/<run_id>/config.json).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from transformers import MllamaConfig, MllamaForConditionalGeneration
from transformers.models.mllama.image_processing_pil_mllama import get_all_supported_aspect_ratios


def aspect_ratio_rows(vision_config, slots: int) -> list[int]:
    """Rows of the checkpoint's aspect-ratio tables that a `slots`-tile model keeps, in a `slots`-tile processor's
    order of ids: row 0 (no image) first, then each aspect ratio (width x height in tiles) that fits in `slots`."""
    known = [tuple(ratio) for ratio in vision_config.supported_aspect_ratios]
    return [0] + [known.index(ratio) + 1 for ratio in get_all_supported_aspect_ratios(slots)]


def with_tile_slots(config: MllamaConfig, slots: int) -> MllamaConfig:
    """A copy of `config` whose vision tower takes `slots` tile slots (1 to the checkpoint's)."""
    cut = copy.deepcopy(config)
    _limit(cut.vision_config, slots)
    return cut


def _check(slots: int, checkpoint_slots: int) -> None:
    if not 1 <= slots <= checkpoint_slots:
        raise ValueError(f"{slots} tile slots: this checkpoint has {checkpoint_slots}, so 1 to {checkpoint_slots}")


def _limit(vision_config, slots: int) -> None:
    _check(slots, vision_config.max_num_tiles)
    vision_config.supported_aspect_ratios = [list(ratio) for ratio in get_all_supported_aspect_ratios(slots)]
    vision_config.max_num_tiles = slots


def _cut_table(embedding: nn.Embedding, rows: list[int], slots: int, was: int) -> None:
    """Keep `rows` of a (ratio, slot x width) table and each row's first `slots` slot blocks."""
    table = embedding.weight.data[rows]
    table = table.view(len(rows), was, -1)[:, :slots].reshape(len(rows), -1)
    embedding.weight = nn.Parameter(table.contiguous(), requires_grad=embedding.weight.requires_grad)
    embedding.num_embeddings, embedding.embedding_dim = table.shape


@torch.no_grad()
def cut_tile_slots(model: MllamaForConditionalGeneration, slots: int) -> MllamaForConditionalGeneration:
    """Cut `model` to `slots` tile slots, in place (its processor must then make as many: `max_image_tiles`);
    nothing changes when `slots` is what the checkpoint has. Returns `model`."""
    was = model.config.vision_config.max_num_tiles
    _check(slots, was)
    if slots == was:
        return model
    vision = model.model.vision_model
    rows = aspect_ratio_rows(vision.config, slots)
    for module in (vision.pre_tile_positional_embedding, vision.post_tile_positional_embedding):
        _cut_table(module.embedding, rows, slots, was)
    _cut_table(vision.gated_positional_embedding.tile_embedding, rows, slots, was)
    for config in {id(c): c for c in (model.config.vision_config, vision.config)}.values():  # copies or one object
        _limit(config, slots)
    tables = (vision.pre_tile_positional_embedding, vision.post_tile_positional_embedding)
    for module in (model.model, vision, *tables, vision.gated_positional_embedding):
        module.max_num_tiles = slots
    for module in (*tables, vision.gated_positional_embedding):
        module.max_aspect_ratio_id = len(rows) - 1
    return model


def cut_to_budget(model: MllamaForConditionalGeneration, processor, slots: int) -> None:
    """Model and processor cut to `slots` tile slots: the processor then makes that many per page."""
    cut_tile_slots(model, slots)
    processor.image_processor.max_image_tiles = slots
