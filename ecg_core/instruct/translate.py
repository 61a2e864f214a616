"""German -> English translation of PTB-XL ECG reports by a phrase table.

Most PTB-XL reports are the German statements of the recording machine's SCP vocabulary, run together
without punctuation ("sinusrhythmus linkstyp qrs(t) abnorm inferiorer infarkt alter unbest."); some are
free text by a physician in the same terms and their abbreviations. The translation is deterministic:
the normalised report is scanned left to right, at each word the first phrase of the table that matches
is taken (the table lists longer, more specific phrases first), and each phrase opens a new English
sentence, continues the current one (qualifiers, leads, numbers) or qualifies the next phrase
("verdacht auf" -> "suspected ..."). Words the table does not know are kept as written;
`untranslated_words` lists them.
"""

from __future__ import annotations

import re
from collections import defaultdict

# Umlauts come as "ä", as a capital "Ä" inside lower-case words, as "ae", or as "#" (a lost character:
# "f#r", "#bergang"); all become the "ae/oe/ue" spelling the phrase table is written in.
_SPELLING = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("#", "ue"))
# Text that states no finding is dropped before translation:
# - "Edit: ..." to the end: an annotator's coding note (label codes, Sokolow index), not the report;
# - "4.46" (also "4.4", "4.40"): the version of the interpretation program;
# - "unbestätigter bericht" / "unconfirmed report": the report was not confirmed by a physician. It is
#   also where the 255-character field limit most often cuts a report, so a cut-off beginning goes too.
_EDIT = re.compile(r"\bedit:.*", re.IGNORECASE | re.DOTALL)
_NOT_CONFIRMED = ("unbestaetigter bericht", "unconfirmed report")
_FIELD_LIMIT = 255


def _cut_off(phrase: str) -> str:
    """A pattern for any non-empty beginning of the phrase, longest first."""
    return "|".join(re.escape(phrase[:n]) for n in range(len(phrase), 0, -1))


_CUT_IN_CLOSING = re.compile(r" (?:%s)$" % _cut_off("4.46 unbestaetigter bericht"))
_BOILERPLATE = re.compile(
    r"\b4\.4\d?(?:\s+(?:%s)\s*$|(?=\s|$))|\b(?:%s)\b"
    % ("|".join(_cut_off(p) for p in _NOT_CONFIRMED), "|".join(_NOT_CONFIRMED)),
    re.IGNORECASE,
)

# Locations of infarction, injury, ischaemia and leads: German stem (before the adjective ending) -> English.
LOCATIONS: dict[str, str] = {
    "anteroseptal": "anteroseptal",
    "anterolateral": "anterolateral",
    "inferolateral": "inferolateral",
    "inferoposterior": "inferoposterior",
    "infero-posterior": "inferoposterior",
    "posterolateral": "posterolateral",
    "hochlateral": "high lateral",
    "anterior": "anterior",
    "inferior": "inferior",
    "posterior": "posterior",
    "lateral": "lateral",
    "septal": "septal",
}
_INFARCT = "myocardial infarction"

# (German pattern, English), most specific first: at each word the first pattern that matches is taken.
# Patterns are regular expressions over the normalised report that begin with a literal character;
# "{loc}" stands for every LOCATIONS stem and a space matches any whitespace or none. English starting
# with "+" continues the current sentence, English ending with "+" is continued by the next phrase, any
# other opens a new sentence.
PHRASES: tuple[tuple[str, str], ...] = (
    # rhythm
    (r"vorhof:hf", "atrial rate"),
    (r"tachykardes vorhofflimmern/-?flattern", "atrial fibrillation/flutter with rapid ventricular response"),
    (r"normokardes vorhofflimmern/-?flattern", "atrial fibrillation/flutter with normal ventricular rate"),
    (r"tachykardes vorhofflimmern", "atrial fibrillation with rapid ventricular response"),
    (r"normokardes vorhofflimmern", "atrial fibrillation with normal ventricular rate"),
    (r"bradykardes vorhofflimmern", "atrial fibrillation with slow ventricular response"),
    (
        r"normokarde?s?-? ?(?:bis )?-? ?tachykardes vorhofflimmern",
        "atrial fibrillation with normal to rapid ventricular response",
    ),
    (r"vorhofflimmern/-?flattern", "atrial fibrillation/flutter"),
    (r"vorhofflimmern/-?normokard", "atrial fibrillation/flutter with normal ventricular rate"),
    (r"vorhofflimmern,? tachykard", "atrial fibrillation with rapid ventricular response"),
    (r"vorhofflimmern,? normokard", "atrial fibrillation with normal ventricular rate"),
    (r"vorhofflimmern,? bradykard", "atrial fibrillation with slow ventricular response"),
    (r"vorhoff?l?limmern", "atrial fibrillation"),
    (r"vhf", "atrial fibrillation"),
    (r"vorhofflattern", "atrial flutter"),
    (r"vorhofs?tachykardie", "atrial tachycardia"),
    (r"sinus-? ?tachykardie", "sinus tachycardia"),
    (r"sinus-? ?bradykardie", "sinus bradycardia"),
    (r"sinus ?arrhythmie", "sinus arrhythmia"),
    (r"sinus ?rhythmus", "sinus rhythm"),
    (r"sr", "sinus rhythm"),
    (r"supraventrikulaere arrhythmie", "supraventricular arrhythmia"),
    (r"supraventrikulaere tachykardie", "supraventricular tachycardia"),
    (r"supraventrikulaere tachyarrhythmie", "supraventricular tachyarrhythmia"),
    (r"kammerbradykardie", "ventricular bradycardia"),
    (r"ventrikulaere tachykardie", "ventricular tachycardia"),
    (r"beschleunigter av-rhythmus", "accelerated AV junctional rhythm"),
    (r"av-knotenrhythmus", "AV nodal rhythm"),
    (r"av-rhythmus", "AV junctional rhythm"),
    (r"av-tachykardie", "AV junctional tachycardia"),
    (r"av-bradykardie", "AV junctional bradycardia"),
    (r"av-dissoziation", "AV dissociation"),
    (r"lgl", "LGL syndrome"),
    (r"regelmaessiger rhythmus,? keine p-welle erkannt", "regular rhythm, no P waves detected"),
    (r"unregelmaessiger rhythmus,? keine p-welle erkannt", "irregular rhythm, no P waves detected"),
    (r"wandernder schr?itt?macher", "wandering atrial pacemaker"),
    (r"schr?itt?macher", "pacemaker"),
    (r"pacemaker-induzierter rhythmus", "pacemaker-induced rhythm"),
    (r"rhythmus", "rhythm"),
    (r"mit unterschiedlicher ueberleitung", "+with variable conduction"),
    (r"ueberleitung", "+conduction"),
    # premature and escape beats
    (r"interponierte ventrikulaere extrasystole\(n\)", "interpolated ventricular premature complex(es)"),
    (r"interponierte supraventrikulaere extrasystole\(n\)", "interpolated supraventricular premature complex(es)"),
    (r"ventrikulaere ersatzsystole\(n\)", "ventricular escape beat(s)"),
    (r"supraventrikulaere ersatzsystole\(n\)", "supraventricular escape beat(s)"),
    (r"ventrikulaere extrasystole(?:\(n\)|n)", "ventricular premature complex(es)"),
    (r"supraventrikulaere extrasystole(?:\(n\)|n)", "supraventricular premature complex(es)"),
    (r"ventr\. ?(?:extrasystolen|es)", "ventricular premature complex(es)"),
    (r"ventrikulaere es", "ventricular premature complex(es)"),
    (r"supraventrikulaere es", "supraventricular premature complex(es)"),
    (r"supraventr\. (?:extrasystolen|es)", "supraventricular premature complex(es)"),
    (r"vorhofs? ?-? ?es", "atrial premature complex(es)"),
    (r"av-es", "junctional premature complex(es)"),
    (r"ves", "ventricular premature complex(es)"),
    (r"sves", "supraventricular premature complex(es)"),
    (r"extrasystolen", "premature complex(es)"),
    (r"uniforme", "uniform+"),
    (r"multiforme", "multiform+"),
    (r"monomorphe", "monomorphic+"),
    (r"uniform", "+, uniform"),
    (r"multiform", "+, multiform"),
    (r"in 2-?er-? ?salven?", "+in couplets"),
    (r"r auf t", "R-on-T phenomenon"),
    (r"bigemin(?:us|ie)", "bigeminy"),
    (r"trigemin(?:us|ie)", "trigeminy"),
    (r"quadrigemin(?:us|ie)", "quadrigeminy"),
    (r"2-?er-? ?salven?", "couplets"),
    (r"salven?", "salvos"),
    # axis
    (r"extrem ueberdrehter linkstyp", "extreme left axis deviation"),
    (r"extrem ueberdrehter rechtstyp", "extreme right axis deviation"),
    (r"ueberdrehter linkstyp", "marked left axis deviation"),
    (r"ueberdrehter rechtstyp", "marked right axis deviation"),
    (r"linkstyp,? ueberdreht", "marked left axis deviation"),
    (r"rechtstyp,? ueberdreht", "marked right axis deviation"),
    (r"lagetyp in anbetracht des alters normal", "axis normal for age"),
    (r"lagetyp in anbetracht des alters abnorm", "axis abnormal for age"),
    (r"lagetyp normal", "normal axis"),
    (r"linkst?y?p", "left axis deviation"),
    (r"linkslagetyp", "left axis deviation"),
    (r"li typ", "left axis deviation"),
    (r"rechtstyp", "right axis deviation"),
    (r"steill?agetyp", "vertical axis"),
    (r"steillage", "vertical axis"),
    (r"steiltyp", "vertical axis"),
    (r"mittellagetyp", "normal axis"),
    (r"indiff\. ?typ", "normal axis"),
    (r"indifferenztyp", "normal axis"),
    (r"st-sagittaltyp", "sagittal axis"),
    (r"sagitt?altyp", "sagittal axis"),
    (r"slt/rlt", "vertical to right axis"),
    (r"llt/mlt", "left to normal axis"),
    (r"llt", "left axis deviation"),
    (r"mll?t", "normal axis"),
    (r"slt", "vertical axis"),
    (r"rlt", "right axis deviation"),
    (r"qrs-achse schwierig bestimmbar", "QRS axis difficult to determine"),
    (r"schwierig bestimmbare qrs-achse", "QRS axis difficult to determine"),
    # atria
    (r"verdacht auf p-sinistrocardiale", "suspected left atrial enlargement"),
    (r"p-sinistrocardiale", "left atrial enlargement"),
    (r"p-dextrocardiale", "right atrial enlargement"),
    (r"p-cardiale", "biatrial enlargement"),
    (r"p-mitrale", "P mitrale"),
    (r"p-pulmonale", "P pulmonale"),
    (r"p-verbreiterung", "broad P waves"),
    (r"p verbreitert", "broad P waves"),
    (r"atriale vorhofs?ueber(?:be)?lastung,? rechts", "right atrial overload"),
    (r"atriale vorhofs?ueber(?:be)?lastung,? links", "left atrial overload"),
    (r"vorhofs?ueber(?:be)?lastung,? rechts", "right atrial overload"),
    (r"vorhofs?ueber(?:be)?lastung,? links", "left atrial overload"),
    (r"vorhofs?ueber(?:be)?lastung,? beidseits", "biatrial overload"),
    (r"linke vorhofs?ueber(?:be)?lastung", "left atrial overload"),
    (r"rechte vorhofs?ueber(?:be)?lastung", "right atrial overload"),
    (r"links vorhofs?ueber(?:be)?lastung", "left atrial overload"),
    (r"atriale vorhofs?ueber(?:be)?lastung", "atrial overload"),
    (r"vorhofs?ueber(?:be)?lastung", "atrial overload"),
    (r"zweigipflige?s p", "bifid P waves"),
    (r"2-gipflige?s p", "bifid P waves"),
    # conduction
    (r"a-?v-? ?block (?:iii|3)\.? ?grades", "third degree AV block"),
    (r"a-?v-? ?block (?:ii|2)\.? ?grades,? typ (?:ii|2)", "second degree AV block, Mobitz type II"),
    (r"a-?v-? ?block (?:ii|2)\.? ?grades,? typ (?:i|1)", "second degree AV block, Mobitz type I"),
    (r"a-?v-? ?block (?:ii|2)\.? ?grades", "second degree AV block"),
    (r"a-?v-? ?block (?:i|1)\.? ?grades", "first degree AV block"),
    (r"a-?v-? ?block iii", "third degree AV block"),
    (r"a-?v-? ?block ii", "second degree AV block"),
    (r"a-?v-? ?block i", "first degree AV block"),
    (r"a-?v-? ?block", "AV block"),
    (r"unvollstaendiger rechtsschenkelblock", "incomplete right bundle branch block"),
    (r"unvollstaendiger linksschenkelblock", "incomplete left bundle branch block"),
    (r"vollstaendiger rechtsschenkelblock", "complete right bundle branch block"),
    (r"vollstaendiger linksschenkelblock", "complete left bundle branch block"),
    (r"vollstaendiger rechts-? ?schenkelblock", "complete right bundle branch block"),
    (r"vollstaendiger links-? ?schenkelblock", "complete left bundle branch block"),
    (r"links,? vollstaendiger schenkelblock", "complete left bundle branch block"),
    (r"rechts,? vollstaendiger schenkelblock", "complete right bundle branch block"),
    (r"partieller rechtsschenkelblock", "incomplete right bundle branch block"),
    (r"partieller rechts? schenkelblock", "incomplete right bundle branch block"),
    (r"partieller schenkelblock rechts", "incomplete right bundle branch block"),
    (r"schenkelblock partiell rechts", "incomplete right bundle branch block"),
    (r"schenkelblock partiell links", "incomplete left bundle branch block"),
    (r"schenkelblock unvollstaendig rechts", "incomplete right bundle branch block"),
    (r"schenkelblock unvollstaendig links", "incomplete left bundle branch block"),
    (r"schenkelblock vollstaendig rechts", "complete right bundle branch block"),
    (r"schenkelblock vollstaendig links", "complete left bundle branch block"),
    (r"schenkelblock rechts", "right bundle branch block"),
    (r"schenkelblock links", "left bundle branch block"),
    (r"rechtsschenkelblock", "right bundle branch block"),
    (r"linksschenkelblock", "left bundle branch block"),
    (r"rechts-sb", "right bundle branch block"),
    (r"part\. rsb", "incomplete right bundle branch block"),
    (r"kompl\. rsb", "complete right bundle branch block"),
    (r"kompl(?:\.|etter) lsb", "complete left bundle branch block"),
    (r"rsb", "right bundle branch block"),
    (r"lsbb?", "left bundle branch block"),
    (r"schenkelblock", "bundle branch block"),
    (r"linksanteriorer hemiblock", "left anterior fascicular block"),
    (r"linksposteriorer hemiblock", "left posterior fascicular block"),
    (r"links-? ?anteriorer hemiblock", "left anterior fascicular block"),
    (r"links,? ant(?:er)?\. hemiblock", "left anterior fascicular block"),
    (r"ant(?:er)?\. hemiblock,? links", "left anterior fascicular block"),
    (r"ant(?:er)?\. hemiblock", "left anterior fascicular block"),
    (r"anteriorer hemiblock", "left anterior fascicular block"),
    (r"post\. hemiblock", "left posterior fascicular block"),
    (r"lahb", "left anterior fascicular block"),
    (r"hemiblock", "fascicular block"),
    (r"bifaszikulaerer block", "bifascicular block"),
    (r"unspezifischer intraventrikulaerer block", "non-specific intraventricular block"),
    (r"unspezifische intraventrikulaere leitungsstoerung", "non-specific intraventricular conduction disturbance"),
    (r"intraventrikulaere leitungsstoerung", "intraventricular conduction disturbance"),
    (r"intraventr[.-] ?lei?s?tungsstoerung(?:en)?", "intraventricular conduction disturbance"),
    (r"atriale lei?tungsstoerung", "atrial conduction disturbance"),
    (r"lei?tungsstoerung(?:en)?", "conduction disturbance"),
    (r"r-s uebergang in v ableitungen nach rechts verschoben", "R-S transition zone in V leads displaced to the right"),
    (r"r-s uebergang in v ableitungen nach links verschoben", "R-S transition zone in V leads displaced to the left"),
    (r"moeglicherweise wpw typ a", "possible WPW pattern, type A"),
    (r"moeglicherweise wpw typ b", "possible WPW pattern, type B"),
    (r"wpw", "WPW pattern"),
    (r"pq-zeit verkuerzt", "short PR interval"),
    (r"verkuerzte pq-zeit", "short PR interval"),
    (r"grenzwertige pq-zeit", "borderline PR interval"),
    (r"pq-zeit", "PR interval"),
    # voltage and hypertrophy
    (r"periphere niederspannung", "low limb lead voltage"),
    (r"peripher(?:e|er)? ?\.? ?(?:low-? ?vol[a-z]*ge|niedervoltage)", "low limb lead voltage"),
    (r"niederspannungs-ekg", "low voltage ECG"),
    (r"niederspannung", "low voltage"),
    (r"niedervoltage", "low voltage"),
    (r"low-? ?vol[a-z]*ge", "low voltage"),
    (
        r"maessige amplitudenkriterien fuer linkshypertrophie",
        "moderate voltage criteria for left ventricular hypertrophy",
    ),
    (r"amplitudenkriterien fuer linkshypertrophie", "voltage criteria for left ventricular hypertrophy"),
    (r"linkshypertrophie moeglich", "possible left ventricular hypertrophy"),
    (r"rechtshypertrophie moeglich", "possible right ventricular hypertrophy"),
    (r"linkshypertrophie", "left ventricular hypertrophy"),
    (r"rechtshypertrophie", "right ventricular hypertrophy"),
    (r"kammerhyperth?rophie,? lvh", "left ventricular hypertrophy"),
    (r"kammerhyperth?rophie,? rvh", "right ventricular hypertrophy"),
    (r"kammerhyperth?rophie", "ventricular hypertrophy"),
    (r"linksventrikelhypertrophie", "left ventricular hypertrophy"),
    (r"links-ventrikulaere-hypertrophie", "left ventricular hypertrophy"),
    (r"lvh", "left ventricular hypertrophy"),
    (r"rvh", "right ventricular hypertrophy"),
    (r"sokolow", "Sokolow index"),
    # QRS, infarction and injury
    (r"qrs\(t\) abnorm(?:al)?", "abnormal QRS(T)"),
    (r"{loc}er infarkt alter unbest\.?", "{loc} %s, age undetermined" % _INFARCT),
    (r"{loc}er infarkt wahrscheinlich alt", "{loc} %s, probably old" % _INFARCT),
    (r"{loc}er infarkt moegl(?:ich|\.) akut", "{loc} %s, possibly acute" % _INFARCT),
    (r"{loc}er infarkt moeglich", "possible {loc} %s" % _INFARCT),
    (r"{loc}er infarkt nicht auszuschliessen", "{loc} %s cannot be excluded" % _INFARCT),
    (r"{loc}er infarkt", "{loc} %s" % _INFARCT),
    (r"{loc}em infarkt", "{loc} %s" % _INFARCT),
    (r"infarkt,? {loc}", "{loc} %s" % _INFARCT),
    (r"{loc}er myokardschaden moeglich", "possible {loc} myocardial injury"),
    (r"{loc}er myokardschaden nicht auszuschliessen", "{loc} myocardial injury cannot be excluded"),
    (r"{loc}er myokardschaden wahrscheinlich", "probable {loc} myocardial injury"),
    (r"{loc}er myokardschaden", "{loc} myocardial injury"),
    (r"{loc}er myokard- oder perikardschaden", "{loc} myocardial or pericardial injury"),
    (r"{loc}er innenschichtsschaden", "{loc} subendocardial injury"),
    (r"vorderwandinfarkt", "anterior %s" % _INFARCT),
    (r"hinterwandinfarkt", "inferior %s" % _INFARCT),
    (r"infarktablauf", "evolving infarction"),
    (r"vw-aneurysma", "anterior wall aneurysm"),
    (r"aneurysma", "aneurysm"),
    (r"emphysem", "emphysema"),
    (r"infarkt", _INFARCT),
    (r"myokardschaden", "myocardial injury"),
    (r"innenschichts?schaedigung", "subendocardial injury"),
    (r"myokardschaedigung", "myocardial injury"),
    # ST-T
    (
        r"st & t abnorm(?:al)?,? wahrscheinlich {loc}e ischaemie oder linksbelastung",
        "ST-T abnormality, probably {loc} ischaemia or left ventricular strain",
    ),
    (
        r"st & t abnorm(?:al)?,? moeglicherweise neuer {loc}er myokard- oder perikardschaden",
        "ST-T abnormality, possibly new {loc} myocardial or pericardial injury",
    ),
    (
        r"st abnorm(?:al)?,? moeglicherweise {loc}er innenschichtsschaden",
        "ST abnormality, possibly {loc} subendocardial injury",
    ),
    (
        r"t abnorm(?:al)?,? wahrscheinlich {loc}er myokardschaden",
        "T wave abnormality, probably {loc} myocardial injury",
    ),
    (r"{loc}e ischaemie oder linksbelastung", "{loc} ischaemia or left ventricular strain"),
    (r"t abnorm(?:al)? in {loc}en ableitungen", "T wave abnormality in {loc} leads"),
    (r"{loc}en ableitungen", "+, {loc} leads"),
    (r"{loc}er", "{loc}+"),
    (r"{loc}e", "{loc}+"),
    (r"{loc}", "+{loc}"),
    (r"st & t abnorm(?:al)?", "ST-T abnormality"),
    (r"st abnorm(?:al)?", "ST abnormality"),
    (r"t abnorm(?:al)?", "T wave abnormality"),
    (r"unspezifische abnorme?a?l?e st-senkung", "non-specific ST depression"),
    (r"unspezifische?s? abnorme?a?l?e?s st-t \(hebung\)", "non-specific ST-T abnormality (elevation)"),
    (r"unspezifische?s? abnorme?a?l?e?s st-t", "non-specific ST-T abnormality"),
    (r"unspezifische?s? abnorme?a?l?e?s st", "non-specific ST abnormality"),
    (r"unspezifische?s? abnorme?a?l?e?s t", "non-specific T wave abnormality"),
    (r"qt-verlaengerung", "prolonged QT interval"),
    (r"qt-? ?(?:zeit )?verlaengert", "prolonged QT interval"),
    (r"st[- .]? ?senkung(?:en)?", "ST depression"),
    (r"st[- .]? ?hebung(?:en)?", "ST elevation"),
    (r"st[- .]? ?streckenveraenderungen", "ST segment changes"),
    (r"st[- .]? ?strecke", "ST segment"),
    (r"st-t", "ST-T"),
    (r"t-negativierung", "T wave inversion"),
    (r"neg\.? t-? ?veraend?erunge?[nr]?", "negative T wave changes"),
    (r"t-? ?veraend?erunge?[nr]?", "T wave changes"),
    (r"t-wellen?", "T waves"),
    (r"t-ueberhoehung", "tall T waves"),
    (r"neg\.? t", "negative T waves"),
    (r"pathologische repolarisation", "abnormal repolarisation"),
    (r"path\. ?repol(?:arisation|\.)", "abnormal repolarisation"),
    (r"repolarisationsstoerung(?:en)?", "repolarisation disturbance"),
    (r"rep(?:ol)?\.-? ?stoerung(?:en)?", "repolarisation disturbance"),
    (r"repolarisation", "repolarisation"),
    (r"digitalisveraenderung", "digitalis effect"),
    (r"digitalis", "digitalis effect"),
    (r"ischa?e?mie", "ischaemia"),
    (r"linksbelastung", "left ventricular strain"),
    (r"schlechte r-? ?progression", "poor R wave progression"),
    (r"verzoegerte r-? ?progression", "delayed R wave progression"),
    (r"langsame r-? ?progression", "slow R wave progression"),
    (r"fehlende r-? ?progression", "absent R wave progression"),
    (r"keine r-? ?progression", "no R wave progression"),
    (r"r-? ?progression", "R wave progression"),
    (r"r-? ?verlust", "loss of R waves"),
    (r"u-? ?wel+en?", "U waves"),
    (r"p-wellen?", "P waves"),
    (r"r/s umschlag", "R/S transition"),
    (r"uebergangszone", "transition zone"),
    (r"nach rechts verschoben", "+displaced to the right"),
    (r"nach li(?:nks|\.)? verschoben", "+displaced to the left"),
    (r"verschoben nach rechts", "+displaced to the right"),
    (r"verschoben nach li(?:nks|\.)?", "+displaced to the left"),
    (r"si/qiii-typ", "SI/QIII pattern"),
    (r"si-qiii-typ", "SI/QIII pattern"),
    (r"si/qiii", "SI/QIII pattern"),
    (r"qiii", "Q wave in III"),
    (r"nicht sign(?:ifikante?s?|\.)", "non-significant+"),
    (r"sign(?:ifikante?s?|\.)", "significant+"),
    # overall
    (r"wahrscheinl(?:ich|cih) normales ekg", "probably normal ECG"),
    (r"ekg wahrscheinlich normal", "probably normal ECG"),
    (r"wahrscheinlich normal", "probably normal ECG"),
    (r"sonst normales ekg", "otherwise normal ECG"),
    (r"normales ekg", "normal ECG"),
    (r"ekg normal", "normal ECG"),
    (r"path(?:ologisches|ologsiches|olgisches|\.) ?ekg", "abnormal ECG"),
    (r"ekg,? path(?:ologisch|\.)", "abnormal ECG"),
    (r"pathologisch", "abnormal ECG"),
    (r"ekg grenzbefund", "borderline ECG"),
    (r"sonst o\. ?b\.?", "otherwise unremarkable"),
    (r"ruhe-ekg", "resting ECG"),
    (r"kontroll-ekg", "follow-up ECG"),
    (r"sportlerherz", "athlete's heart"),
    (r"grenzbefund", "borderline ECG"),
    (r"ekg", "ECG"),
    (r"normal", "normal ECG"),
    (r"path\.", "abnormal+"),
    (r"verglichen mit(?: ekg vom)?", "compared with the ECG of"),
    (r"armelektroden moeglicherweise vertauscht", "limb electrodes possibly reversed"),
    # leads
    (r"in allen ableitungen", "+in all leads"),
    (r"extr\.? ?abl\.?", "+limb leads"),
    (r"in allen ablt\.", "+in all leads"),
    (r"extremitaetenableitungen", "+limb leads"),
    (r"brustwandableitungen", "+chest leads"),
    (r"ableitungen", "+leads"),
    (r"ablt?\.", "+leads"),
    (r"vorderwand", "+anterior wall"),
    (r"vw", "+anterior wall"),
    (r"v", "+V leads"),
    (r"hinterwand", "+inferior wall"),
    # single words: findings
    (r"st\. ?n\.", "status post+"),
    (r"st", "ST"),
    (r"sinus", "sinus"),
    (r"abflachung", "flattening"),
    (r"t", "T waves"),
    (r"u", "U waves"),
    (r"p", "P waves"),
    (r"q", "Q waves"),
    (r"r", "R waves"),
    (r"s", "S waves"),
    # single words: qualifiers of the next phrase
    (r"supraventrikulaere?", "supraventricular+"),
    (r"ventrikulaere?", "ventricular+"),
    (r"intraventrikulaere?r?", "intraventricular+"),
    (r"bifaszikulaerer", "bifascicular+"),
    (r"unvollstaendiger", "incomplete+"),
    (r"vollstaendiger", "complete+"),
    (r"ueberdrehter", "marked+"),
    (r"maessige", "moderate+"),
    (r"uebergang", "transition"),
    (r"verlaengerung", "+prolongation"),
    (r"nicht auszuschliessen", "+cannot be excluded"),
    (r"verdacht auf :?", "suspected+"),
    (r"vd\. auf", "suspected+"),
    (r"moeglicherweise", "possibly+"),
    (r"moeglicher", "possible+"),
    (r"wahrscheinl(?:ich|cih|ilch)", "probably+"),
    (r"chronischer", "chronic+"),
    (r"chron\.", "chronic+"),
    (r"sicherer?", "definite+"),
    (r"akuter", "acute+"),
    (r"subakuter", "subacute+"),
    (r"neuer", "new+"),
    (r"diskrete", "slight+"),
    (r"leichte", "slight+"),
    (r"hohes", "tall+"),
    (r"flaches?", "flat+"),
    (r"abgeflachte?s?", "flattened+"),
    (r"sehr", "very+"),
    (r"eventuell", "possibly+"),
    (r"biphasisches?", "biphasic+"),
    (r"isoliertes", "isolated+"),
    (r"partieller?", "partial+"),
    (r"teilweise", "partly+"),
    (r"z\.? ?t\.?", "partly+"),
    (r"teilw\.", "partly+"),
    (r"fragl\.?", "questionable+"),
    (r"am ehesten", "most likely+"),
    (r"diffuse", "diffuse+"),
    (r"unspez\.", "non-specific+"),
    (r"tiefes", "deep+"),
    (r"hoher", "high+"),
    (r"grenzwertige?s?", "borderline+"),
    (r"fehlendes?", "absent+"),
    (r"doppel[gz]ipflige?s", "bifid+"),
    (r"normokardes", "normocardic+"),
    (r"tachykardes", "tachycardic+"),
    (r"bradykardes", "bradycardic+"),
    (r"pat\.", "patient+"),
    (r"fraglich", "questionable+"),
    # single words: qualifiers of the current phrase
    (r"chronisch", "+, chronic"),
    (r"moeglich", "+, possible"),
    (r"subakut", "+, subacute"),
    (r"zeitweise", "+, intermittently"),
    (r"strain", "+strain"),
    (r"intermitt?ier(?:end|\.)", "+, intermittent"),
    (r"einzelne", "+, isolated"),
    (r"bekannt", "+, known"),
    (r"nicht beurteilbar", "+not assessable"),
    (r"resp(?:iratorisch|\.)", "+respiratory"),
    (r"ruecklaeufig", "+regressing"),
    (r"doppel[gz]ipflig", "+bifid"),
    (r"klein", "+small"),
    (r"fehlend", "+absent"),
    (r"schlecht", "+poor"),
    (r"sec\.?", "+s"),
    (r"sicher", "+, definite"),
    (r"akut", "+, acute"),
    (r"alter unbest\.?", "+, age undetermined"),
    (r"alt", "+, old"),
    (r"neg(?:ativ|\.)?", "+negative"),
    (r"flach", "+flat"),
    (r"abgeflacht", "+flattened"),
    (r"biph(?:as(?:isc?h|ich)?)?\.?", "+biphasic"),
    (r"hoch", "+tall"),
    (r"ueberhoeht", "+tall"),
    (r"spitze?", "+peaked"),
    (r"diskret", "+slight"),
    (r"angedeutet", "+slightly"),
    (r"term(?:inal|\.)", "+terminal"),
    (r"mulde(?:nfoermige?)?", "+, sagging"),
    (r"descend\.", "+, downsloping"),
    (r"asc\.", "+, upsloping"),
    (r"verzoegert", "+delayed"),
    (r"verbreitert", "+broad"),
    (r"tachykard", "+, tachycardic"),
    (r"tachykardie", "tachycardia"),
    (r"bradykardie", "bradycardia"),
    (r"normo[ck]ard", "+, normocardic"),
    (r"bradykard", "+, bradycardic"),
    (r"rechts", "+right"),
    (r"links", "+left"),
    (r"beidseits", "+bilateral"),
    (r"anter\.", "+anterior"),
    (r"inf\.", "+inferior"),
    (r"in", "+in"),
    (r"ueber", "+over"),
    (r"und", "+and"),
    (r"oder", "+or"),
    (r"bzw\.", "+or"),
    (r"bis", "+to"),
    (r"mit", "+with"),
    (r"bei", "+with"),
    (r"als", "+as"),
    (r"fuer", "+for"),
    (r"vom", "+of"),
    (r"der", "+the"),
    (r"mehr als", "+more than"),
    (r"mehr", "+anymore"),
    (r"alle", "+all"),
    (r"ausser", "+except"),
    (r"wegen", "+because of"),
    (r"unter belastung", "+during exercise"),
    (r"nimmt", "+takes"),
    (r"unter", "+on"),
    (r"kein", "no+"),
    (r"keine", "no+"),
    (r"nicht", "not+"),
    (r"min\.?", "+min"),
)

# Words that mark a report as German; words of English and Swedish reports count against them.
_GERMAN_MARKERS = frozenset(
    "sinusrhythmus lagetyp linkstyp rechtstyp steiltyp infarkt ableitungen vorhofflimmern vorhofflattern "
    "extrasystole(n) extrasystolen niederspannung abnorm abnormes abnormales linksschenkelblock "
    "rechtsschenkelblock ischaemie linksbelastung myokardschaden wahrscheinlich moeglich auszuschliessen "
    "pathologisch pathologisches sinustachykardie sinusbradykardie arrhythmie linkshypertrophie verdacht "
    "fuer oder und mit nach nicht ueberdrehter unvollstaendiger vollstaendiger leitungsstoerung "
    "ventrikulaere supraventrikulaere p-sinistrocardiale p-verbreiterung qt-verlaengerung st-senkung st-hebung "
    "ekg normales neg flach grenzbefund llt".split()
)
_ENGLISH_MARKERS = frozenset(
    "rhythm the are is of with and ecg atrial ventricular fibrillation premature contraction(s) deviation "
    "waves leads infarction possible probable old consistent hypertrophy segments depressed inverted "
    "changes requested trace pathology definite otherwise minor non-specific axis".split()
)
_SWEDISH_MARKERS = frozenset(
    "sinusrytm vaenster ospecifik foeraendring eller el-axel avvikande foerlopp extrasystoli(er) "
    "foermaksflimmer/-fladder skaenkelblock belastning ischemi".split()
)

# Leads; inside a list "r", "l", "f" are aVR, aVL, aVF and a bare digit after a V lead is a V lead.
_LEAD = r"(?:v[1-6]|avr|avl|avf|iii|ii|i)"
_ITEM = rf"{_LEAD}(?: ?- ?(?:{_LEAD}|[1-6]))?"
_FIRST_LEAD = rf"(?:{_ITEM}|[lf](?=, ?(?:{_LEAD}|[rlf])(?!\w))|(?<=in )[lf])"
_LEADS = re.compile(rf"{_FIRST_LEAD}(?:(?: ?, ?|/| \+ )(?:{_ITEM}|[rlf])| [lf]|(?:,|/)[1-6])*(?![\w(])")
_NUMBER = re.compile(r"[<>]? ?\d+(?:[.,:/x-]\d+)*(?: ?/ ?min)?\.?(?![\w(])")
_WORD = re.compile(r"[^\s,;:()]+")
_SEPARATORS = re.compile(r"[\s,;:()*!/+.-]*")


def _expand(pattern: str, english: str) -> list[tuple[str, str]]:
    if "{loc}" not in pattern:
        return [(pattern, english)]
    return [(pattern.replace("{loc}", stem), english.replace("{loc}", name)) for stem, name in LOCATIONS.items()]


def _compile(phrases) -> dict[str, tuple[re.Pattern, dict[str, str]]]:
    """One alternation per first character, so a word is only tried against the phrases it can start."""
    buckets: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pattern, english in phrases:
        for entry in _expand(pattern, english):
            if not re.match(r"[a-z0-9]", entry[0]) or entry[0][1:2] in ("?", "*", "{"):
                raise ValueError(f"phrase pattern must begin with a literal character: {entry[0]!r}")
            buckets[entry[0][0]].append(entry)
    tables = {}
    for first, entries in buckets.items():
        alternatives = "|".join(f"(?P<p{i}>{p})".replace(" ", r"\s*") for i, (p, _) in enumerate(entries))
        tables[first] = (re.compile(rf"(?:{alternatives})(?![\w(])"), {f"p{i}": e for i, (_, e) in enumerate(entries)})
    return tables


_TABLES = _compile(PHRASES)


def _spelled(text: str) -> str:
    text = text.lower()
    for umlaut, spelled in _SPELLING:
        text = text.replace(umlaut, spelled)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lower case, one umlaut spelling, single spaces, without the boilerplate that states no finding."""
    return " ".join(_BOILERPLATE.sub(" ", _spelled(_EDIT.sub("", text))).split())


def report_language(text: str) -> str:
    """ "de", "en" or "sv" by the marker words it holds (German wins ties: its reports are the majority)."""
    words = normalise(text).replace(".", " ").split()
    german, english, swedish = (
        sum(w in markers for w in words) for markers in (_GERMAN_MARKERS, _ENGLISH_MARKERS, _SWEDISH_MARKERS)
    )
    if german and german >= english + swedish:
        return "de"
    return "sv" if swedish > english else "en"


def is_german(text: str) -> bool:
    return report_language(text) == "de"


def _format_leads(text: str) -> str:
    """ "ii,iii,avf" -> "II, III, aVF"; "v4,5,6" -> "V4, V5, V6"; "v1-3" -> "V1-V3"; "iii,f" -> "III, aVF"."""
    text = re.sub(r"\s", "", text)
    text = re.sub(r"(v[1-6](?:-v?[1-6])?)((?:[,/][1-6])+)", lambda m: m[1] + re.sub(r"([1-6])", r"v\1", m[2]), text)
    text = re.sub(r"(v[1-6])-([1-6])", r"\1-v\2", text)
    items = re.split(r"[,/+]", text)
    return ", ".join({"r": "aVR", "l": "aVL", "f": "aVF"}.get(i) or i.upper().replace("AV", "aV") for i in items)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The report as (English, known) pieces in order; English keeps the table's "+" marks and an unknown
    word is kept as written."""
    pieces = []
    pos = _SEPARATORS.match(text).end()
    while pos < len(text):
        table, english = _TABLES.get(text[pos], (None, None))
        if table and (m := table.match(text, pos)):
            pieces.append((english[m.lastgroup], True))
        elif m := _LEADS.match(text, pos):
            pieces.append(("+" + _format_leads(m[0]), True))
        elif m := _NUMBER.match(text, pos):
            pieces.append(("+" + m[0], True))
        else:
            m = _WORD.match(text, pos)
            pieces.append(("+" + m[0], False))
        pos = _SEPARATORS.match(text, m.end()).end()
    return pieces


def _without_last_statement(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    start = 0
    for i, (english, _) in enumerate(pieces):
        if not english.startswith("+") and not (i and pieces[i - 1][0].endswith("+")):
            start = i
    return pieces[:start]


def _sentences(pieces: list[tuple[str, bool]]) -> list[str]:
    sentences: list[str] = []
    joined = False  # the last piece asked to be continued
    for english, _ in pieces:
        continues = english.startswith("+") or joined
        joined = english.endswith("+")
        english = english.strip("+")
        if continues and sentences:
            sentences[-1] += english if english.startswith(",") else " " + english
        else:
            sentences.append(english.lstrip(", "))
    return sentences


def _finish(sentence: str) -> str:
    sentence = sentence.strip().rstrip(",;:")
    sentence = sentence[:1].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _normalise_english(text: str) -> str:
    text = re.sub(r"\becg\b", "ECG", " ".join(_BOILERPLATE.sub(" ", _EDIT.sub("", text)).split()), flags=re.IGNORECASE)
    if not text:
        return ""
    *sentences, last = re.split(r"(?<=[.!?]) (?=[a-z])", text)
    return " ".join([s[:1].upper() + s[1:] for s in sentences] + [_finish(last)])


def _german_pieces(text: str) -> list[tuple[str, bool]]:
    body = _EDIT.sub("", text).rstrip()
    if len(body) < _FIELD_LIMIT:
        return _pieces(normalise(body))
    # Cut by the field limit: the last word is cut off, and unless the cut fell in the closing boilerplate
    # so is the statement it belongs to, which is dropped rather than guessed.
    spelled = _spelled(body)
    pieces = _pieces(normalise(spelled.rsplit(" ", 1)[0]))
    return pieces if _CUT_IN_CLOSING.search(spelled) else _without_last_statement(pieces)


def translate_report(text: str) -> str:
    """A German report as English sentences; an English (or other) report normalised only."""
    if not is_german(text):
        return _normalise_english(text)
    return " ".join(_finish(s) for s in _sentences(_german_pieces(text)))


def untranslated_words(text: str) -> list[str]:
    """The words of a German report the phrase table does not know (kept as written in its translation)."""
    if not is_german(text):
        return []
    return [english.lstrip("+") for english, known in _german_pieces(text) if not known and re.search("[a-z]", english)]
