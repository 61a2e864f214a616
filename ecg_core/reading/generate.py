"""Batched greedy answers of an Mllama model to instruction records (the first human turn is the prompt)."""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm
from transformers import MllamaForConditionalGeneration, MllamaProcessor

from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.model.prompt import chat_messages

END_OF_TURN = "<|eot_id|>"  # what the collator teaches every tuned model to end its answer with
REPORT_TOKENS = 160  # a report's answer: the longest template and translated PTB-XL reports stay below this
ANSWER_TOKENS = 48  # a class list or an option: the longest of ours stays well below


def stop_token_ids(model: MllamaForConditionalGeneration, processor: MllamaProcessor) -> list[int]:
    """Every id that ends an answer: the checkpoint's generation_config eos ids (128001, 128008, 128009 for
    the 11B Instruct: end of text, end of message, end of turn; the base 11B's may name end of text alone)
    and `<|eot_id|>`."""
    configured = model.generation_config.eos_token_id
    configured = [] if configured is None else [configured] if isinstance(configured, int) else list(configured)
    return sorted({*configured, processor.tokenizer.convert_tokens_to_ids(END_OF_TURN)})


def prompt_batch(processor: MllamaProcessor, samples: list[dict], image_root: str | Path, pages: PagePreprocessing):
    """The first human turn of each sample as a generation prompt (text) and its fitted page."""
    prompts = [
        processor.apply_chat_template(chat_messages(s["conversations"][:1]), tokenize=False, add_generation_prompt=True)
        for s in samples
    ]
    return prompts, [pages.load(Path(image_root) / s["image"], processor) for s in samples]


def generate_answers(
    model: MllamaForConditionalGeneration,
    processor: MllamaProcessor,
    samples: list[dict],
    image_root: str | Path,
    *,
    pages: PagePreprocessing,
    max_new_tokens: int = ANSWER_TOKENS,
    batch_size: int = 16,
) -> list[str]:
    """One decoded answer (special tokens stripped) per sample, in order.

    `pages` must be the run's (what training showed the model). Prompts are padded on the left so every
    row's next token sits at the same last position.
    """
    tokenizer = processor.tokenizer
    stop_ids = stop_token_ids(model, processor)
    answers = []
    for start in tqdm(range(0, len(samples), batch_size), desc="generate", unit="batch"):
        prompts, images = prompt_batch(processor, samples[start : start + batch_size], image_root, pages)
        inputs = processor(
            text=prompts,
            images=[[image] for image in images],
            padding="longest",
            padding_side="left",
            add_special_tokens=False,
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
