"""The conditions the generator can draw: their PTB-XL SCP statements and how each is made.

Likelihoods follow PTB-XL's scp_codes: diagnostic statements carry the cardiologist's certainty
(100 = certain); form and rhythm statements always carry 0.0 there, their presence being the label.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..labels import superclasses_of

_SINUS_NORMAL_RATE = (62.0, 95.0)  # kept inside 60-100 bpm so HRV never crosses into SBRAD/STACH


@dataclass(frozen=True)
class Condition:
    name: str
    scp_codes: dict[str, float]
    description: str
    rhythm: str = "sinus"  # "sinus" or "afib"
    heart_rate_bpm: tuple[float, float] = _SINUS_NORMAL_RATE
    pathologies: tuple[str, ...] = ()  # pathology.PATHOLOGIES applied in order to a normal beat

    @property
    def superclasses(self) -> list[str]:
        return superclasses_of(self.scp_codes)


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in [
        Condition("normal", {"NORM": 100.0, "SR": 0.0}, "normal ECG in sinus rhythm"),
        Condition(
            "sinus_brady",
            {"NORM": 100.0, "SBRAD": 0.0},
            "sinus bradycardia, otherwise normal ECG",
            heart_rate_bpm=(40.0, 55.0),
        ),
        Condition(
            "sinus_tachy",
            {"NORM": 100.0, "STACH": 0.0},
            "sinus tachycardia, otherwise normal ECG",
            heart_rate_bpm=(105.0, 145.0),
        ),
        # PTB-XL almost never codes AF as NORM (5 of ~1,000 AFIB records in the metadata subset);
        # its most frequent companion is NDT (non-diagnostic T abnormalities), so AF records here
        # get flattened T waves and carry NDT, which also gives them a diagnostic superclass (STTC).
        Condition(
            "afib",
            {"AFIB": 0.0, "NDT": 100.0},
            "atrial fibrillation with non-diagnostic T-wave flattening",
            rhythm="afib",
            heart_rate_bpm=(65.0, 135.0),
            pathologies=("flat_t_waves",),
        ),
        Condition(
            "first_degree_av_block",
            {"1AVB": 100.0, "SR": 0.0},
            "sinus rhythm with first degree AV block",
            pathologies=("first_degree_av_block",),
        ),
        Condition(
            "lbbb",
            {"CLBBB": 100.0, "SR": 0.0},
            "sinus rhythm with complete left bundle branch block",
            pathologies=("lbbb",),
        ),
        Condition(
            "rbbb",
            {"CRBBB": 100.0, "SR": 0.0},
            "sinus rhythm with complete right bundle branch block",
            pathologies=("rbbb",),
        ),
        Condition(
            "lvh",
            {"LVH": 100.0, "SR": 0.0},
            "left ventricular hypertrophy by voltage criteria",
            pathologies=("lvh",),
        ),
        Condition(
            "lvh_strain",
            {"LVH": 100.0, "ISC_": 100.0, "STD_": 0.0, "INVT": 0.0, "SR": 0.0},
            "left ventricular hypertrophy with lateral strain-type ST depression and T inversion",
            pathologies=("lvh", "lv_strain"),
        ),
        Condition(
            "inferior_mi",
            {"IMI": 100.0, "QWAVE": 0.0, "STE_": 0.0, "SR": 0.0},
            "inferior myocardial infarction: Q waves and ST elevation in II, III and aVF",
            pathologies=("inferior_mi",),
        ),
        Condition(
            "anterior_mi",
            {"AMI": 100.0, "QWAVE": 0.0, "STE_": 0.0, "SR": 0.0},
            "anterior myocardial infarction: Q waves and ST elevation in V1-V4",
            pathologies=("anterior_mi",),
        ),
        Condition(
            "st_depression",
            {"NST_": 100.0, "STD_": 0.0, "SR": 0.0},
            "non-specific horizontal ST depression in the inferior and lateral leads",
            pathologies=("st_depression",),
        ),
        Condition(
            "t_inversion",
            {"ISC_": 100.0, "INVT": 0.0, "SR": 0.0},
            "ischaemic symmetric T-wave inversion in the lateral leads",
            pathologies=("lateral_t_inversion",),
        ),
        Condition(
            "afib_lbbb",
            {"AFIB": 0.0, "CLBBB": 100.0},
            "atrial fibrillation with complete left bundle branch block",
            rhythm="afib",
            heart_rate_bpm=(65.0, 130.0),
            pathologies=("lbbb",),
        ),
    ]
}
