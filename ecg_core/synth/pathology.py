"""Pathologies as edits of a patient's normal beat. Each takes the beat and the record's generator
and changes only what the condition changes; composable (e.g. "lvh" then "lv_strain")."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .beat import Beat, Wave


def _unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    return v / np.linalg.norm(v)


def _widen_qrs(beat: Beat, qrs_ms: float) -> None:
    """Slower ventricular activation; repolarisation (the JT interval) keeps its length, so the
    QT grows with the QRS."""
    beat.qtc_ms += qrs_ms - beat.qrs_ms
    beat.qrs_ms = qrs_ms


def first_degree_av_block(beat: Beat, rng: np.random.Generator) -> None:
    """Slowed AV conduction: every P conducted, PR > 200 ms (here 220-320 ms)."""
    beat.pr_ms = rng.uniform(220.0, 320.0)


def flat_t_waves(beat: Beat, rng: np.random.Generator) -> None:
    """Low, flattened T waves (non-diagnostic T abnormality)."""
    beat.t_vector = beat.t_vector * rng.uniform(0.3, 0.5)


def left_bundle_branch_block(beat: Beat, rng: np.random.Generator) -> None:
    """LBBB: the septum depolarises right-to-left (no septal q in I/V5-V6, no r in V1) and the left
    ventricle slowly from the right, so QRS >= 120 ms with a broad notched R in I, aVL, V5-V6 and a
    deep QS in V1-V2. Repolarisation follows the abnormal path: ST-T discordant to the QRS."""
    _widen_qrs(beat, rng.uniform(130.0, 165.0))
    amplitude = rng.uniform(1.0, 1.5)
    late = _unit([0.6, 0.15, -0.8])
    beat.qrs = {
        "septal_right_to_left": Wave(0.2, 0.08, beat.oriented(_unit([0.9, 0.2, 0.05]) * 0.35 * amplitude)),
        "left_ventricle_early": Wave(0.4, 0.12, beat.oriented(_unit([0.8, 0.3, -0.6]) * amplitude)),
        "left_ventricle_late": Wave(0.7, 0.12, beat.oriented(late * amplitude * rng.uniform(0.95, 1.2))),
    }
    beat.st_vector = -beat.oriented(late) * rng.uniform(0.12, 0.22)
    beat.t_vector = -beat.oriented(late) * rng.uniform(0.3, 0.5)


def right_bundle_branch_block(beat: Beat, rng: np.random.Generator) -> None:
    """RBBB: septum and left ventricle as normal, then the right ventricle late and slowly, a
    rightward-anterior terminal force: QRS >= 120 ms, rsR' in V1-V2, wide slurred S in I, aVL and
    V6. T waves discordant to the terminal force (inverted in V1-V2)."""
    _widen_qrs(beat, rng.uniform(125.0, 150.0))
    left = beat.qrs
    # unopposed right-ventricular forces, comparable in size to the left ventricle's
    right = beat.oriented(_unit([-0.7, -0.1, 0.7])) * np.linalg.norm(left["lateral"].vector) * rng.uniform(0.55, 0.8)
    beat.qrs = {
        "septal": Wave(0.11, 0.055, left["septal"].vector),
        "apical": Wave(0.25, 0.07, left["apical"].vector),
        "lateral": Wave(0.38, 0.075, left["lateral"].vector),
        "right_ventricle": Wave(0.75, 0.1, right),
    }
    beat.t_vector = beat.oriented(_unit([0.75, 0.45, -0.45])) * np.linalg.norm(beat.t_vector)
    beat.st_vector = beat.oriented(_unit([0.2, 0.1, -0.6])) * rng.uniform(0.03, 0.08)


def left_ventricular_hypertrophy(beat: Beat, rng: np.random.Generator) -> None:
    """LVH by voltage: the lateral-posterior forces grow until Sokolow-Lyon S(V1) + R(V5/V6)
    exceeds 3.5 mV (calibrated when the record is rendered); QRS slightly longer."""
    _widen_qrs(beat, rng.uniform(95.0, 112.0))
    # The thick left ventricle pulls the horizontal loop posteriorly: deep S in V1-V3.
    beat.qrs["apical"].vector = beat.qrs["apical"].vector * np.array([1.0, 1.0, 0.4])
    beat.qrs["lateral"].vector = beat.qrs["lateral"].vector * np.array([1.4, 1.2, 1.8])
    beat.sokolow_lyon_mv = rng.uniform(3.8, 5.0)


def lv_strain(beat: Beat, rng: np.random.Generator) -> None:
    """LV 'strain': downsloping ST depression and asymmetric T inversion opposite the dominant
    lateral QRS (I, aVL, V5-V6), reciprocal ST elevation in V1-V2."""
    lateral = _unit(beat.qrs["lateral"].vector)
    beat.st_vector = -lateral * rng.uniform(0.12, 0.22)
    beat.t_vector = -lateral * rng.uniform(0.25, 0.45)


def inferior_mi(beat: Beat, rng: np.random.Generator) -> None:
    """Inferior MI: the dead inferior wall leaves forces pointing superiorly early in the QRS:
    pathological Q waves (>= 30 ms and >= 0.1 mV, universal MI definition) in II, III, aVF with
    smaller R there; injury current toward the inferior wall: ST elevation in II, III, aVF
    (III > II), reciprocal depression in I and aVL."""
    for name, inferior_left in (("apical", 0.35), ("lateral", 0.35), ("basal", 0.0)):
        beat.qrs[name].vector = beat.qrs[name].vector * np.array([1.0, inferior_left, 1.0])
    beat.qrs["inferior_q"] = Wave(0.25, 0.12, beat.oriented(_unit([0.1, -1.0, -0.1]) * rng.uniform(0.4, 0.65)))
    beat.st_vector = beat.oriented(_unit([-0.25, 1.0, 0.05])) * rng.uniform(0.15, 0.3)
    beat.t_vector = beat.oriented(_unit([0.2, 1.0, 0.25])) * rng.uniform(0.35, 0.55)


def anterior_mi(beat: Beat, rng: np.random.Generator) -> None:
    """Anterior MI: septal and anterior forces are lost, early forces point posteriorly: QS or
    Q waves in V1-V4; injury current toward the anterior wall: ST elevation V1-V4 with tall T."""
    del beat.qrs["septal"]
    beat.qrs["apical"].vector = beat.qrs["apical"].vector * np.array([1.0, 1.0, -0.3])
    beat.qrs["anterior_q"] = Wave(0.25, 0.11, beat.oriented(_unit([0.05, 0.0, -1.0]) * rng.uniform(0.5, 0.8)))
    beat.st_vector = beat.oriented(_unit([0.3, -0.15, 1.0])) * rng.uniform(0.15, 0.3)
    beat.t_vector = beat.oriented(_unit([0.4, 0.2, 1.0])) * rng.uniform(0.4, 0.6)


def st_depression(beat: Beat, rng: np.random.Generator) -> None:
    """Diffuse subendocardial ST depression: horizontal ST depression >= 0.1 mV in I, II, aVF and
    V4-V6, mirrored as ST elevation in aVR; T waves upright but lower. Set in the body frame, not
    the heart's: the label names the leads that show it."""
    beat.st_vector = _unit([-0.7, -0.5, -0.1]) * rng.uniform(0.15, 0.28)
    beat.t_vector = beat.t_vector * rng.uniform(0.5, 0.8)


def lateral_t_inversion(beat: Beat, rng: np.random.Generator) -> None:
    """Ischaemic T waves: symmetric T inversion in I, aVL and V4-V6 (upright in V1-V2), set in the
    body frame like st_depression."""
    beat.t_vector = _unit([-0.75, 0.35, 0.35]) * rng.uniform(0.3, 0.5)
    beat.t_symmetric = True


PATHOLOGIES: dict[str, Callable[[Beat, np.random.Generator], None]] = {
    "first_degree_av_block": first_degree_av_block,
    "flat_t_waves": flat_t_waves,
    "lbbb": left_bundle_branch_block,
    "rbbb": right_bundle_branch_block,
    "lvh": left_ventricular_hypertrophy,
    "lv_strain": lv_strain,
    "inferior_mi": inferior_mi,
    "anterior_mi": anterior_mi,
    "st_depression": st_depression,
    "lateral_t_inversion": lateral_t_inversion,
}
