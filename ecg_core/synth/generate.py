"""Synthetic 12-lead ECG records: one condition's beat, timed by its rhythm, seen through the
12 leads, plus recording noise."""

from __future__ import annotations

import numpy as np

from ..records import LEADS, ECGRecord, validate
from .beat import Beat, normal_beat
from .beat_timing import afib_onsets, qt_intervals, sinus_onsets
from .conditions import CONDITIONS
from .leads import dipole_to_leads, electrodes_to_leads, recording_leads
from .noise import electrode_noise
from .pathology import PATHOLOGIES
from .waves import dipole_train, fibrillatory_waves, qrs_dipole

_LEAD = {name: i for i, name in enumerate(LEADS)}
# Sokolow-Lyon S(V1) + R(V5 or V6) > 3.5 mV means LVH; other records stay safely below it.
_MAX_NORMAL_SOKOLOW_MV = 3.2
# Low QRS voltage is < 0.5 mV in every limb lead or < 1.0 mV in every chest lead (LVOLT);
# records without that statement stay clear of it.
_MIN_LIMB_QRS_MV, _MIN_CHEST_QRS_MV = 0.7, 1.3
# The ventricles cannot be re-excited within ~300 ms, which bounds the shortest RR in AF.
_AFIB_REFRACTORY_S = 0.32


def _qrs_leads(beat: Beat, leads: np.ndarray) -> np.ndarray:
    """The 12 leads [12, T] of the beat's QRS complex alone (1 kHz)."""
    return dipole_to_leads(qrs_dipole(beat), leads)


def _calibrate_voltage(beat: Beat, leads: np.ndarray) -> None:
    """Scale the QRS so Sokolow-Lyon voltage matches the LVH target, or else stays normal."""
    qrs = _qrs_leads(beat, leads)
    sokolow = -qrs[_LEAD["V1"]].min() + qrs[[_LEAD["V5"], _LEAD["V6"]]].max()
    if beat.sokolow_lyon_mv is not None:
        beat.scale_qrs(beat.sokolow_lyon_mv / sokolow)
        return
    peak_to_peak = np.ptp(qrs, axis=1)
    factor = max(1.0, _MIN_LIMB_QRS_MV / peak_to_peak[:6].max(), _MIN_CHEST_QRS_MV / peak_to_peak[6:].max())
    beat.scale_qrs(min(factor, _MAX_NORMAL_SOKOLOW_MV / sokolow))


def _frontal_axis_deg(beat: Beat, leads: np.ndarray) -> float:
    """Mean QRS axis from the net QRS areas of I and aVF, as read off a paper ECG."""
    qrs = _qrs_leads(beat, leads)
    return float(np.degrees(np.arctan2(qrs[_LEAD["aVF"]].sum(), qrs[_LEAD["I"]].sum())))


def generate_signal(
    condition: str, seed: int, fs: float = 500.0, seconds: float = 10.0, *, noise: bool = True
) -> tuple[np.ndarray, dict]:
    """One synthetic record of `condition` (a CONDITIONS key): float32 [12, round(fs * seconds)]
    in mV, rows in LEADS order, and what it was built with: condition, rhythm, heart_rate_bpm
    (mean over the record), rr_regular, pr_ms (None in AF), qrs_ms, qt_ms (at the mean rate),
    qtc_ms (Bazett), axis_deg (frontal QRS axis from I and aVF) and qrs_onsets_s.
    noise=False gives the same record without recording noise."""
    if condition not in CONDITIONS:
        raise KeyError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
    spec = CONDITIONS[condition]
    rng = np.random.default_rng(seed)
    n = int(round(fs * seconds))

    beat = normal_beat(rng)
    for pathology in spec.pathologies:
        PATHOLOGIES[pathology](beat, rng)
    afib = spec.rhythm == "afib"
    if afib:
        beat.p = {}
    leads = recording_leads(rng)
    _calibrate_voltage(beat, leads)

    heart_rate = rng.uniform(*spec.heart_rate_bpm)
    resp_hz = rng.uniform(0.2, 0.33)  # 12-20 breaths/min
    if afib:
        onsets = afib_onsets(rng, heart_rate, seconds, _AFIB_REFRACTORY_S)
    else:
        onsets = sinus_onsets(rng, heart_rate, seconds, resp_hz)
    onsets = onsets[onsets < seconds + 0.5]
    qt = qt_intervals(onsets, beat.qtc_ms / 1000.0)
    # Breathing moves the heart against the electrodes: QRS amplitude swings a few percent.
    scale = 1.0 + rng.uniform(0.02, 0.06) * np.sin(2 * np.pi * resp_hz * onsets + rng.uniform(0, 2 * np.pi))
    dipole = dipole_train(beat, onsets, qt, scale, fs, n)
    if afib:
        dipole += fibrillatory_waves(rng, n, fs)
    signal = dipole_to_leads(dipole, leads)
    if noise:
        signal += electrodes_to_leads(electrode_noise(rng, n, fs, resp_hz))

    rr = np.diff(onsets[(onsets >= 0.0) & (onsets < seconds)])
    mean_rr = float(rr.mean()) if rr.size else float(np.diff(onsets).mean())
    heart_rate_bpm = 60.0 / mean_rr
    if afib:
        rhythm = "atrial fibrillation"
    elif heart_rate_bpm < 60:
        rhythm = "sinus bradycardia"
    elif heart_rate_bpm > 100:
        rhythm = "sinus tachycardia"
    else:
        rhythm = "sinus rhythm"
    meta = {
        "condition": condition,
        "rhythm": rhythm,
        "heart_rate_bpm": heart_rate_bpm,
        "rr_regular": not afib,
        "pr_ms": None if afib else float(beat.pr_ms),
        "qrs_ms": float(beat.qrs_ms),
        "qt_ms": float(beat.qtc_ms * np.sqrt(mean_rr)),
        "qtc_ms": float(beat.qtc_ms),
        "axis_deg": _frontal_axis_deg(beat, leads),
        "qrs_onsets_s": [float(t) for t in onsets if 0.0 <= t < seconds],
    }
    return signal.astype(np.float32), meta


def synthesize_records(
    n: int,
    seed: int = 0,
    fs: float = 500.0,
    seconds: float = 10.0,
    conditions: list[str] | None = None,
    records_per_patient: int = 1,
) -> list[ECGRecord]:
    """n validated synthetic records, conditions drawn evenly: every consecutive block of
    len(conditions) records holds each condition once, in a seed-shuffled order.

    Labels are the condition's SCP codes; what the record was built with (rate, regularity, PR, QRS and
    QT intervals, QRS axis) goes to `extra["measurements"]`, named as MIMIC's machine measurements, so
    measurement questions have ground truth.
    """
    names = list(conditions) if conditions is not None else list(CONDITIONS)
    unknown = [c for c in names if c not in CONDITIONS]
    if unknown or not names:
        raise ValueError(f"unknown or no conditions {unknown}; known: {', '.join(CONDITIONS)}")
    if records_per_patient < 1:
        raise ValueError(f"records_per_patient must be >= 1, got {records_per_patient}")
    rng = np.random.default_rng(seed)
    blocks = -(-n // len(names))
    order = [k for _ in range(blocks) for k in rng.permutation(len(names))][:n]

    records = []
    for i, which in enumerate(order):
        spec = CONDITIONS[names[which]]
        patient = i // records_per_patient
        # Patient traits and each record's signal get their own streams, so adding records never
        # changes the earlier ones.
        patient_rng = np.random.default_rng([seed, patient, 1])
        age = float(np.clip(round(patient_rng.normal(60.0, 16.0)), 18, 90))
        sex = "M" if patient_rng.random() < 0.52 else "F"
        record_seed = int(np.random.SeedSequence([seed, i, 2]).generate_state(1)[0])
        signal, built = generate_signal(spec.name, record_seed, fs=fs, seconds=seconds)
        records.append(
            validate(
                ECGRecord(
                    record_id=f"synth-{i:06d}",
                    patient_id=f"sp-{patient:06d}",
                    dataset="synthetic",
                    signal=signal,
                    fs=fs,
                    labels=dict(spec.scp_codes),
                    superclasses=spec.superclasses,
                    report="",
                    age=age,
                    sex=sex,
                    split=None,
                    extra={"condition": spec.name, "measurements": _measurements(built)},
                )
            )
        )
    return records


def _measurements(built: dict) -> dict:
    rounded = lambda value: None if value is None else round(float(value), 1)  # noqa: E731
    return {
        "heart_rate_bpm": rounded(built["heart_rate_bpm"]),
        "rr_regular": bool(built["rr_regular"]),
        "pr_ms": rounded(built["pr_ms"]),
        "qrs_ms": rounded(built["qrs_ms"]),
        "qt_ms": rounded(built["qt_ms"]),
        "qrs_axis": rounded(built["axis_deg"]),
    }
