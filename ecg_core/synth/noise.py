"""Recording noise, generated per electrode (RA, LA, LL, V1..V6) so that every lead sees it through
the same wiring as the heart signal: baseline wander, muscle (EMG) noise and mains interference."""

from __future__ import annotations

import numpy as np

from .leads import LIMB_ELECTRODES, N_ELECTRODES


def _band_noise(rng: np.random.Generator, band: np.ndarray, n: int) -> np.ndarray:
    """Unit-variance Gaussian noise [9, n] with the spectral shape `band` (rfft bins), drawn
    directly in the frequency domain. Bins where the band is negligible are not drawn."""
    used = np.flatnonzero(band > 1e-3)
    lo, hi = used[0], used[-1] + 1
    spectrum = np.zeros((N_ELECTRODES, band.size), dtype=np.complex64)
    # Pairs of standard normals viewed as complex numbers: real and imaginary parts ~ N(0, 1);
    # single precision is ample for noise and halves the cost of drawing it.
    spectrum[:, lo:hi] = rng.standard_normal((N_ELECTRODES, 2 * (hi - lo)), dtype=np.float32).view(np.complex64)
    spectrum[:, lo:hi] *= band[lo:hi]
    # Each complex bin contributes variance 4|H|^2/n^2 to the real signal.
    return np.fft.irfft(spectrum, n=n, axis=-1) * (n / (2.0 * np.sqrt(np.sum(band[lo:hi] ** 2))))


def electrode_noise(rng: np.random.Generator, n: int, fs: float, resp_hz: float) -> np.ndarray:
    """Noise potentials [9, n] in mV at modest, realistic levels for a resting 12-lead recording."""
    t = np.arange(n) / fs
    frequencies = np.fft.rfftfreq(n, 1.0 / fs)

    # Baseline wander: breathing moves the electrodes (chest ones most), plus slow drift of the
    # electrode half-cell potentials below 0.5 Hz; 0.02-0.12 mV per electrode.
    breathing = np.sin(2 * np.pi * resp_hz * t + rng.uniform(0, 2 * np.pi))
    drift = _band_noise(rng, 1.0 / (1.0 + (frequencies / 0.3) ** 4), n)
    noise = rng.uniform(0.02, 0.12) * (rng.uniform(0.0, 1.0, (N_ELECTRODES, 1)) * breathing + 0.6 * drift)

    # Muscle tremor: broadband 20-150 Hz (skeletal-muscle EMG as passed by the recorder), stronger
    # on the limbs, waxing and waning over a few seconds; 1-25 uV RMS per lead.
    emg = _band_noise(rng, ((frequencies >= 20.0) & (frequencies <= 150.0)).astype(float), n)
    emg_rms = np.full((N_ELECTRODES, 1), rng.uniform(0.001, 0.008))
    emg_rms[LIMB_ELECTRODES] *= 1.5
    tension = 1.0 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 2 * np.pi))
    noise += emg_rms * tension * emg

    # Mains pickup (50 Hz in Europe, where PTB-XL was recorded; 60 Hz elsewhere) that the
    # amplifier's common-mode rejection leaves unbalanced between electrodes; absent in some
    # recordings (notch-filtered), never above ~20 uV.
    mains_hz = 50.0 if rng.random() < 0.7 else 60.0
    if rng.random() < 0.7 and mains_hz < fs / 2:
        mains = np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 2 * np.pi))
        noise += rng.uniform(0.0, 0.02, (N_ELECTRODES, 1)) * mains
    return noise
