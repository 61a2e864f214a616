"""Small record factories shared by the tests."""

import numpy as np

from ecg_core.records import ECGRecord


def make_record(record_id="r1", seconds=10.0, fs=100.0, **kw) -> ECGRecord:
    t = np.arange(int(seconds * fs)) / fs
    signal = np.stack([np.sin(2 * np.pi * (1 + i / 10) * t) * 0.5 for i in range(12)]).astype(np.float32)
    defaults = dict(
        patient_id="p1", dataset="test", signal=signal, fs=fs, labels={"NORM": 100.0}, superclasses=["NORM"]
    )
    return ECGRecord(record_id=record_id, **(defaults | kw))
