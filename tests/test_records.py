import numpy as np
import pytest

from ecg_core.records import LEADS, RecordValidationError, records_from_parquet, records_to_parquet, validate
from tests.factories import make_record


def test_valid_record_passes():
    record = make_record()
    assert validate(record) is record
    assert record.seconds == pytest.approx(10.0)


def _with_sample(signal, lead, value):
    out = signal.copy()
    out[lead, 5] = value
    return out


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda s: s[:11], "expected 12 leads, got 11"),
        (lambda s: s[:, :100], "length 1.00 s outside"),
        (lambda s: _with_sample(s, lead=3, value=np.nan), "NaN/inf samples in lead(s) aVR"),
        (lambda s: _with_sample(s, lead=8, value=np.inf), "NaN/inf samples in lead(s) V3"),
        (lambda s: s * 100, "exceeds 15.0 mV"),
        (lambda s: np.concatenate([s[:7], np.zeros_like(s[7:8]), s[8:]]), "flat lead(s) V2"),
    ],
)
def test_invalid_records_raise_naming_record_and_reason(mutate, reason):
    record = make_record("bad-7")
    record.signal = mutate(record.signal).astype(np.float32)
    with pytest.raises(RecordValidationError) as err:
        validate(record)
    assert "'bad-7'" in str(err.value)
    assert reason in err.value.reason


def test_parquet_round_trip_is_exact():
    records = [make_record(f"r{i}", age=50.0 + i, sex="F", split="train", report="Sinus rhythm.") for i in range(3)]
    records[1].age = None
    back = records_from_parquet(records_to_parquet(records))
    assert [r.record_id for r in back] == ["r0", "r1", "r2"]
    for a, b in zip(records, back):
        np.testing.assert_array_equal(a.signal, b.signal)
        assert b.signal.dtype == np.float32 and b.signal.shape == (len(LEADS), 1000)
        assert (a.labels, a.superclasses, a.age, a.sex, a.split, a.report) == (
            b.labels,
            b.superclasses,
            b.age,
            b.sex,
            b.split,
            b.report,
        )
