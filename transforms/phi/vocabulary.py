"""Words with a fixed meaning on medical images: the labels that announce PHI, and the vocabulary a
radiologist needs (markers, technique, units, sequences) that must survive.

Written by hand from general DICOM/radiology usage (scanner overlays, PS3.3 attribute names, common
abbreviations in English and German, a few in other European languages). It is deliberately not drawn
from any name or place list (and never from the corpus generator's Faker data): the recognizer must
generalise, not recognise our own generator.

Phrases are sequences of plain keys (see `normalize.plain_key`): "Patient ID:" is ("patient", "id").
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

# Label phrase -> category of the value that follows it on the same line.
_PHI_LABELS: dict[str, tuple[str, ...]] = {
    "NAME": ("name", "patient", "patient name", "pat", "pat name", "pt", "pt name", "patientenname",
             "nom", "nombre", "paziente", "nazwisko", "imie", "фио", "имя", "ονομα", "ονοματεπωνυμο",
             "physician", "phys", "ref", "ref phys", "ref physician", "referring", "referring physician",
             "referring phys", "ref dr", "doctor", "radiologist", "operator", "operators", "op", "initials", "tech",
             "technologist", "performed by", "performing physician", "reading physician", "read by",
             "reported by", "requested by", "referred by", "ref by", "arzt", "uberweiser", "zuweiser",
             "untersucher", "medecin",
             "mother", "mothers name", "other name", "other names", "birth name"),
    "ID": ("id", "patient id", "pat id", "pt id", "pid", "mrn", "mrn no", "mr", "mr no", "mr nr",
           "record", "record no", "medical record", "chart", "chart no", "patient no", "pat no",
           "pat nr", "patient number", "hospital no", "hospital number", "hosp no", "hosp nr",
           "med rec", "med rec no", "medical record no", "medical record number", "case", "case no", "fall",
           "fall nr", "fallnr",
           "pesel", "snils", "nhs", "nhs no", "insurance", "insurance no", "policy", "member id",
           "other id", "other ids", "study id", "exam id", "visit", "visit no", "admission", "adm no", "ex",
           "exam"),
    "ACCESSION": ("acc", "acc no", "acc nr", "accession", "accession no", "accession number",
                  "order", "order no", "req", "req no", "request", "request no", "exam no", "auftrag",
                  "auftragsnr"),
    "DATE": ("dob", "d o b", "birth", "birthdate", "birthday", "born", "date of birth", "birth date",
             "geb", "geburtsdatum", "date", "study date", "exam date", "scan date", "acq date",
             "datum", "fecha", "data", "дата", "ημερομηνια", "fecha de nacimiento", "date de naissance"),
    "TIME": ("time", "study time", "exam time", "zeit", "uhrzeit"),
    "AGE": ("age", "alter", "edad", "eta", "wiek", "возраст", "ηλικια"),
    "SEX": ("sex", "gender", "geschlecht", "sexe", "sexo", "plec", "пол", "φυλο"),
    "INSTITUTION": ("institution", "inst", "hospital", "facility", "site", "clinic", "klinik",
                    "krankenhaus", "department", "dept", "referring hospital", "referring facility",
                    "referring institution", "referred from", "transferred from", "outside films from"),
    "ADDRESS": ("address", "addr", "adresse", "anschrift", "street", "city", "home", "residence"),
    "PHONE": ("tel", "telephone", "phone", "ph", "fax", "mobile", "cell", "telefon", "tel no"),
    "EMAIL": ("email", "e mail", "mail"),
    "SSN": ("ssn", "social security", "soc sec"),
    "OTHER_PHI": ("station", "station name", "serial", "serial no", "sn", "s n", "device serial",
                  "occupation", "military rank", "branch of service", "religion", "ethnic group"),
}

# Labels that announce PHI only when a ":" "#" or "=" follows (alone they are ordinary words or
# technique: "MR" is a modality, "Date" a column heading, "Op" an abbreviation).
AMBIGUOUS_LABELS = frozenset({
    "name", "patient", "pat", "pt", "id", "mr", "ex", "exam", "acc", "record", "case", "fall", "chart", "policy", "visit",
    "admission", "order", "req", "request", "date", "data", "time", "age", "eta", "sex", "ref", "op",
    "tech", "operator", "operators", "initials", "home", "city", "street", "site", "facility", "clinic", "hospital",
    "klinik", "department", "dept", "inst", "institution", "station", "serial", "sn", "s n", "ph",
    "cell", "mobile", "mail", "mother", "born", "birth", "insurance", "nom", "nombre", "data",
    "physician", "phys", "doctor", "radiologist", "reader", "referring", "arzt", "residence", "address",
})


def _split(phrase: str) -> tuple[str, ...]:
    return tuple(phrase.split())


PHI_LABELS: Mapping[tuple[str, ...], str] = MappingProxyType(
    {_split(phrase): category for category, phrases in _PHI_LABELS.items() for phrase in phrases})
MAX_LABEL_TOKENS = max(len(phrase) for phrase in PHI_LABELS)
LABEL_WORDS = frozenset(word for phrase in PHI_LABELS for word in phrase)   # any word of a label

# Technique and counter keywords: a value after them is a setting, never an identifier, and a label
# value ends where one of them starts.
TECHNIQUE_WORDS = frozenset({
    "kvp", "kv", "ma", "mas", "ms", "tr", "te", "ti", "fa", "etl", "nex", "bw", "w", "l", "c", "ww",
    "wl", "wc", "win", "lev", "fov", "dfov", "thk", "st", "sl", "slice", "thickness", "se", "ser",
    "series", "im", "img", "image", "ima", "frame", "fr", "no", "acq", "gain", "mi", "tis", "tib", "tic",
    "fps", "hz", "khz", "mhz", "zoom", "mag", "tilt", "pitch", "dlp", "ctdi", "ctdivol", "mgy",
    "lao", "rao", "cra", "cau", "exp", "kernel", "matrix", "filter", "lut", "gamma", "dose",
    "depth", "cm", "mm", "hu", "sec", "s", "rot", "table", "tbl", "pos", "loc", "z", "avg", "mean",
    "sd", "area", "vol", "dist", "angle", "scale", "page", "p", "spine", "ctdivolmgy",
    # ultrasound knobs and measurements (gain, dynamic range, frame rate, frequency, pulse repetition,
    # wall filter, depth "D 16 cm", output power; resistive/pulsatility index, peak systolic and end
    # diastolic velocity, heart rate)
    "g", "gn", "dr", "dyn", "fr", "frq", "freq", "prf", "wf", "d", "pwr", "ri", "pi", "psv", "edv", "hr",
})

# Words after which a time is a duration ("TA 03:02": acquisition time of an MR sequence), not a time of day.
DURATION_WORDS = frozenset({"ta", "dur", "duration", "elapsed", "scan time", "scantime", "remaining", "timer"})

# Words that are never a person or place by themselves: orientation markers, views, sequences, units,
# body parts, modalities. Shape rules ("LAST, FIRST") do not fire on them.
KEEP_WORDS = frozenset({
    "r", "l", "a", "p", "h", "f", "s", "i", "ap", "pa", "lat", "ll", "rl", "obl", "cc", "mlo", "ml",
    "lm", "xccl", "ax", "axial", "sag", "sagittal", "cor", "coronal", "tra", "trans", "oblique", "3d",
    "2d", "mpr", "mip", "minip", "vr", "t1", "t2", "t2w", "t1w", "pd", "flair", "stir", "dwi", "adc",
    "swi", "gre", "fse", "tse", "se", "ir", "epi", "bold", "dti", "mra", "cta", "ct", "mr", "mri", "us",
    "xa", "cr", "dx", "mg", "nm", "pt", "pet", "rf", "ot", "sc", "hu", "mm", "cm", "kvp", "mas", "ma",
    "head", "neck", "chest", "thorax", "abdomen", "pelvis", "spine", "brain", "knee", "hip", "shoulder",
    "hand", "foot", "ankle", "wrist", "elbow", "lung", "lungs", "liver", "heart", "kidney", "breast",
    "left", "right", "anterior", "posterior", "superior", "inferior", "supine", "prone", "upright",
    "portable", "erect", "scout", "localizer", "topogram", "contrast", "pre", "post", "delayed",
    "arterial", "venous", "portal", "phase", "bone", "soft", "tissue", "lung", "window", "standard",
    "sharp", "smooth", "routine", "protocol", "series", "image", "frame", "slice", "scan", "view",
    "report", "preliminary", "final", "study", "exam", "patient", "name", "date", "time", "age", "sex",
    "long", "short", "axis", "first", "feet", "body", "large", "small", "medium", "total", "noise", "index",
    "delay", "dose", "lesion", "mass", "cyst", "normal", "view", "apical", "parasternal",
    # ultrasound: presets, modes, image settings, and the organ and position labels typed over the image
    "abd", "abdo", "ob", "gyn", "thy", "msk", "vasc", "vascular", "card", "cardiac", "renal", "gen", "res", "pen",
    "thi", "color", "colour", "pw", "cw", "cf", "cfm", "pdi", "doppler", "bmode", "mmode", "harmonic",
    "lymph", "node", "nodes", "thyroid", "isthmus", "lobe", "pole", "upper", "lower", "mid", "gb", "gallbladder",
    "cbd", "pancreas", "spleen", "aorta", "ivc", "cca", "ica", "eca", "bladder", "uterus", "ovary", "testis",
    "prostate", "rt", "lt", "longitudinal", "transverse", "trv", "prox", "proximal", "distal", "medial", "lateral",
})
