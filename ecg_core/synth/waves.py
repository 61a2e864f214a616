"""Turn beats into a continuous cardiac dipole: P-QRS-T bumps placed at each beat's timing, and the
fibrillatory waves of atrial fibrillation. Vectorised per beat; no per-sample Python loops."""

from __future__ import annotations

import numpy as np

from .beat import Beat

# T peak to T end is about a fifth of the QT interval (~90 ms at QT 400 ms).
_T_PEAK_TO_END = 0.22


def _bumps(beat: Beat, onsets: np.ndarray, qt: np.ndarray):
    """Every wave of every beat as a Gaussian bump: centres, rising and falling sd [B, K] in
    seconds, and peak vectors [K, 3]; also each beat's J point and T peak times [B]."""
    p, qrs = list(beat.p.values()), list(beat.qrs.values())
    qrs_s = beat.qrs_ms / 1000.0
    offsets = np.array([w.at / 1000.0 - beat.pr_ms / 1000.0 for w in p] + [w.at * qrs_s for w in qrs])
    sds = np.array([w.width / 1000.0 for w in p] + [w.width * qrs_s for w in qrs])
    j_point = onsets + qrs_s
    t_peak = onsets + qt * (1.0 - _T_PEAK_TO_END)
    # The T wave rises slowly out of a near-isoelectric ST segment (reaching the J point at 3 sd)
    # and falls faster to T end (2.5 sd); ischaemic T waves are symmetric and pointed.
    t_rise, t_fall = (t_peak - j_point) / 3.0, qt * _T_PEAK_TO_END / 2.5
    if beat.t_symmetric:
        t_rise = t_fall = 0.55 * (t_rise + t_fall)
    fixed_sd = np.broadcast_to(sds, (len(onsets), len(sds)))
    centre = np.concatenate([onsets[:, None] + offsets, t_peak[:, None]], axis=1)
    sd_rise = np.concatenate([fixed_sd, t_rise[:, None]], axis=1)
    sd_fall = np.concatenate([fixed_sd, t_fall[:, None]], axis=1)
    vectors = np.array([w.vector for w in p + qrs] + [beat.t_vector])
    return centre, sd_rise, sd_fall, vectors, j_point, t_peak


def dipole_train(beat: Beat, onsets: np.ndarray, qt: np.ndarray, scale: np.ndarray, fs: float, n: int) -> np.ndarray:
    """The dipole [n, 3] of beats with QRS onsets `onsets` (s), QT intervals `qt` (s) and per-beat
    amplitude `scale`, sampled at fs from t = 0. Each beat is evaluated on its own window only."""
    centre, sd_rise, sd_fall, vectors, j_point, t_peak = _bumps(beat, onsets, qt)
    first = np.floor((onsets - beat.pr_ms / 1000.0 - 0.06) * fs).astype(int)
    width = int(np.ceil((beat.pr_ms / 1000.0 + qt.max() + 0.12) * fs))
    index = first[:, None] + np.arange(width)  # [B, W]
    t = index / fs
    dt = t[:, :, None] - centre[:, None, :]  # [B, W, K]
    sd = np.where(dt < 0.0, sd_rise[:, None, :], sd_fall[:, None, :])
    dipole = np.exp(-0.5 * (dt / sd) ** 2) @ vectors  # [B, W, 3]
    if beat.st_vector.any():
        # ST shift: a plateau from the J point, flat for most of the ST segment, fading into T.
        fade_at = j_point + 0.75 * (t_peak - j_point)
        plateau = _sigmoid((t - j_point[:, None] + 0.015) / 0.01) * _sigmoid(
            (fade_at[:, None] - t) / (0.08 * (t_peak - j_point))[:, None]
        )
        dipole += plateau[:, :, None] * beat.st_vector
    dipole *= scale[:, None, None]
    inside = (index >= 0) & (index < n)
    flat_index, flat_dipole = index[inside], dipole[inside]
    return np.stack([np.bincount(flat_index, flat_dipole[:, d], minlength=n) for d in range(3)], axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def qrs_dipole(beat: Beat, fs: float = 1000.0) -> np.ndarray:
    """The dipole [T, 3] of one QRS complex alone, from 10 ms before its onset to 10 ms after its
    end (used to calibrate voltages and read the axis before a record is rendered)."""
    t = np.arange(-0.01, (beat.qrs_ms + 10.0) / 1000.0, 1.0 / fs)
    waves = list(beat.qrs.values())
    qrs_s = beat.qrs_ms / 1000.0
    centre = qrs_s * np.array([w.at for w in waves])
    sd = qrs_s * np.array([w.width for w in waves])
    return np.exp(-0.5 * ((t[:, None] - centre) / sd) ** 2) @ np.array([w.vector for w in waves])


def fibrillatory_waves(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Atrial fibrillation f-waves as a dipole [n, 3]: disorganised atrial activity at 4-9 Hz
    (240-540/min) varying in rate, shape and amplitude, i.e. narrow-band noise. Two wavefront
    sources point rightward-inferior-anterior, so f-waves show best in V1 and the inferior leads;
    0.05 mV (fine) to 0.2 mV (coarse) in V1."""
    frequencies = np.fft.rfftfreq(n, 1.0 / fs)
    dipole = np.zeros((n, 3))
    for direction in ([-0.3, 0.5, 0.8], [0.1, 0.8, 0.5]):
        band = np.exp(-0.5 * ((frequencies - rng.uniform(5.0, 8.0)) / 0.8) ** 2)
        wave = np.fft.irfft(np.fft.rfft(rng.normal(size=n)) * band, n=n)
        wave *= rng.uniform(0.012, 0.04) / (wave.std() + 1e-12)
        dipole += wave[:, None] * (np.asarray(direction) / np.linalg.norm(direction))
    return dipole
