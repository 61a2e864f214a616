"""The one place where raw signals become canonical: lead names, lead order, units, sampling rate, windows."""

from __future__ import annotations

import re

import numpy as np
from scipy.signal import resample_poly

from ecg_core.records import LEADS

CANONICAL_FS = 500.0
WINDOW_SECONDS = 10.0

_ALIASES = {
    "AVR": "aVR",
    "AVL": "aVL",
    "AVF": "aVF",
    "D1": "I",
    "D2": "II",
    "D3": "III",
    "DI": "I",
    "DII": "II",
    "DIII": "III",
}
# Physical units -> factor to mV (WFDB headers say "mV", "uV", "µV", "V").
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


def normalise_lead_name(name: str) -> str:
    """'avr' / 'AVR' / 'aVR' -> 'aVR'; 'v1' -> 'V1'; 'D2' -> 'II'; unknown names come back upper-cased."""
    key = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return _ALIASES.get(key, key)


def unit_to_mv(unit: str) -> float:
    try:
        return _UNIT_TO_MV[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown signal unit {unit!r}") from None


def to_canonical_leads(signal: np.ndarray, lead_names: list[str]) -> tuple[np.ndarray, list[str]]:
    """[n_leads, N] in any order -> [12, N] in LEADS order, and the extra leads dropped (e.g. Frank X, Y,
    Z) for a note; ValueError naming the standard leads that are absent or hold no sample."""
    names = [normalise_lead_name(n) for n in lead_names]
    out = np.full((len(LEADS), signal.shape[1]), np.nan, dtype=np.float32)
    for row, name in enumerate(names):
        if name in LEADS:
            out[LEADS.index(name)] = signal[row]
    missing = [lead for i, lead in enumerate(LEADS) if np.isnan(out[i]).all()]
    if missing:
        raise ValueError(f"missing standard lead(s) {', '.join(missing)} (header has {', '.join(lead_names)})")
    dropped = [lead_names[i] for i, n in enumerate(names) if n not in LEADS]
    return out, dropped


def resample(signal: np.ndarray, fs_in: float, fs_out: float = CANONICAL_FS) -> np.ndarray:
    """Polyphase resampling (anti-aliased) along the last axis; a no-op at equal rates."""
    if fs_in == fs_out:
        return signal.astype(np.float32, copy=False)
    up, down = _ratio(fs_out, fs_in)
    return resample_poly(signal, up, down, axis=-1).astype(np.float32)


def _ratio(fs_out: float, fs_in: float) -> tuple[int, int]:
    from fractions import Fraction

    ratio = Fraction(fs_out).limit_denominator(1000) / Fraction(fs_in).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def windows(signal: np.ndarray, fs: float, seconds: float = WINDOW_SECONDS) -> list[np.ndarray]:
    """Cut a long recording into consecutive full windows (a shorter recording comes back whole)."""
    size = int(round(seconds * fs))
    if signal.shape[1] <= size:
        return [signal]
    return [signal[:, start : start + size] for start in range(0, signal.shape[1] - size + 1, size)]
