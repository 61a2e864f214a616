"""From an instruction record (ECGInstruct/LLaVA JSON) to what the chat template and the processor take."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

IMAGE_PLACEHOLDER = "<image>"
ROLES = {"human": "user", "gpt": "assistant"}


def chat_messages(conversations: list[dict]) -> list[dict]:
    """LLaVA turns -> chat messages; `<image>` becomes an image item where it stands in the human turn.

    The chat template then writes `<|image|>` at that place, which is where Mllama's cross-attention starts.
    """
    messages = []
    for turn in conversations:
        pieces = turn["value"].split(IMAGE_PLACEHOLDER)
        content = [{"type": "text", "text": pieces[0]}]
        for piece in pieces[1:]:
            content += [{"type": "image"}, {"type": "text", "text": piece}]
        # Drop empty text items so "<image>\nQ" renders as "<|image|>Q", the form the 11B was tuned on.
        content = [c for c in content if c["type"] == "image" or c["text"].strip()]
        messages.append({"role": ROLES[turn["from"]], "content": content})
    return messages


def load_page(path: str | Path, image_size: int | None) -> Image.Image:
    """Open an ECG page as RGB; with `image_size`, stretch it to an image_size x image_size square.

    Why stretch: with one tile, Mllama's processor keeps the aspect ratio, so a 1100 x 600 page becomes
    224 x 122 plus black padding and more than 40% of the pixels carry nothing. Stretching keeps every
    pixel row. `image_size=None` hands the page over untouched: the processor then fits it to its tile
    canvas as for any photo (the 11B with 4 tiles of 560 px picks a 2 x 1 canvas for a wide page).
    """
    with Image.open(path) as image:
        image = image.convert("RGB")
    if image_size is not None:
        image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
    return image
