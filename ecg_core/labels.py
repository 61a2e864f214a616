"""Label vocabularies: PTB-XL SCP statements and their diagnostic superclasses."""

from __future__ import annotations

from dataclasses import dataclass

# The 5 PTB-XL diagnostic superclasses, in the order the benchmark (and ECGBench) lists them.
SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")

SUPERCLASS_NAMES = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}

# PTB-XL's diagnostic subclasses, the label set of the subclass questions.
SUBCLASSES = (
    "NORM",
    "IMI",
    "AMI",
    "LMI",
    "PMI",
    "ISCA",
    "ISCI",
    "ISC_",
    "STTC",
    "NST_",
    "CLBBB",
    "CRBBB",
    "IRBBB",
    "ILBBB",
    "_AVB",
    "IVCD",
    "LAFB/LPFB",
    "WPW",
    "LVH",
    "RVH",
    "LAO/LAE",
    "RAO/RAE",
    "SEHYP",
)
# The CODE-15 and CPSC-2018 classes -> the SCP codes each stands for (any record with SCP statements has them).
CODE15 = {"1dAVb": {"1AVB"}, "RBBB": {"CRBBB"}, "LBBB": {"CLBBB"}, "SB": {"SBRAD"}, "ST": {"STACH"}, "AF": {"AFIB"}}
CPSC = {
    "Normal": {"NORM"},
    "AF": {"AFIB"},
    "I-AVB": {"1AVB"},
    "LBBB": {"CLBBB"},
    "RBBB": {"CRBBB"},
    "PAC": {"PAC"},
    "PVC": {"PVC"},
    "STD": {"STD_"},
    "STE": {"STE_"},
}


@dataclass(frozen=True)
class SCPStatement:
    code: str
    description: str  # English description as in PTB-XL scp_statements.csv
    kind: str  # "diagnostic", "form" or "rhythm"
    superclass: str | None  # diagnostic_class in scp_statements.csv; None for form/rhythm statements


# The SCP statements the pipeline emits itself (synthetic source, template reports), copied from
# PTB-XL's scp_statements.csv. The ingest readers bring the full 71-statement table.
SCP_STATEMENTS: dict[str, SCPStatement] = {
    s.code: s
    for s in [
        SCPStatement("NORM", "normal ECG", "diagnostic", "NORM"),
        SCPStatement("IMI", "inferior myocardial infarction", "diagnostic", "MI"),
        SCPStatement("AMI", "anterior myocardial infarction", "diagnostic", "MI"),
        SCPStatement("ASMI", "anteroseptal myocardial infarction", "diagnostic", "MI"),
        SCPStatement("ISC_", "non-specific ischemic", "diagnostic", "STTC"),
        SCPStatement("NST_", "non-specific ST changes", "diagnostic", "STTC"),
        SCPStatement("NDT", "non-diagnostic T abnormalities", "diagnostic", "STTC"),
        SCPStatement("1AVB", "first degree AV block", "diagnostic", "CD"),
        SCPStatement("CLBBB", "complete left bundle branch block", "diagnostic", "CD"),
        SCPStatement("CRBBB", "complete right bundle branch block", "diagnostic", "CD"),
        SCPStatement("LVH", "left ventricular hypertrophy", "diagnostic", "HYP"),
        SCPStatement("STD_", "non-specific ST depression", "form", None),
        SCPStatement("INVT", "inverted T-waves", "form", None),
        SCPStatement("SR", "sinus rhythm", "rhythm", None),
        SCPStatement("SBRAD", "sinus bradycardia", "rhythm", None),
        SCPStatement("STACH", "sinus tachycardia", "rhythm", None),
        SCPStatement("AFIB", "atrial fibrillation", "rhythm", None),
    ]
}


def superclasses_of(scp_codes: dict[str, float], min_likelihood: float = 0.0) -> list[str]:
    """Superclasses implied by SCP codes, in SUPERCLASSES order.

    As in the PTB-XL benchmark, a diagnostic statement counts whatever its likelihood unless a threshold
    is given; codes outside the known vocabulary are ignored here (ingest reports them).
    """
    present = {
        SCP_STATEMENTS[c].superclass
        for c, likelihood in scp_codes.items()
        if c in SCP_STATEMENTS and SCP_STATEMENTS[c].superclass and likelihood >= min_likelihood
    }
    return [s for s in SUPERCLASSES if s in present]


# The rest of the 71 PTB-XL SCP statements (from PTB-XL scp_statements.csv).
for _s in [
    SCPStatement("DIG", "digitalis-effect", "diagnostic", "STTC"),
    SCPStatement("LNGQT", "long QT-interval", "diagnostic", "STTC"),
    SCPStatement("LAFB", "left anterior fascicular block", "diagnostic", "CD"),
    SCPStatement("IRBBB", "incomplete right bundle branch block", "diagnostic", "CD"),
    SCPStatement("IVCD", "non-specific intraventricular conduction disturbance (block)", "diagnostic", "CD"),
    SCPStatement("ISCAL", "ischemic in anterolateral leads", "diagnostic", "STTC"),
    SCPStatement("ILMI", "inferolateral myocardial infarction", "diagnostic", "MI"),
    SCPStatement("LAO/LAE", "left atrial overload/enlargement", "diagnostic", "HYP"),
    SCPStatement("ALMI", "anterolateral myocardial infarction", "diagnostic", "MI"),
    SCPStatement("ISCIN", "ischemic in inferior leads", "diagnostic", "STTC"),
    SCPStatement("INJAS", "subendocardial injury in anteroseptal leads", "diagnostic", "MI"),
    SCPStatement("LMI", "lateral myocardial infarction", "diagnostic", "MI"),
    SCPStatement("ISCIL", "ischemic in inferolateral leads", "diagnostic", "STTC"),
    SCPStatement("LPFB", "left posterior fascicular block", "diagnostic", "CD"),
    SCPStatement("ISCAS", "ischemic in anteroseptal leads", "diagnostic", "STTC"),
    SCPStatement("INJAL", "subendocardial injury in anterolateral leads", "diagnostic", "MI"),
    SCPStatement("ISCLA", "ischemic in lateral leads", "diagnostic", "STTC"),
    SCPStatement("RVH", "right ventricular hypertrophy", "diagnostic", "HYP"),
    SCPStatement("ANEUR", "ST-T changes compatible with ventricular aneurysm", "diagnostic", "STTC"),
    SCPStatement("RAO/RAE", "right atrial overload/enlargement", "diagnostic", "HYP"),
    SCPStatement("EL", "electrolytic disturbance or drug (former EDIS)", "diagnostic", "STTC"),
    SCPStatement("WPW", "Wolf-Parkinson-White syndrome", "diagnostic", "CD"),
    SCPStatement("ILBBB", "incomplete left bundle branch block", "diagnostic", "CD"),
    SCPStatement("IPLMI", "inferoposterolateral myocardial infarction", "diagnostic", "MI"),
    SCPStatement("ISCAN", "ischemic in anterior leads", "diagnostic", "STTC"),
    SCPStatement("IPMI", "inferoposterior myocardial infarction", "diagnostic", "MI"),
    SCPStatement("SEHYP", "septal hypertrophy", "diagnostic", "HYP"),
    SCPStatement("INJIN", "subendocardial injury in inferior leads", "diagnostic", "MI"),
    SCPStatement("INJLA", "subendocardial injury in lateral leads", "diagnostic", "MI"),
    SCPStatement("PMI", "posterior myocardial infarction", "diagnostic", "MI"),
    SCPStatement("3AVB", "third degree AV block", "diagnostic", "CD"),
    SCPStatement("INJIL", "subendocardial injury in inferolateral leads", "diagnostic", "MI"),
    SCPStatement("2AVB", "second degree AV block", "diagnostic", "CD"),
    SCPStatement("ABQRS", "abnormal QRS", "form", None),
    SCPStatement("PVC", "ventricular premature complex", "form", None),
    SCPStatement("VCLVH", "voltage criteria (QRS) for left ventricular hypertrophy", "form", None),
    SCPStatement("QWAVE", "Q waves present", "form", None),
    SCPStatement("LOWT", "low amplitude T-waves", "form", None),
    SCPStatement("NT_", "non-specific T-wave changes", "form", None),
    SCPStatement("PAC", "atrial premature complex", "form", None),
    SCPStatement("LPR", "prolonged PR interval", "form", None),
    SCPStatement("LVOLT", "low QRS voltages in the frontal and horizontal leads", "form", None),
    SCPStatement("HVOLT", "high QRS voltage", "form", None),
    SCPStatement("TAB_", "T-wave abnormality", "form", None),
    SCPStatement("STE_", "non-specific ST elevation", "form", None),
    SCPStatement("PRC(S)", "premature complex(es)", "form", None),
    SCPStatement("SARRH", "sinus arrhythmia", "rhythm", None),
    SCPStatement("PACE", "normal functioning artificial pacemaker", "rhythm", None),
    SCPStatement("SVARR", "supraventricular arrhythmia", "rhythm", None),
    SCPStatement("BIGU", "bigeminal pattern (unknown origin, SV or Ventricular)", "rhythm", None),
    SCPStatement("AFLT", "atrial flutter", "rhythm", None),
    SCPStatement("SVTAC", "supraventricular tachycardia", "rhythm", None),
    SCPStatement("PSVT", "paroxysmal supraventricular tachycardia", "rhythm", None),
    SCPStatement("TRIGU", "trigeminal pattern (unknown origin, SV or Ventricular)", "rhythm", None),
]:
    SCP_STATEMENTS.setdefault(_s.code, _s)
del _s

# --- SNOMED-CT (PhysioNet/CinC 2020/2021 `#Dx` header codes) -------------------------------------------
# code -> (abbreviation, name), copied from the official CinC 2021 mapping (dx_mapping_scored/unscored.csv).
SNOMED: dict[str, tuple[str, str]] = {
    "164889003": ("AF", "atrial fibrillation"),
    "164890007": ("AFL", "atrial flutter"),
    "6374002": ("BBB", "bundle branch block"),
    "426627000": ("Brady", "bradycardia"),
    "733534002": ("CLBBB", "complete left bundle branch block"),
    "713427006": ("CRBBB", "complete right bundle branch block"),
    "270492004": ("IAVB", "1st degree av block"),
    "713426002": ("IRBBB", "incomplete right bundle branch block"),
    "39732003": ("LAD", "left axis deviation"),
    "445118002": ("LAnFB", "left anterior fascicular block"),
    "164909002": ("LBBB", "left bundle branch block"),
    "251146004": ("LQRSV", "low qrs voltages"),
    "698252002": ("NSIVCB", "nonspecific intraventricular conduction disorder"),
    "426783006": ("NSR", "sinus rhythm"),
    "284470004": ("PAC", "premature atrial contraction"),
    "10370003": ("PR", "pacing rhythm"),
    "365413008": ("PRWP", "poor R wave Progression"),
    "427172004": ("PVC", "premature ventricular contractions"),
    "164947007": ("LPR", "prolonged pr interval"),
    "111975006": ("LQT", "prolonged qt interval"),
    "164917005": ("QAb", "qwave abnormal"),
    "47665007": ("RAD", "right axis deviation"),
    "59118001": ("RBBB", "right bundle branch block"),
    "427393009": ("SA", "sinus arrhythmia"),
    "426177001": ("SB", "sinus bradycardia"),
    "427084000": ("STach", "sinus tachycardia"),
    "63593006": ("SVPB", "supraventricular premature beats"),
    "164934002": ("TAb", "t wave abnormal"),
    "59931005": ("TInv", "t wave inversion"),
    "17338001": ("VPB", "ventricular premature beats"),
    "233892002": ("AAR", "accelerated atrial escape rhythm"),
    "164951009": ("abQRS", "abnormal QRS"),
    "251187003": ("AED", "atrial escape beat"),
    "61277005": ("AIVR", "accelerated idioventricular rhythm"),
    "426664006": ("AJR", "accelerated junctional rhythm"),
    "251139008": ("ALR", "suspect arm ecg leads reversed"),
    "57054005": ("AMI", "acute myocardial infarction"),
    "413444003": ("AMIs", "acute myocardial ischemia"),
    "426434006": ("AnMIs", "anterior ischemia"),
    "54329005": ("AnMI", "anterior myocardial infarction"),
    "251173003": ("AB", "atrial bigeminy"),
    "195080001": ("AFAFL", "atrial fibrillation and flutter"),
    "195126007": ("AH", "atrial hypertrophy"),
    "251268003": ("AP", "atrial pacing pattern"),
    "106068003": ("ARH", "atrial rhythm"),
    "713422000": ("ATach", "atrial tachycardia"),
    "233917008": ("AVB", "av block"),
    "50799005": ("AVD", "atrioventricular dissociation"),
    "29320008": ("AVJR", "atrioventricular junctional rhythm"),
    "251166008": ("AVNRT", "atrioventricular node reentrant tachycardia"),
    "233897008": ("AVRT", "atrioventricular reentrant tachycardia"),
    "251170000": ("BPAC", "blocked premature atrial contraction"),
    "418818005": ("BRU", "brugada"),
    "74615001": ("BTS", "brady tachy syndrome"),
    "426749004": ("CAF", "chronic atrial fibrillation"),
    "251199005": ("CCR", "countercolockwise rotation"),
    "61721007": ("CVCL/CCVCL", "clockwise or counterclockwise vectorcardiographic loop"),
    "698247007": ("CD", "cardiac dysrhythmia"),
    "27885002": ("CHB", "complete heart block"),
    "204384007": ("CIAHB", "congenital incomplete atrioventricular heart block"),
    "53741008": ("CHD", "coronary heart disease"),
    "413844008": ("CMI", "chronic myocardial ischemia"),
    "251198002": ("CR", "clockwise rotation"),
    "82226007": ("DIB", "diffuse intraventricular block"),
    "428417006": ("ERe", "early repolarization"),
    "13640000": ("FB", "fusion beats"),
    "164942001": ("FQRS", "fqrs wave"),
    "84114007": ("HF", "heart failure"),
    "368009": ("HVD", "heart valve disorder"),
    "251259000": ("HTV", "high t-voltage"),
    "251200008": ("ICA", "indeterminate cardiac axis"),
    "195042002": ("IIAVB", "2nd degree av block"),
    "426183003": ("IIAVBII", "mobitz type II atrioventricular block"),
    "425419005": ("IIs", "inferior ischaemia"),
    "251120003": ("ILBBB", "incomplete left bundle branch block"),
    "704997005": ("ISTD", "inferior ST segment depression"),
    "49260003": ("IR", "idioventricular rhythm"),
    "426995002": ("JE", "junctional escape"),
    "251164006": ("JPC", "junctional premature complex"),
    "426648003": ("JTach", "junctional tachycardia"),
    "253352002": ("LAA", "left atrial abnormality"),
    "67741000119109": ("LAE", "left atrial enlargement"),
    "446813000": ("LAH", "left atrial hypertrophy"),
    "425623009": ("LIs", "lateral ischaemia"),
    "445211001": ("LPFB", "left posterior fascicular block"),
    "164873001": ("LVH", "left ventricular hypertrophy"),
    "55827005": ("LVHV", "left ventricular high voltage"),
    "370365005": ("LVS", "left ventricular strain"),
    "164865005": ("MI", "myocardial infarction"),
    "164861001": ("MIs", "myocardial ischemia"),
    "54016002": ("MoI", "mobitz type i wenckebach atrioventricular block"),
    "428750005": ("NSSTTA", "nonspecific st t abnormality"),
    "164867002": ("OldMI", "old myocardial infarction"),
    "282825002": ("PAF", "paroxysmal atrial fibrillation"),
    "251205003": ("PPW", "prolonged P wave"),
    "67198005": ("PSVT", "paroxysmal supraventricular tachycardia"),
    "425856008": ("PVT", "paroxysmal ventricular tachycardia"),
    "164912004": ("PWC", "p wave change"),
    "253339007": ("RAAb", "right atrial abnormality"),
    "164921003": ("RAb", "r wave abnormal"),
    "446358003": ("RAH", "right atrial hypertrophy"),
    "67751000119106": ("RAHV", "right atrial high voltage"),
    "314208002": ("RAF", "rapid atrial fibrillation"),
    "89792004": ("RVH", "right ventricular hypertrophy"),
    "17366009": ("SAAWR", "sinus atrium to atrial wandering rhythm"),
    "65778007": ("SAB", "sinoatrial block"),
    "5609005": ("SARR", "sinus arrest"),
    "60423000": ("SND", "sinus node dysfunction"),
    "49578007": ("SPRI", "shortened pr interval"),
    "77867006": ("SQT", "decreased qt interval"),
    "55930002": ("STC", "s t changes"),
    "429622005": ("STD", "st depression"),
    "164931005": ("STE", "st elevation"),
    "164930006": ("STIAb", "st interval abnormal"),
    "251168009": ("SVB", "supraventricular bigeminy"),
    "426761007": ("SVT", "supraventricular tachycardia"),
    "266257000": ("TIA", "transient ischemic attack"),
    "251223006": ("TPW", "tall p wave"),
    "164937009": ("UAb", "u wave abnormal"),
    "11157007": ("VBig", "ventricular bigeminy"),
    "164884008": ("VEB", "ventricular ectopics"),
    "75532003": ("VEsB", "ventricular escape beat"),
    "81898007": ("VEsR", "ventricular escape rhythm"),
    "164896001": ("VF", "ventricular fibrillation"),
    "111288001": ("VFL", "ventricular flutter"),
    "266249003": ("VH", "ventricular hypertrophy"),
    "195060002": ("VPEx", "ventricular pre excitation"),
    "251266004": ("VPP", "ventricular pacing pattern"),
    "251182009": ("VPVC", "paired ventricular premature complexes"),
    "164895002": ("VTach", "ventricular tachycardia"),
    "251180001": ("VTrig", "ventricular trigeminy"),
    "195101003": ("WAP", "wandering atrial pacemaker"),
    "74390002": ("WPW", "wolff parkinson white pattern"),
}

# SNOMED-CT code -> PTB-XL SCP code, where an SCP statement means the same thing (the CinC "equivalent"
# classes collapse: RBBB/CRBBB -> CRBBB, LBBB/CLBBB -> CLBBB, PAC/SVPB -> PAC, PVC/VPB -> PVC). Checked
# against the CinC 2021 PTB-XL headers: NT_ was exported as 164934002 (TAb) and NST_ as 55930002 (STC),
# so those map back there (TAb is *not* NDT: HR06000 is NORM + NT_, no STTC). Codes without an SCP
# counterpart (generic/old/acute MI 164865005/164867002/57054005, LAD/RAD, Brady, fQRS ...) stay unmapped.
SNOMED_TO_SCP: dict[str, str] = {
    "426783006": "SR",  # NSR
    "164889003": "AFIB",  # AF
    "164890007": "AFLT",  # AFL
    "427084000": "STACH",  # STach
    "426177001": "SBRAD",  # SB
    "427393009": "SARRH",  # SA
    "426761007": "SVTAC",  # SVT
    "67198005": "PSVT",  # PSVT
    "10370003": "PACE",  # pacing rhythm
    "251268003": "PACE",  # atrial pacing pattern
    "251266004": "PACE",  # ventricular pacing pattern
    "251173003": "BIGU",  # atrial bigeminy
    "11157007": "BIGU",  # ventricular bigeminy
    "251168009": "BIGU",  # supraventricular bigeminy
    "251180001": "TRIGU",  # ventricular trigeminy
    "270492004": "1AVB",  # IAVB
    "195042002": "2AVB",  # IIAVB
    "426183003": "2AVB",  # Mobitz II
    "54016002": "2AVB",  # Mobitz I (Wenckebach)
    "27885002": "3AVB",  # complete heart block
    "164909002": "CLBBB",  # LBBB
    "733534002": "CLBBB",  # CLBBB
    "59118001": "CRBBB",  # RBBB
    "713427006": "CRBBB",  # CRBBB
    "713426002": "IRBBB",  # IRBBB
    "251120003": "ILBBB",  # ILBBB
    "445118002": "LAFB",  # LAnFB
    "445211001": "LPFB",  # LPFB
    "698252002": "IVCD",  # NSIVCB
    "74390002": "WPW",  # WPW
    "164873001": "LVH",  # LVH
    "55827005": "VCLVH",  # LV high voltage
    "89792004": "RVH",  # RVH
    "67741000119109": "LAO/LAE",  # LAE
    "253352002": "LAO/LAE",  # LAA
    "446813000": "LAO/LAE",  # LAH
    "253339007": "RAO/RAE",  # RAAb
    "446358003": "RAO/RAE",  # RAH
    "67751000119106": "RAO/RAE",  # RA high voltage
    "54329005": "AMI",  # anterior MI
    "164861001": "ISC_",  # myocardial ischemia
    "413444003": "ISC_",  # acute myocardial ischemia
    "413844008": "ISC_",  # chronic myocardial ischemia
    "426434006": "ISCAN",  # anterior ischemia
    "425419005": "ISCIN",  # inferior ischaemia
    "425623009": "ISCLA",  # lateral ischaemia
    "55930002": "NST_",  # ST changes
    "428750005": "NST_",  # nonspecific ST-T abnormality
    "429622005": "STD_",  # ST depression
    "164931005": "STE_",  # ST elevation
    "164934002": "NT_",  # T wave abnormal
    "59931005": "INVT",  # T wave inversion
    "111975006": "LNGQT",  # prolonged QT
    "164947007": "LPR",  # prolonged PR
    "251146004": "LVOLT",  # low QRS voltages
    "164917005": "QWAVE",  # Q wave abnormal
    "164951009": "ABQRS",  # abnormal QRS
    "284470004": "PAC",  # PAC
    "63593006": "PAC",  # SVPB
    "427172004": "PVC",  # PVC
    "17338001": "PVC",  # VPB
    "164884008": "PVC",  # ventricular ectopics
}
