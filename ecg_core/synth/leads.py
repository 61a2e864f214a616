"""Lead geometry: the cardiac dipole and the electrode potentials seen through the 12 standard leads.

Dipole axes (right-handed, the patient's frame): x = leftward, y = inferior (toward the feet),
z = anterior. Frank's Z points backwards; it is negated here so that "anterior" reads positive.
"""

from __future__ import annotations

import numpy as np

# Dower's transform from the Frank vectorcardiogram to the 8 independent leads (Dower et al.,
# J Electrocardiol 1980), rows I, II, V1..V6, columns X, Y, -Z (anterior positive).
DOWER = np.array(
    [
        [0.632, -0.235, -0.059],  # I
        [0.235, 1.066, 0.132],  # II
        [-0.515, 0.157, 0.917],  # V1
        [0.044, 0.164, 1.387],  # V2
        [0.882, 0.098, 1.277],  # V3
        [1.213, 0.127, 0.601],  # V4
        [1.125, 0.127, 0.086],  # V5
        [0.831, 0.076, -0.230],  # V6
    ]
)

N_ELECTRODES = 9  # RA, LA, LL, V1..V6
LIMB_ELECTRODES = slice(0, 3)


def recording_leads(rng: np.random.Generator) -> np.ndarray:
    """The dipole-to-lead matrix [8, 3] (I, II, V1..V6) of one recording: Dower's, with the chest
    electrodes jittered as their placement varies between recordings (~5 degrees around the
    chest, +-10 % in gain)."""
    independent = DOWER.copy()
    angle = np.deg2rad(rng.normal(0.0, 5.0, 6))
    gain = rng.uniform(0.9, 1.1, 6)
    x, z = independent[2:, 0].copy(), independent[2:, 2].copy()
    independent[2:, 0] = gain * (x * np.cos(angle) - z * np.sin(angle))
    independent[2:, 2] = gain * (x * np.sin(angle) + z * np.cos(angle))
    independent[2:, 1] *= gain
    return independent


def _twelve(i: np.ndarray, ii: np.ndarray, chest: np.ndarray) -> np.ndarray:
    """The 12 leads in LEADS order from I, II and V1..V6. Einthoven: III = II - I; Goldberger:
    aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2."""
    return np.vstack([i, ii, ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2, chest])


def dipole_to_leads(dipole: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """A dipole [N, 3] seen through `leads` [8, 3] as the 12 leads [12, N]. Written as sums over
    the three axes rather than a matrix product: BLAS threading makes thin products slow."""
    independent = sum(leads[:, axis, None] * dipole[:, axis] for axis in range(3))
    return _twelve(independent[0], independent[1], independent[2:])


def electrodes_to_leads(potentials: np.ndarray) -> np.ndarray:
    """Electrode potentials [9, N] (RA, LA, LL, V1..V6) as the 12 leads [12, N]: I = LA - RA,
    II = LL - RA, chest leads against Wilson's central terminal (RA + LA + LL)/3. Noise made per
    electrode therefore obeys the same Einthoven/Goldberger identities as the heart signal."""
    ra, la, ll = potentials[LIMB_ELECTRODES]
    return _twelve(la - ra, ll - ra, potentials[3:] - (ra + la + ll) / 3)
