"""Beat timing: sinus rhythm with heart-rate variability, and the irregular ventricular response
of atrial fibrillation. Times are QRS onsets in seconds, covering a margin around the record."""

from __future__ import annotations

import numpy as np

_MARGIN_S = 1.5  # beats this far outside the record still spill P or T waves into it


def sinus_onsets(rng: np.random.Generator, heart_rate_bpm: float, seconds: float, resp_hz: float) -> np.ndarray:
    """Sinus rhythm: respiratory sinus arrhythmia (RR varies in phase with breathing, more at
    slow rates), a ~0.1 Hz Mayer-wave component and small beat-to-beat jitter; RR CV ~2-5 %."""
    mean_rr = 60.0 / heart_rate_bpm
    n = int((seconds + 2 * _MARGIN_S) / mean_rr) + 3
    approx_t = np.arange(n) * mean_rr
    rsa = rng.uniform(0.015, 0.05) * min(1.0, mean_rr / 0.75)
    rr = mean_rr * (
        1.0
        + rsa * np.sin(2 * np.pi * resp_hz * approx_t + rng.uniform(0, 2 * np.pi))
        + rng.uniform(0.005, 0.02) * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * approx_t + rng.uniform(0, 2 * np.pi))
        + rng.normal(0.0, 0.01, n)
    )
    return _onsets(rng, rr, mean_rr)


def afib_onsets(rng: np.random.Generator, heart_rate_bpm: float, seconds: float, refractory_s: float) -> np.ndarray:
    """Atrial fibrillation: irregularly irregular RR, independent log-normal intervals (CV ~20-30 %)
    that never fall inside the ventricular refractory period."""
    mean_rr = 60.0 / heart_rate_bpm
    n = int((seconds + 2 * _MARGIN_S) / (0.6 * mean_rr)) + 3
    spread = rng.uniform(0.2, 0.3)
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std()  # a 10 s strip must look irregular, not merely be drawn so
    rr = mean_rr * np.exp(spread * z - 0.5 * spread**2)
    return _onsets(rng, np.maximum(rr, refractory_s), mean_rr)


def _onsets(rng: np.random.Generator, rr: np.ndarray, mean_rr: float) -> np.ndarray:
    """Onset times from RR intervals, starting at a random phase before the margin."""
    return -_MARGIN_S - rng.uniform(0.0, mean_rr) + np.concatenate([[0.0], np.cumsum(rr)])


def qt_intervals(onsets: np.ndarray, qtc_s: float) -> np.ndarray:
    """QT of each beat from its preceding RR by Bazett (QT = QTc * sqrt(RR)); the first beat uses
    the next RR."""
    rr = np.diff(onsets)
    preceding = np.concatenate([rr[:1], rr])
    return qtc_s * np.sqrt(preceding)
