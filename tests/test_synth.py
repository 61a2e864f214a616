"""The synthetic generator: shapes, determinism, lead physics, and each condition's defining
feature measured from the signal the way a reader of the ECG would measure it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ecg_core.labels import SCP_STATEMENTS, superclasses_of
from ecg_core.records import LEADS, validate
from ecg_core.synth import CONDITIONS, Condition, generate_signal, synthesize_records

FS = 500.0
SEEDS = range(4)
L = {name: i for i, name in enumerate(LEADS)}


# --- measurements ---------------------------------------------------------------------------


def _moving_average(x: np.ndarray, fs: float, seconds: float) -> np.ndarray:
    width = max(1, int(seconds * fs))
    return np.apply_along_axis(np.convolve, -1, x, np.ones(width) / width, mode="same")


def qrs_locations(x: np.ndarray, fs: float) -> np.ndarray:
    """QRS detector on one lead [N] or all [12, N]: slope energy of the 5-40 Hz band (squared
    derivative summed over leads, smoothed over 80 ms), one fiducial at the energy maximum of each
    region above 30 % of its robust maximum, 250 ms refractory. Beats too near the ends for a
    median beat are dropped."""
    x = np.atleast_2d(x)
    band = _moving_average(x, fs, 0.02) - _moving_average(x, fs, 0.2)
    energy = _moving_average((np.diff(band, axis=1) ** 2).sum(axis=0), fs, 0.08)
    above = np.concatenate([[False], energy > 0.3 * np.percentile(energy, 99.5), [False]])
    edges = np.flatnonzero(np.diff(above.astype(int)))
    peaks = []
    for start, end in zip(edges[::2], edges[1::2]):
        peak = start + int(np.argmax(energy[start:end]))
        if peaks and peak - peaks[-1] < 0.25 * fs:
            if energy[peak] > energy[peaks[-1]]:
                peaks[-1] = peak
            continue
        peaks.append(peak)
    return np.array([p for p in peaks if int(0.5 * fs) < p < energy.size - int(0.6 * fs)])


def median_beat(signal: np.ndarray, fs: float) -> tuple[np.ndarray, int, int]:
    """The median beat [12, T] (500 ms before to 600 ms after each QRS fiducial) with its QRS
    onset and offset: the span around the fiducial where the summed absolute slope of all leads
    (16 ms smoothed) stays above 12 % of its QRS peak."""
    before, after = int(0.5 * fs), int(0.6 * fs)
    beat = np.median([signal[:, p - before : p + after] for p in qrs_locations(signal, fs)], axis=0)
    velocity = np.abs(np.diff(_moving_average(beat, fs, 0.016), axis=1)).sum(axis=0)  # EMG smoothed out
    fast = velocity > 0.12 * velocity[before - int(0.05 * fs) : before + int(0.05 * fs)].max()
    # grow from the fiducial while the slope stays fast, bridging pauses under 10 ms (notches)
    gap = int(0.01 * fs)
    onset = offset = before
    while fast[onset - gap : onset].any():
        onset -= gap - int(np.argmax(fast[onset - gap : onset]))
    while fast[offset + 1 : offset + 1 + gap].any():
        offset += 1 + int(np.flatnonzero(fast[offset + 1 : offset + 1 + gap])[-1])
    return beat, onset, offset


def q_wave_depth(beat: np.ndarray, onset: int, fs: float) -> np.ndarray:
    """Per lead, the depth of a Q wave: a negative first deflection of the QRS (beyond 0.05 mV),
    measured until the lead turns positive or 60 ms pass; 0 where the QRS starts with an R."""
    segment = beat[:, onset : onset + int(0.06 * fs)]
    depth = np.zeros(len(segment))
    for lead, x in enumerate(segment):
        moved = np.flatnonzero(np.abs(x) > 0.05)
        if moved.size and x[moved[0]] < 0:
            positive = np.flatnonzero(x[moved[0] :] > 0)
            end = moved[0] + (positive[0] if positive.size else len(x))
            depth[lead] = -x[:end].min()
    return depth


def qrs_width_ms(signal: np.ndarray, fs: float) -> float:
    _, onset, offset = median_beat(signal, fs)
    return (offset - onset) / fs * 1000.0


def _against_baseline(signal: np.ndarray, fs: float) -> tuple[np.ndarray, int, int]:
    """The median beat with its PR segment (10-30 ms before QRS onset) as zero, onset, offset."""
    beat, onset, offset = median_beat(signal, fs)
    baseline = beat[:, onset - int(0.03 * fs) : onset - int(0.01 * fs)].mean(axis=1, keepdims=True)
    return beat - baseline, onset, offset


def st_levels(signal: np.ndarray, fs: float) -> np.ndarray:
    """ST level per lead at J + 40 ms (early enough to miss the T wave at fast rates)."""
    beat, _, offset = _against_baseline(signal, fs)
    return beat[:, offset + int(0.04 * fs)]


def t_wave_amplitudes(signal: np.ndarray, fs: float) -> np.ndarray:
    """Per lead, the larger-magnitude extreme (signed) between J + 100 ms and J + 350 ms."""
    beat, _, offset = _against_baseline(signal, fs)
    window = beat[:, offset + int(0.1 * fs) : offset + int(0.35 * fs)]
    low, high = window.min(axis=1), window.max(axis=1)
    return np.where(-low > high, low, high)


def rr_cv(signal: np.ndarray, fs: float) -> float:
    rr = np.diff(qrs_locations(signal[L["II"]], fs))
    return float(rr.std() / rr.mean())


def heart_rate(signal: np.ndarray, fs: float) -> float:
    return float(60.0 * fs / np.diff(qrs_locations(signal[L["II"]], fs)).mean())


def signal_of(condition: str, seed: int, **kw) -> np.ndarray:
    return generate_signal(condition, seed, fs=FS, **kw)[0]


# --- format, determinism, physics -----------------------------------------------------------


@pytest.mark.parametrize("fs, seconds", [(500.0, 10.0), (250.0, 10.0), (100.0, 2.5)])
def test_shape_dtype_and_meta(fs, seconds):
    signal, meta = generate_signal("normal", 0, fs=fs, seconds=seconds)
    assert signal.shape == (12, round(fs * seconds)) and signal.dtype == np.float32
    assert np.isfinite(signal).all() and 0.5 < np.abs(signal).max() < 5.0
    assert {"heart_rate_bpm", "rr_regular", "pr_ms", "qrs_ms", "qt_ms", "axis_deg", "rhythm"} <= meta.keys()
    assert meta["rhythm"] == "sinus rhythm" and meta["rr_regular"] is True


def test_same_seed_same_signal_different_seed_different():
    a, meta_a = generate_signal("lbbb", 7)
    b, meta_b = generate_signal("lbbb", 7)
    assert np.array_equal(a, b) and meta_a == meta_b
    assert not np.allclose(a, generate_signal("lbbb", 8)[0], atol=0.05)
    first = synthesize_records(6, seed=1, fs=250.0)
    again = synthesize_records(6, seed=1, fs=250.0)
    assert all(np.array_equal(x.signal, y.signal) and x.labels == y.labels for x, y in zip(first, again))


def test_records_of_one_condition_differ_in_rate_axis_and_voltage():
    metas = [generate_signal("normal", seed)[1] for seed in range(12)]
    assert np.ptp([m["heart_rate_bpm"] for m in metas]) > 10
    assert np.ptp([m["axis_deg"] for m in metas]) > 30
    assert all(-30 <= m["axis_deg"] <= 100 for m in metas)


@pytest.mark.parametrize("condition", ["normal", "afib", "lbbb"])
def test_limb_leads_obey_einthoven_and_goldberger(condition):
    s = signal_of(condition, 3).astype(np.float64)  # noise included: it is generated per electrode
    i, ii = s[L["I"]], s[L["II"]]
    np.testing.assert_allclose(s[L["III"]], ii - i, atol=1e-5)
    np.testing.assert_allclose(s[L["aVR"]], -(i + ii) / 2, atol=1e-5)
    np.testing.assert_allclose(s[L["aVL"]], i - ii / 2, atol=1e-5)
    np.testing.assert_allclose(s[L["aVF"]], ii - i / 2, atol=1e-5)


def test_noise_is_modest_and_realistic():
    clean, noisy = signal_of("normal", 5, noise=False), signal_of("normal", 5)
    noise = noisy - clean
    assert 0.005 < noise.std() < 0.12
    # mostly baseline wander (< 1 Hz), some broadband muscle noise
    spectrum = np.abs(np.fft.rfft(noise, axis=1)) ** 2
    freqs = np.fft.rfftfreq(noise.shape[1], 1 / FS)
    assert spectrum[:, freqs < 1].sum() > spectrum[:, freqs > 20].sum()


def test_normal_precordial_r_wave_progression():
    for seed in SEEDS:
        beat, onset, offset = median_beat(signal_of("normal", seed, noise=False), FS)
        qrs = beat[:, onset : offset + 1]
        r, s = qrs.max(axis=1), -qrs.min(axis=1)
        assert r[L["V1"]] < s[L["V1"]], "V1 is rS"
        assert r[L["V5"]] > s[L["V5"]] and r[L["V6"]] > s[L["V6"]], "V5-V6 are qR / Rs"
        assert r[L["V5"]] > 2 * r[L["V1"]]
        assert 0.5 < max(r[L["II"]], r[L["V5"]]) < 2.5


# --- rhythm ---------------------------------------------------------------------------------


def test_heart_rate_from_r_peaks():
    for seed in SEEDS:
        assert heart_rate(signal_of("sinus_brady", seed), FS) < 60
        assert heart_rate(signal_of("sinus_tachy", seed), FS) > 100
        assert 60 < heart_rate(signal_of("normal", seed), FS) < 100
        measured, meta = heart_rate(signal_of("sinus_tachy", seed), FS), generate_signal("sinus_tachy", seed)[1]
        assert abs(measured - meta["heart_rate_bpm"]) < 4


def test_rr_irregular_only_in_atrial_fibrillation():
    for seed in SEEDS:
        assert rr_cv(signal_of("afib", seed), FS) > 0.1
        assert rr_cv(signal_of("normal", seed), FS) < 0.08
        assert rr_cv(signal_of("sinus_brady", seed), FS) < 0.08
    meta = generate_signal("afib", 0)[1]
    assert meta["rr_regular"] is False and meta["pr_ms"] is None and meta["rhythm"] == "atrial fibrillation"


def _p_wave(condition: str, seed: int) -> tuple[float, float]:
    """Amplitude of the median P wave in lead II and its peak-to-QRS-onset time (ms)."""
    beat, onset, _ = median_beat(signal_of(condition, seed), FS)
    window = beat[L["II"], onset - int(0.35 * FS) : onset - int(0.04 * FS)]
    baseline = np.median(window)
    peak = int(np.argmax(window))
    return float(window[peak] - baseline), (len(window) - peak) / FS * 1000.0 + 40.0


def test_p_waves_absent_in_af_and_pr_long_in_first_degree_block():
    for seed in SEEDS:
        p_normal, p_to_qrs_normal = _p_wave("normal", seed)
        p_block, p_to_qrs_block = _p_wave("first_degree_av_block", seed)
        assert _p_wave("afib", seed)[0] < 0.1 < min(p_normal, p_block)
        # the P peak sits ~50 ms after P onset: PR > 200 ms puts it > 150 ms before the QRS,
        # PR <= 200 ms leaves it < 150 ms (wider margin: the measured QRS onset is a little late)
        assert p_to_qrs_block > 170 > p_to_qrs_normal
        assert generate_signal("first_degree_av_block", seed)[1]["pr_ms"] > 200
        assert 120 <= generate_signal("normal", seed)[1]["pr_ms"] <= 200


# --- morphology -----------------------------------------------------------------------------


def test_bundle_branch_blocks_widen_the_qrs():
    for seed in SEEDS:
        assert qrs_width_ms(signal_of("normal", seed), FS) < 115
        for block in ("lbbb", "rbbb", "afib_lbbb"):
            assert qrs_width_ms(signal_of(block, seed), FS) >= 120, block
            assert generate_signal(block, seed)[1]["qrs_ms"] >= 120


def test_lbbb_qs_in_v1_broad_r_and_discordant_st_t_laterally():
    for seed in SEEDS:
        beat, onset, _ = median_beat(signal_of("lbbb", seed), FS)
        early = beat[:, onset : onset + int(0.08 * FS)]
        assert early[L["V1"]].max() < 0.15 and early[L["V1"]].min() < -0.5, "QS (or tiny r) in V1"
        assert early[L["V6"], : int(0.02 * FS)].min() > -0.05, "no septal q in V6"
        assert early[L["V6"]].max() > 0.5, "broad R in V6"
        st = st_levels(signal_of("lbbb", seed), FS)
        assert st[L["V1"]] > 0.05 and st[L["V6"]] < 0, "ST discordant to the QRS"


def test_rbbb_terminal_r_prime_in_v1_and_wide_s_in_i_and_v6():
    for seed in SEEDS:
        beat, onset, offset = median_beat(signal_of("rbbb", seed), FS)
        late = beat[:, offset - int(0.05 * FS) : offset + 1]  # last 50 ms of the QRS
        assert late[L["V1"]].max() > 0.3, "R' in V1"
        assert late[L["I"]].min() < -0.05 and late[L["V6"]].min() < -0.1, "terminal S in I and V6"


def test_lvh_meets_sokolow_lyon():
    def sokolow(condition, seed):
        beat, onset, offset = median_beat(signal_of(condition, seed), FS)
        qrs = beat[:, onset : offset + 1]
        return -qrs[L["V1"]].min() + max(qrs[L["V5"]].max(), qrs[L["V6"]].max())

    for seed in SEEDS:
        assert sokolow("lvh", seed) > 3.5 and sokolow("lvh_strain", seed) > 3.5
        assert sokolow("normal", seed) < 3.5
        st = st_levels(signal_of("lvh_strain", seed), FS)
        assert min(st[L["V5"]], st[L["V6"]]) < -0.05, "strain: lateral ST depression"


def test_inferior_mi_q_waves_and_st_elevation_with_reciprocal_depression():
    for seed in SEEDS:
        for condition, is_mi in (("inferior_mi", True), ("normal", False)):
            signal = signal_of(condition, seed)
            beat, onset, _ = median_beat(signal, FS)
            q_depth = q_wave_depth(beat, onset, FS)[[L["II"], L["III"], L["aVF"]]]
            st = st_levels(signal, FS)
            if is_mi:
                assert (q_depth > 0.2).all(), "pathological Q in II, III and aVF"
                assert (st[[L["II"], L["III"], L["aVF"]]] > 0.1).all(), "inferior ST elevation"
                assert st[L["aVL"]] < -0.05, "reciprocal ST depression in aVL"
            else:
                # an isolated Q in III is a normal variant; II and aVF must have none
                assert (q_depth[[0, 2]] < 0.15).all() and (st[[L["II"], L["III"], L["aVF"]]] < 0.1).all()


def test_anterior_mi_qs_and_st_elevation_v1_to_v4():
    for seed in SEEDS:
        signal = signal_of("anterior_mi", seed)
        beat, onset, _ = median_beat(signal, FS)
        assert (q_wave_depth(beat, onset, FS)[L["V1"] : L["V3"] + 1] > 0.2).all(), "QS / Q in V1-V3"
        st = st_levels(signal, FS)
        assert (st[[L["V2"], L["V3"]]] > 0.15).all() and st[L["V1"] : L["V4"] + 1].mean() > 0.12


def test_st_depression_and_t_inversion_in_lateral_leads():
    for seed in SEEDS:
        assert min(st_levels(signal_of("st_depression", seed), FS)[[L["V5"], L["V6"]]]) < -0.08
        inverted = t_wave_amplitudes(signal_of("t_inversion", seed), FS)
        assert (inverted[[L["I"], L["aVL"], L["V5"], L["V6"]]] < -0.1).all(), "lateral T inversion"
        assert inverted[L["V2"]] > 0, "upright T in V2"
        assert (t_wave_amplitudes(signal_of("normal", seed), FS)[[L["II"], L["V5"], L["V6"]]] > 0.05).all()


# --- conditions and records -----------------------------------------------------------------


def test_conditions_map_to_ptbxl_codes_and_superclasses():
    expected = {
        "normal": ["NORM"], "sinus_brady": ["NORM"], "sinus_tachy": ["NORM"], "afib": ["STTC"],
        "first_degree_av_block": ["CD"], "lbbb": ["CD"], "rbbb": ["CD"], "lvh": ["HYP"],
        "lvh_strain": ["STTC", "HYP"], "inferior_mi": ["MI"], "anterior_mi": ["MI"],
        "st_depression": ["STTC"], "t_inversion": ["STTC"], "afib_lbbb": ["CD"],
    }  # fmt: skip
    assert {name: c.superclasses for name, c in CONDITIONS.items()} == expected
    for name, condition in CONDITIONS.items():
        assert isinstance(condition, Condition) and condition.name == name and condition.description
        assert all(code in SCP_STATEMENTS and 0.0 <= p <= 100.0 for code, p in condition.scp_codes.items())
        rhythms = [c for c in condition.scp_codes if SCP_STATEMENTS[c].kind == "rhythm"]
        assert len(rhythms) == 1, f"{name}: exactly one rhythm statement"
    assert "AFIB" in CONDITIONS["afib"].scp_codes and "SBRAD" in CONDITIONS["sinus_brady"].scp_codes


def test_synthesize_records_are_valid_balanced_and_labelled():
    records = synthesize_records(31, seed=2, fs=250.0, records_per_patient=3)
    assert [r.record_id for r in records] == [f"synth-{i:06d}" for i in range(31)]
    assert [r.patient_id for r in records] == [f"sp-{i // 3:06d}" for i in range(31)]
    by_condition = Counter(next(n for n, c in CONDITIONS.items() if c.scp_codes == r.labels) for r in records)
    assert set(by_condition) == set(CONDITIONS) and max(by_condition.values()) - min(by_condition.values()) <= 1
    for r in records:
        assert validate(r) is r and r.dataset == "synthetic" and r.fs == 250.0 and r.signal.shape == (12, 2500)
        assert r.superclasses == superclasses_of(r.labels) and r.report == "" and r.split is None
        assert 18 <= r.age <= 90 and r.sex in ("M", "F")
    patients = {}
    for r in records:
        assert patients.setdefault(r.patient_id, (r.age, r.sex)) == (r.age, r.sex)


def test_synthesize_records_subset_and_unknown_condition():
    records = synthesize_records(4, seed=0, conditions=["lbbb", "rbbb"], fs=250.0)
    assert Counter(tuple(r.labels) for r in records) == {("CLBBB", "SR"): 2, ("CRBBB", "SR"): 2}
    with pytest.raises(ValueError):
        synthesize_records(2, conditions=["no_such_condition"])
    with pytest.raises(KeyError):
        generate_signal("no_such_condition", 0)
