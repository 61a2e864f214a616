"""One heartbeat as a moving cardiac dipole: P, QRS and T waves as Gaussian bumps in time, each
pointing along its own direction in space (the vectorcardiographic loop).

Units: vectors in mV (axes as in leads.py: x left, y inferior, z anterior), times in ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Wave:
    at: float  # P waves: ms after P onset; QRS waves: fraction of the QRS duration after QRS onset
    width: float  # Gaussian sd, same unit as `at`
    vector: np.ndarray  # (3,) peak dipole, mV


@dataclass
class Beat:
    pr_ms: float  # P onset to QRS onset
    qrs_ms: float
    qtc_ms: float  # Bazett-corrected QT; each beat's QT follows its preceding RR
    p: dict[str, Wave]  # empty in atrial fibrillation
    qrs: dict[str, Wave]
    t_vector: np.ndarray
    st_vector: np.ndarray  # ST-segment shift from the J point into the T wave (zero when isoelectric)
    t_symmetric: bool = False  # ischaemic T waves are symmetric; normal ones rise slowly and fall fast
    sokolow_lyon_mv: float | None = None  # LVH voltage to calibrate to; None keeps voltages normal
    frame: np.ndarray = field(default_factory=lambda: np.eye(3))  # the patient's heart orientation

    def oriented(self, vector) -> np.ndarray:
        """A template-frame vector turned into this patient's heart orientation."""
        return self.frame @ np.asarray(vector, dtype=float)

    def scale_qrs(self, factor: float) -> None:
        """Scale the ventricular free-wall forces; the small septal force keeps its size."""
        for name, wave in self.qrs.items():
            if name != "septal":
                wave.vector = wave.vector * factor


def _rotation(frontal_deg: float, horizontal_deg: float) -> np.ndarray:
    """Frontal-plane rotation (about the anterior axis; positive turns the axis rightward/inferior)
    after a horizontal-plane rotation (about the vertical axis; moves the precordial transition)."""
    a, h = np.deg2rad(frontal_deg), np.deg2rad(horizontal_deg)
    frontal = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    horizontal = np.array([[np.cos(h), 0.0, -np.sin(h)], [0.0, 1.0, 0.0], [np.sin(h), 0.0, np.cos(h)]])
    return frontal @ horizontal


def normal_beat(rng: np.random.Generator) -> Beat:
    """A healthy adult beat with this patient's own intervals, amplitudes and heart orientation.

    The QRS loop turns counter-clockwise in the horizontal plane: septal forces rightward and
    anterior (r in V1, septal q in I/V6), apical forces leftward-inferior-anterior, the bulk of the
    left ventricle leftward-posterior (deep S in V1, tall R in V5-V6), then basal forces posterior-
    superior (small s in V6); R/S transition around V3-V4. Intervals inside normal limits:
    PR 130-190 ms, QRS 80-100 ms, QTc 385-435 ms.
    """
    frame = _rotation(rng.uniform(-30.0, 25.0), rng.normal(0.0, 8.0))
    gain = rng.lognormal(0.0, 0.15)

    def vec(direction, amplitude, spread=0.12):
        v = np.asarray(direction, float) / np.linalg.norm(direction) * amplitude * gain
        return frame @ (v * rng.normal(1.0, spread, 3))

    # Right atrium first (inferior-anterior), then left atrium (leftward-posterior): a smooth
    # P of ~0.15 mV in II, biphasic in V1; P axis 30-75 degrees.
    atria = _rotation(rng.uniform(-15.0, 15.0), 0.0) * rng.uniform(0.8, 1.2)
    p = {
        "right_atrium": Wave(35.0, 16.0, atria @ np.array([0.15, 0.8, 0.45]) * 0.15),
        "left_atrium": Wave(62.0, 17.0, atria @ np.array([0.7, 0.45, -0.45]) * 0.13),
    }
    qrs = {
        "septal": Wave(0.17, 0.075, vec([-0.5, 0.15, 0.8], rng.uniform(0.15, 0.3))),
        "apical": Wave(0.38, 0.1, vec([0.55, 0.65, 0.2], rng.uniform(0.7, 1.0))),
        "lateral": Wave(0.55, 0.1, vec([0.8, 0.35, -0.65], rng.uniform(1.0, 1.4))),
        "basal": Wave(0.8, 0.085, vec([-0.3, -0.5, -0.6], rng.uniform(0.25, 0.45))),
    }
    return Beat(
        pr_ms=rng.uniform(130.0, 190.0),
        qrs_ms=rng.uniform(80.0, 100.0),
        qtc_ms=rng.uniform(385.0, 435.0),
        p=p,
        qrs=qrs,
        # T loop leftward, inferior and anterior: upright T in I, II, V2-V6; QRS-T angle < 45 deg.
        t_vector=vec([0.7, 0.55, 0.35], rng.uniform(0.3, 0.45), spread=0.08),
        st_vector=np.zeros(3),
        frame=frame,
    )
