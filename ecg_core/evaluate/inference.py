"""Batched greedy answers of an Mllama model to instruction records (the first human turn is the prompt)."""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm
from transformers import MllamaForConditionalGeneration, MllamaProcessor

from ecg_core.model.prompt import chat_messages, load_page

# A tuned model ends its turn with <|eot_id|>; the base 11B's generation config stops only on <|end_of_text|>.
STOP_TOKENS = ("<|eot_id|>", "<|end_of_text|>")


def generate_answers(
    model: MllamaForConditionalGeneration,
    processor: MllamaProcessor,
    samples: list[dict],
    image_root: str | Path,
    *,
    image_size: int | None,
    max_new_tokens: int = 48,
    batch_size: int = 16,
) -> list[str]:
    """One decoded answer (special tokens stripped) per sample, in order.

    `image_size` must match training: the page is stretched to that square (None: processor tiling).
    Prompts are padded on the left so every row's next token sits at the same last position.
    """
    tokenizer = processor.tokenizer
    stop_ids = [tokenizer.convert_tokens_to_ids(t) for t in STOP_TOKENS]
    answers = []
    for start in tqdm(range(0, len(samples), batch_size), desc="generate", unit="batch"):
        batch = samples[start : start + batch_size]
        first_turns = [chat_messages(s["conversations"][:1]) for s in batch]
        prompts = [processor.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in first_turns]
        images = [[load_page(Path(image_root) / s["image"], image_size)] for s in batch]
        inputs = processor(
            text=prompts, images=images, padding="longest", padding_side="left", add_special_tokens=False,
            return_tensors="pt",
        ).to(model.device)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                eos_token_id=stop_ids,
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        answers += [a.strip() for a in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    return answers
