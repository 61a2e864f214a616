"""Per-label probabilities from the model itself, for the true (score-based) ROC AUC.

For each sample and each label of the set, the label is appended as the assistant's answer to the
prompt, and its score is the probability the model gives those answer tokens (teacher-forced). The
absolute value is the probability that the answer *starts* with that label; AUC only needs it to rank
samples, label by label, which it does for a multi-label answer too.

Each page goes through the vision tower once: its cross-attention states (what the text layers read)
are computed per batch of pages and reused by one text-only pass per label. Encoding the page once per
label instead would multiply the vision work and its memory by the number of labels (a batch of 16
pages and 5 labels: 80 page encodings, 320 tiles of 560 px on the 11B).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers.models.mllama.processing_mllama import (
    convert_sparse_cross_attention_mask_to_dense,
    get_cross_attention_token_mask,
)

from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.reading.generate import prompt_batch


def page_states(model, pixels) -> torch.Tensor:
    """The vision tower + projector output for a batch of pages: [pages, tiles x patches, text hidden size],
    as MllamaModel computes it from `pixel_values` before its text layers."""
    inner = model.model
    vision = inner.vision_model(
        pixel_values=pixels["pixel_values"],
        aspect_ratio_ids=pixels["aspect_ratio_ids"],
        aspect_ratio_mask=pixels["aspect_ratio_mask"],
    ).last_hidden_state
    return inner.multi_modal_projector(vision).reshape(-1, vision.shape[-2], inner.hidden_size)


def text_inputs(processor, texts: list[str], num_tiles: list[list[int]]) -> dict:
    """Token ids, attention mask and the cross-attention mask the processor would build for these texts."""
    tokens = processor.tokenizer(
        texts, padding="longest", padding_side="right", add_special_tokens=False, return_tensors="pt"
    )
    image_token = processor.tokenizer.convert_tokens_to_ids("<|image|>")
    sparse = [get_cross_attention_token_mask(ids.tolist(), image_token) for ids in tokens["input_ids"]]
    dense = convert_sparse_cross_attention_mask_to_dense(
        sparse, num_tiles, processor.image_processor.max_image_tiles, tokens["input_ids"].shape[1]
    )
    return {**tokens, "cross_attention_mask": torch.from_numpy(dense)}


def label_scores(
    model,
    processor,
    samples: list[dict],
    image_root: str | Path,
    labels: tuple[str, ...],
    *,
    pages: PagePreprocessing,
    batch_size: int = 8,
) -> np.ndarray:
    """[len(samples), len(labels)] probabilities of each label as the answer to each sample's question."""
    tokenizer = processor.tokenizer
    out = np.zeros((len(samples), len(labels)))
    for start in tqdm(range(0, len(samples), batch_size), desc="label scores", unit="batch"):
        prompts, images = prompt_batch(processor, samples[start : start + batch_size], image_root, pages)
        pixels = processor.image_processor(images=[[image] for image in images], return_tensors="pt")
        prompt_lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        with torch.inference_mode():
            states = page_states(model, pixels.to(model.device))
            for column, label in enumerate(labels):
                inputs = text_inputs(processor, [p + label for p in prompts], pixels["num_tiles"])
                inputs = {k: v.to(model.device) for k, v in inputs.items()}
                logits = model(**inputs, cross_attention_states=states).logits.float()
                # Log-probability of token t+1 given the tokens up to t; <|image|> lies outside the output
                # vocabulary (it is in the prompt, never scored): clamp it.
                targets = inputs["input_ids"][:, 1:, None].clamp(max=logits.shape[-1] - 1)
                logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, targets)[..., 0]
                lengths = inputs["attention_mask"].sum(dim=1)
                for row, first in enumerate(prompt_lengths):  # `first`: the label's first token
                    out[start + row, column] = float(logprobs[row, first - 1 : lengths[row] - 1].sum().exp())
    return out
