"""Training batches: chat prompt + image through the real processor, loss on the assistant answers only."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from transformers import BatchFeature, MllamaProcessor

from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.model.prompt import chat_messages

IGNORE_INDEX = -100  # label value the causal-LM loss skips


def answer_spans(processor: MllamaProcessor, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character span of every assistant turn (answer + `<|eot_id|>`).

    Spans come from rendering the conversation up to each turn with the model's own chat template, so
    they stay right for whatever template a checkpoint ships.
    """
    render = processor.apply_chat_template
    text = render(messages, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            start = len(render(messages[:i], tokenize=False, add_generation_prompt=True))
            end = len(render(messages[: i + 1], tokenize=False))
            spans.append((start, end))
    return text, spans


class InstructionCollator:
    """Turns instruction records into a right-padded Mllama batch with `labels`.

    `labels` equals `input_ids` on the tokens of every assistant answer and its `<|eot_id|>` (so the
    model learns to stop) and is -100 elsewhere: prompt, `<|image|>`, headers and padding.
    `pages`: the run's tile budget and page fit (ecg_core.model.page_tiles).
    `cache_images`: keep every fitted page in memory. Decoding a 1100 x 600 PNG costs more than a tiny
    model's whole training step on a CPU; at 224 px a page costs 150 kB, so 1,200 pages fit easily.
    Leave it off for big sets (every dataloader worker holds its own cache).
    """

    def __init__(
        self,
        processor: MllamaProcessor,
        image_root: str | Path,
        pages: PagePreprocessing,
        max_length: int,
        cache_images: bool = False,
    ):
        pages.check(processor)
        self.processor = processor
        self.image_root = Path(image_root)
        self.pages = pages
        self.max_length = max_length
        self.cache = {} if cache_images else None

    def page(self, relative_path: str) -> Image.Image:
        if self.cache is None:
            return self.pages.load(self.image_root / relative_path, self.processor)
        if relative_path not in self.cache:
            self.cache[relative_path] = self.pages.load(self.image_root / relative_path, self.processor)
        return self.cache[relative_path]

    def __call__(self, samples: list[dict]) -> BatchFeature:
        texts, spans = zip(*(answer_spans(self.processor, chat_messages(s["conversations"])) for s in samples))
        images = [[self.page(s["image"])] for s in samples]
        text_kwargs = dict(add_special_tokens=False, truncation=True, max_length=self.max_length)
        batch = self.processor(
            text=list(texts), images=images, padding="longest", padding_side="right", return_tensors="pt", **text_kwargs
        )
        # Offsets come from the same tokenizer call without padding, so token j of a row is token j here.
        offsets = self.processor.tokenizer(list(texts), return_offsets_mapping=True, **text_kwargs)["offset_mapping"]
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        for row, (row_offsets, row_spans) in enumerate(zip(offsets, spans)):
            for j, (start, end) in enumerate(row_offsets):
                if any(a <= start and end <= b for a, b in row_spans):
                    labels[row, j] = batch["input_ids"][row, j]
        batch["labels"] = labels
        return batch
