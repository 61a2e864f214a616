"""From an instruction record (ECGInstruct/LLaVA JSON) to the chat messages the checkpoint's template takes."""

from __future__ import annotations

IMAGE_PLACEHOLDER = "<image>"
ROLES = {"human": "user", "gpt": "assistant"}


def chat_messages(conversations: list[dict]) -> list[dict]:
    """LLaVA turns -> chat messages; `<image>` becomes an image item where it stands in the human turn.

    The chat template then writes `<|image|>` at that place, which is where Mllama's cross-attention starts.
    Text items are stripped and empty ones dropped: the 11B's template writes text exactly as given, so
    `"<image>\\nQuestion"` would become `<|image|>\\nQuestion`, while Meta's documented prompt is
    `<|image|>Question`.
    """
    messages = []
    for turn in conversations:
        pieces = turn["value"].split(IMAGE_PLACEHOLDER)
        content = [{"type": "text", "text": pieces[0]}]
        for piece in pieces[1:]:
            content += [{"type": "image"}, {"type": "text", "text": piece}]
        content = [c if c["type"] == "image" else {"type": "text", "text": c["text"].strip()} for c in content]
        content = [c for c in content if c["type"] == "image" or c["text"]]
        messages.append({"role": ROLES[turn["from"]], "content": content})
    return messages
