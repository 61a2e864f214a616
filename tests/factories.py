"""Small record and instruction-sample factories shared by the tests."""

import numpy as np

from ecg_core.records import ECGRecord


def make_record(record_id="r1", seconds=10.0, fs=100.0, **kw) -> ECGRecord:
    t = np.arange(int(seconds * fs)) / fs
    signal = np.stack([np.sin(2 * np.pi * (1 + i / 10) * t) * 0.5 for i in range(12)]).astype(np.float32)
    defaults = dict(
        patient_id="p1", dataset="test", signal=signal, fs=fs, labels={"NORM": 100.0}, superclasses=["NORM"]
    )
    return ECGRecord(record_id=record_id, **(defaults | kw))


CHOICE = "Which rhythm does this ECG show?\nA. sinus rhythm\nB. atrial fibrillation\nAnswer with the letter."


def sample(i: int, topic: str, style: str, answer: str, labels=(), source: str = "synthetic", **extra) -> dict:
    question = {"choice": CHOICE, "open": "Which of the following diagnostic classes does this ECG show?"}[style]
    return {
        "id": f"s{i}",
        "image": f"images/x/s{i}/0.png",
        "conversations": [{"from": "human", "value": f"<image>\n{question}"}, {"from": "gpt", "value": answer}],
        "task_family": "abnormality_detection" if topic == "superclass" else "rhythm",
        "topic": topic,
        "style": style,
        "labels": list(labels),
        "source": source,
        "record_id": f"r{i}",
        "credentialed": False,
    } | extra
