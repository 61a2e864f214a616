"""Inference: batched greedy generation (left padding must not change any answer) and label scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecg_core.model.load import load_model_and_processor
from ecg_core.reading.generate import generate_answers
from ecg_core.reading.scores import label_scores
from ecg_core.train import TrainConfig

TINY_PAGES = TrainConfig.load(Path(__file__).resolve().parents[1] / "configs" / "tiny-cpu.yaml").pages

QUESTIONS = ("Which class?", "Is the rhythm regular?", "Which of the classes NORM, MI, STTC, CD, HYP does it show?")


def test_batched_answers_equal_one_by_one_answers(tiny_mllama_dir, stripe_pages):
    model, processor = load_model_and_processor(tiny_mllama_dir)
    # Prompts of three lengths, so rows of a batch carry different amounts of left padding.
    samples = [
        {**r, "conversations": [{"from": "human", "value": f"<image>\n{QUESTIONS[i % 3]}"}, *r["conversations"][1:]]}
        for i, r in enumerate(stripe_pages.test[:7])
    ]
    kwargs = dict(pages=TINY_PAGES, max_new_tokens=8)
    batched = generate_answers(model, processor, samples, stripe_pages.root, batch_size=4, **kwargs)
    one_by_one = [generate_answers(model, processor, [s], stripe_pages.root, **kwargs)[0] for s in samples]

    assert batched == one_by_one
    assert len(batched) == 7 and all(batched)
    assert not any("<|" in a for a in batched)  # special tokens stripped


def test_label_scores_rank_the_tuned_models_classes(tiny_mllama_dir, stripe_pages, tuned_run):
    """Scores are probabilities; after a little training the true class scores highest on most pages."""
    root, test = stripe_pages.root, stripe_pages.test[:20]
    model, processor = load_model_and_processor(tiny_mllama_dir, adapter=tuned_run[0]["adapter_dir"])
    scores = label_scores(model, processor, test, root, stripe_pages.classes, pages=TINY_PAGES, batch_size=4)

    assert scores.shape == (20, 5) and ((scores > 0) & (scores <= 1)).all()
    assert (scores.sum(axis=1) <= 1 + 1e-6).all()  # answers that start differently: mutually exclusive
    best = [stripe_pages.classes[j] for j in scores.argmax(axis=1)]
    assert sum(b == r["labels"][0] for b, r in zip(best, test)) >= 14
    again = label_scores(model, processor, test[:4], root, stripe_pages.classes, pages=TINY_PAGES, batch_size=3)
    assert np.allclose(again, scores[:4], rtol=1e-4)  # batching does not change a score
