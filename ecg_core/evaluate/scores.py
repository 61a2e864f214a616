"""Per-label probabilities from the model itself, for the true (score-based) ROC AUC.

For each sample and each label of the set, the label is appended as the assistant's answer to the
prompt, and its score is the probability the model gives those answer tokens (teacher-forced, one
forward pass per sample and label set: the label continuations ride in one batch). The absolute value
is the probability that the answer *starts* with that label; AUC only needs it to rank samples, label
by label, which it does for a multi-label answer too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ecg_core.model.prompt import chat_messages, load_page


def label_scores(
    model, processor, samples: list[dict], image_root: str | Path, labels: tuple[str, ...], *,
    image_size: int | None, batch_size: int = 8,
) -> np.ndarray:
    """[len(samples), len(labels)] probabilities of each label as the answer to each sample's question."""
    tokenizer = processor.tokenizer
    out = np.zeros((len(samples), len(labels)))
    for start in tqdm(range(0, len(samples), batch_size), desc="label scores", unit="batch"):
        batch = samples[start : start + batch_size]
        prompts = [processor.apply_chat_template(chat_messages(s["conversations"][:1]), tokenize=False,
                                                 add_generation_prompt=True) for s in batch]
        pages = [load_page(Path(image_root) / s["image"], image_size) for s in batch]
        inputs = processor(
            text=[p + label for p in prompts for label in labels], images=[[page] for page in pages for _ in labels],
            padding="longest", padding_side="right", add_special_tokens=False, return_tensors="pt",
        ).to(model.device)
        prompt_lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        with torch.inference_mode():
            logits = model(**inputs).logits.float()
        # Log-probability of token t+1 given the tokens up to t, for every position.
        # (The <|image|> token lies outside the output vocabulary; it is in the prompt, never scored: clamp it.)
        targets = inputs["input_ids"][:, 1:, None].clamp(max=logits.shape[-1] - 1)
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, targets)[..., 0]
        lengths = inputs["attention_mask"].sum(dim=1)
        for row in range(len(batch) * len(labels)):
            first = prompt_lengths[row // len(labels)]  # the label's first token
            out[start + row // len(labels), row % len(labels)] = float(logprobs[row, first - 1 : lengths[row] - 1].sum().exp())
    return out
