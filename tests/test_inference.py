"""Batched greedy generation: left padding must not change any answer."""

from __future__ import annotations

from ecg_core.evaluate.inference import generate_answers
from ecg_core.model import load_model_and_processor

QUESTIONS = ("Which class?", "Is the rhythm regular?", "Which of the classes NORM, MI, STTC, CD, HYP does it show?")


def test_batched_answers_equal_one_by_one_answers(tiny_mllama_dir, stripe_pages):
    model, processor = load_model_and_processor(tiny_mllama_dir)
    # Prompts of three lengths, so rows of a batch carry different amounts of left padding.
    samples = [
        {**r, "conversations": [{"from": "human", "value": f"<image>\n{QUESTIONS[i % 3]}"}, *r["conversations"][1:]]}
        for i, r in enumerate(stripe_pages.test[:7])
    ]
    kwargs = dict(image_size=224, max_new_tokens=8)
    batched = generate_answers(model, processor, samples, stripe_pages.root, batch_size=4, **kwargs)
    one_by_one = [generate_answers(model, processor, [s], stripe_pages.root, **kwargs)[0] for s in samples]

    assert batched == one_by_one
    assert len(batched) == 7 and all(batched)
    assert not any("<|" in a for a in batched)  # special tokens stripped
