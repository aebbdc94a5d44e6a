"""What the realistic styles write: identifying fields (a label and its value) and the non-PHI text of
real images (technique, markers, window, series/image numbers, ultrasound settings, organ labels).

Labels come in the spellings found on images: DICOM attribute names and their common abbreviations, in
any case, with or without a colon ("Patient ID", "PAT ID:", "pid", "D.O.B.", "Inst. Name"). Values are
the header's own values in the renderings screens use, except the fields marked `in_header=False`:
names, institutions and addresses drawn afresh, burned in but held nowhere in the header (what a
dictionary built from the header cannot find, and a named-entity recogniser must).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from transforms.synth.identities import Patient, Person, Series, Study, derive_seed, draw_person, \
    draw_place, faker_for
from transforms.synth.renderings import MONTHS, render_age, render_date, render_name, render_time
from transforms.synth.textblocks import LineSpec, Say, label_of, other, value_of

LABELS: dict[str, tuple[str, ...]] = {
    "name": ("Name", "Patient Name", "Patient", "Pt Name", "Pat Name", "Pat. Name", "Patient's Name", "Pt"),
    "id": ("Patient ID", "ID", "Pat ID", "Pt ID", "PID", "MRN", "MR#", "Med Rec No", "Hosp No", "Patient No"),
    "birth_date": ("DOB", "D.O.B.", "Birth Date", "Date of Birth", "Birthdate", "Born", "Pat Birthdate"),
    "age": ("Age", "Pt Age", "Patient Age", "Pat Age"),
    "sex": ("Sex", "Gender", "Patient Sex", "Pat Sex"),
    "study_date": ("Study Date", "Date", "Exam Date", "Acq Date", "Acquisition Date", "Scan Date", "Series Date"),
    "study_time": ("Study Time", "Time", "Acq Time", "Scan Time", "Acquisition Time"),
    "institution": ("Institution Name", "Institution", "Hospital", "Inst", "Inst. Name", "Facility", "Site"),
    "accession": ("Accession", "Accession Number", "Acc", "Acc No", "Acc #", "Accession #", "ACC NO"),
    "referring": ("Referring Physician", "Ref Phys", "Ref. Physician", "Referring", "Ref Dr", "Referred By"),
    "reading": ("Reading Physician", "Radiologist", "Read By", "Reported By"),
    "operator": ("Operator", "Tech", "Technologist", "Performed By", "Op"),
    "address": ("Address", "Addr", "Patient Address", "Home Address"),
    "phone": ("Phone", "Tel", "Telephone", "Ph"),
    "study_id": ("Study ID", "Exam ID", "Exam No", "Study No"),
    # fields whose values the header does not hold
    "outside_person": ("Attending", "Consultant", "Ordering Physician", "Copy To", "Cc", "Requested By"),
    "outside_institution": ("Referring Hospital", "Outside Films From", "Transferred From", "Referred From",
                            "Prior Site", "Sending Facility"),
    "outside_address": ("Address", "Addr", "Mailing Address", "Home"),
}
CATEGORY_OF = {"name": "NAME", "id": "ID", "birth_date": "DATE", "age": "AGE", "sex": "SEX", "study_date": "DATE",
               "study_time": "TIME", "institution": "INSTITUTION", "accession": "ACCESSION", "referring": "NAME",
               "reading": "NAME", "operator": "NAME", "address": "ADDRESS", "phone": "PHONE", "study_id": "ID",
               "outside_person": "NAME", "outside_institution": "INSTITUTION", "outside_address": "ADDRESS"}
# The usual fields first: most images carry name, ID, dates; the others appear now and then.
COMMON_FIELDS = ("name", "id", "birth_date", "study_date", "age", "sex", "institution", "accession")
RARE_FIELDS = ("study_time", "referring", "reading", "operator", "address", "phone", "study_id")
OUTSIDE_FIELDS = ("outside_person", "outside_institution", "outside_address")
REAL_DATE_STYLES = ("year_mon_day", "us", "eu_dots", "dicom", "iso", "day_mon_year", "mon_day_year", "eu_slash",
                    "day_month_year_spaced")
REAL_NAME_STYLES = ("pn", "family_comma_given", "given_family", "family_given_upper", "initial_family",
                    "family_comma_given_middle", "pn_full")
HOSPITAL_FORMS = ("{company} Community Hospital", "{company} Medical Center", "{city} Regional Medical Center",
                  "St. {given} Hospital, {city}", "University Hospital {city}, Dept. of Radiology",
                  "{family} Memorial Hospital and Clinics", "{city} Imaging Associates, LLC",
                  "{company} Health System", "{city} General Hospital, Radiology Department",
                  "Klinikum {city}, Institut fuer Radiologie", "Hopital {family}, Service d'Imagerie")
LO_MAX = 64


@dataclass(frozen=True)
class Field:
    key: str
    label: str | None
    value: str
    in_header: bool

    @property
    def category(self) -> str:
        return CATEGORY_OF[self.key]

    def line(self, gap: float) -> LineSpec:
        value = value_of(self.value, self.category, self.in_header)
        if self.label is None:
            return LineSpec((value,))
        return LineSpec((label_of(self.label), value), (gap,))


def spell_label(rng: random.Random, key: str) -> str:
    """A label as images write it: any case, with or without a colon."""
    text = rng.choice(LABELS[key])
    roll = rng.random()
    text = text.upper() if roll < 0.4 else text.lower() if roll < 0.5 else text
    colon = rng.random()
    return text + (":" if colon < 0.55 else " :" if colon < 0.6 else "")


def render_real_date(value: dt.date, style: str) -> str:
    if style == "day_month_year_spaced":
        return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    return render_date(value, style)


def render_real_name(person: Person, style: str) -> str:
    if style == "pn_full":
        return "^".join(p for p in (person.family, person.given, person.middle) if p).upper()
    return render_name(person.family, person.given, person.middle, style)


def realistic_institution(locale: str, seed: int) -> str:
    """Long, multi-word names with commas, as hospitals call themselves (at most 64 characters: LO)."""
    fake_en = faker_for("en_US", derive_seed(seed, "company"))
    rng = random.Random(seed)
    place = draw_place(locale, derive_seed(seed, "place"), hospital=False)
    city = place.city.split(" ", 1)[-1]
    person = draw_person(locale, derive_seed(seed, "eponym"))
    for _ in range(12):
        form = rng.choice(HOSPITAL_FORMS)
        name = form.format(company=fake_en.company(), city=city, given=person.given, family=person.family)
        if len(name) <= LO_MAX:
            return name
    return f"{city} Hospital"[:LO_MAX]


def realistic_patient_id(rng: random.Random) -> str:
    """Mostly 9-10 digit numbers, as many hospitals issue them."""
    return str(rng.randrange(10**8, 10**9)) if rng.random() < 0.4 else str(rng.randrange(10**9, 10**10))


@dataclass(frozen=True)
class Identity:
    """What the fields of one file are drawn from (the header holds all of it)."""

    patient: Patient
    study: Study
    series: Series
    header_address: str
    header_phone: str


def field_value(rng: random.Random, key: str, who: Identity, outside_seed: int) -> tuple[str, bool]:
    """The value a field shows and whether the header holds it."""
    p, st, se = who.patient, who.study, who.series
    if key == "name":
        return render_real_name(p.person, rng.choice(REAL_NAME_STYLES)), True
    if key == "id":
        return p.patient_id, True
    if key == "birth_date":
        return render_real_date(p.birth_date, rng.choice(REAL_DATE_STYLES)), True
    if key == "study_date":
        return render_real_date(st.date, rng.choice(REAL_DATE_STYLES)), True
    if key == "age":
        style = rng.choice(("dicom", "compact", "spaced", "yrs", "yo", "bare"))
        return (str(st.age_years) if style == "bare" else render_age(st.age_years, style)), True
    if key == "sex":
        return (p.sex if rng.random() < 0.8 else {"M": "Male", "F": "Female"}[p.sex]), True
    if key == "study_time":
        return render_time(se.time, rng.choice(("colons", "dicom", "colons", "short"))), True
    if key == "institution":
        return st.institution.name, True
    if key == "accession":
        return st.accession, True
    if key in ("referring", "reading", "operator"):
        person = {"referring": st.referring, "reading": st.reading, "operator": se.operator}[key]
        return render_real_name(person, rng.choice(("family_comma_given", "given_family", "initial_family",
                                                     "pn"))), True
    if key == "address":
        return who.header_address, True
    if key == "phone":
        return who.header_phone, True
    if key == "study_id":
        return st.requested_procedure_id[-6:], True
    if key == "outside_person":
        person = draw_person(p.locale, derive_seed(outside_seed, "person"), rng.choice("MF"))
        return "Dr. " * (rng.random() < 0.4) + render_name(person.family, person.given, "",
                                                           rng.choice(("given_family", "family_comma_given"))), False
    if key == "outside_institution":
        return realistic_institution(p.locale, derive_seed(outside_seed, "institution")), False
    place = draw_place(p.locale, derive_seed(outside_seed, "address"), hospital=False)
    return place.address, False


def draw_fields(rng: random.Random, who: Identity, count: int, outside: int, outside_seed: int,
                header_texts: set[str], unlabelled_share: float = 0.15) -> list[Field]:
    """`count` fields (the common ones first, shuffled), `outside` of them absent from the header."""
    keys = list(COMMON_FIELDS)
    rng.shuffle(keys)
    rare = list(RARE_FIELDS)
    rng.shuffle(rare)
    keys = (keys[:max(3, min(count, 6))] + rare + keys[6:])[:max(0, count - outside)]
    keys += [rng.choice(OUTSIDE_FIELDS) for _ in range(outside)]
    fields = []
    for index, key in enumerate(keys):
        value, in_header = field_value(rng, key, who, derive_seed(outside_seed, index))
        if not in_header and _held_by_header(value, header_texts):
            continue                       # a fresh draw that happens to be in the header is not "outside"
        if not value.strip():
            continue
        label = None if (rng.random() < unlabelled_share and key in ("name", "id", "institution", "study_date")) \
            else spell_label(rng, key)
        fields.append(Field(key, label, value, in_header))
    rng.shuffle(fields)
    return fields


GENERIC_WORDS = frozenset((
    "hospital", "medical", "center", "centre", "community", "regional", "general", "university", "dept",
    "department", "radiology", "imaging", "associates", "llc", "health", "system", "clinics", "memorial", "and",
    "the", "of", "st", "dr", "klinikum", "institut", "fuer", "service", "hopital", "d'imagerie", "street", "avenue",
    "ave", "road", "rd", "suite", "apt", "lane", "drive", "group", "inc", "ltd", "plc", "sons", "co"))


def _tokens(text: str) -> set[str]:
    cleaned = "".join(ch if ch.isalnum() or ch == "'" else " " for ch in text.casefold())
    return {t for t in cleaned.split() if len(t) >= 3 and t not in GENERIC_WORDS and not (t.isdigit() and len(t) < 4)}


def _held_by_header(value: str, header_texts: set[str]) -> bool:
    """True when a distinctive word of the value (a name, a city, a number) appears in the header."""
    held = set().union(*(_tokens(text) for text in header_texts)) if header_texts else set()
    return bool(_tokens(value) & held)


def header_texts_of(values: list[str]) -> set[str]:
    return {v.replace("^", " ").replace("=", " ") for v in values if v}


# ---------------------------------------------------------------- non-PHI text

def technique_lines(rng: random.Random, modality: str) -> list[Say]:
    """Scanner technique and display text: kVp, mAs, slice thickness, window, series/image numbers."""
    kv = rng.choice((80, 100, 110, 120, 135, 140))
    pool = {
        "CT": [f"kVp {kv}", f"{kv} kV", f"mA {rng.randrange(80, 450)}", f"mAs {rng.randrange(50, 400)}",
               f"ST {rng.choice((0.625, 1.0, 1.25, 2.5, 3.0, 5.0))}mm", f"Thk {rng.choice((1.0, 2.5, 5.0))} mm",
               rng.choice(("W:400 L:40", "W 1500 L -600", "WW 350 WL 50", "C 40 W 400", "W:2000 L:500")),
               f"Se: {rng.randrange(1, 12)}", f"Im: {rng.randrange(1, 300)}/{rng.randrange(300, 600)}",
               rng.choice(("AXIAL", "Axial", "CORONAL", "SAG")), f"DFOV {rng.randrange(25, 50)}.0cm",
               f"Tilt: {rng.choice((0.0, 0.0, 15.0))}", rng.choice(("HFS", "FFS", "HFP")), "STND", "BONE+C"],
        "MR": [f"TR {rng.randrange(400, 9000)}", f"TE {rng.randrange(8, 120)}",
               f"TR/TE {rng.randrange(400, 3000)}/{rng.randrange(8, 120)}",
               rng.choice(("T2 FLAIR", "T1 SE", "T2 TSE", "DWI b1000", "ADC", "T1 MPRAGE", "SWI")),
               f"ST {rng.choice((1.0, 3.0, 4.0, 5.0))} mm", f"FOV {rng.randrange(18, 45)} cm",
               rng.choice(("W:1200 L:600", "W 900 C 450", "WW 2048 WL 1024")), f"Se {rng.randrange(1, 20)}",
               f"Im {rng.randrange(1, 40)}", f"{rng.choice((1.5, 3.0))}T", f"NEX {rng.choice((1, 2, 4))}"],
        "CR": [f"kVp {rng.randrange(60, 125)}", f"mAs {rng.choice((2.0, 3.2, 4.0, 5.0, 8.0))}",
               rng.choice(("CHEST PA", "AP SUPINE", "PORTABLE", "LAT", "ERECT")), f"S {rng.randrange(100, 400)}",
               f"EI {rng.randrange(200, 1800)}", f"L {rng.choice((1.6, 1.8, 2.0))}"],
        "DX": [f"kVp {rng.randrange(60, 125)}", f"mAs {rng.choice((2.0, 3.2, 4.0, 5.0, 8.0))}",
               rng.choice(("CHEST PA", "AP", "PORTABLE", "LAT")), f"EI {rng.randrange(200, 1800)}",
               f"DAP {rng.uniform(0.5, 9.0):.2f}"],
        "MG": [f"kVp {rng.randrange(25, 34)}", f"mAs {rng.randrange(40, 220)}",
               rng.choice(("R CC", "L CC", "R MLO", "L MLO")), f"Comp {rng.randrange(60, 160)} N",
               f"Thk {rng.randrange(30, 80)}mm", f"AGD {rng.uniform(0.8, 2.5):.2f} mGy"],
        "XA": [f"LAO {rng.randrange(5, 45)}", f"CRA {rng.randrange(5, 30)}", f"{rng.choice((7.5, 15, 30))} fps",
               f"kV {rng.randrange(60, 110)}", f"mA {rng.randrange(200, 900)}",
               f"Zoom {rng.choice((1.0, 1.5, 2.0))}"],
        "US": [f"MI {rng.uniform(0.4, 1.4):.1f}", f"TIS {rng.uniform(0.1, 1.2):.1f}",
               f"TIb {rng.uniform(0.1, 1.2):.1f}", f"Gain {rng.randrange(30, 70)}", f"DR {rng.randrange(45, 75)}",
               f"FR {rng.randrange(12, 60)}Hz", f"{rng.choice((2.5, 3.5, 5.0, 7.5, 12.0))} MHz",
               rng.choice(("C5-1", "L12-5", "C9-2", "L18-4", "S5-1", "C1-6")),
               rng.choice(("Abd", "Thyroid", "Gen", "Breast", "Vasc", "OB", "Renal", "MSK")),
               f"D {rng.randrange(3, 24)}.0 cm", rng.choice(("THI", "HGen", "Res", "Pen")),
               f"P {rng.uniform(-6, 0):.1f} dB", f"Map {rng.choice('ABCDE')}/{rng.randrange(1, 6)}",
               rng.choice(("2D", "CF", "PW", "PD")), f"PRF {rng.uniform(0.8, 6.0):.1f} kHz",
               f"WF {rng.choice((50, 100, 200))}Hz"],
    }
    return [other(text, "TECHNIQUE") for text in pool.get(modality, pool["CT"])]


def anatomy_notes(rng: random.Random) -> list[Say]:
    """Notes typed over the anatomy that are not PHI: measurements and findings."""
    notes = [other(f"{rng.uniform(2.0, 95.0):.1f} mm", "MEASUREMENT"),
             other(f"{rng.uniform(0.3, 9.0):.2f} cm", "MEASUREMENT"),
             other(f"Area {rng.uniform(0.2, 30.0):.1f} cm2", "MEASUREMENT"),
             other(f"Mean {rng.uniform(-50, 300):.1f} HU", "MEASUREMENT"),
             other(rng.choice(("lesion", "cyst", "nodule", "see prior", "ROI 1", "ROI 2", "stent", "mass?", "A", "B")),
                   "ANNOTATION"),
             other(f"SD {rng.uniform(1, 40):.1f}", "MEASUREMENT")]
    return notes


ORGAN_LABELS = ("LYMPH NODE", "RT KIDNEY", "LT KIDNEY", "LIVER", "GB", "THYROID RT", "THYROID LT", "TRANS", "SAG",
                "LONG", "CBD", "SPLEEN", "BLADDER", "RT OVARY", "AORTA", "PANCREAS", "R LOBE", "ISTHMUS",
                "LT BREAST 2:00", "RUQ", "PORTAL V", "CCA RT", "ICA LT", "TESTIS RT", "UTERUS", "LN LEVEL II",
                "FETAL HEART")


def organ_label(rng: random.Random) -> Say:
    return other(rng.choice(ORGAN_LABELS), "ANNOTATION")


def caliper_note(rng: random.Random) -> Say:
    return other(rng.choice((f"D1 {rng.uniform(0.2, 6.0):.2f} cm", f"Dist {rng.uniform(0.2, 6.0):.2f}cm",
                             f"+ {rng.uniform(0.2, 6.0):.1f} cm", f"Vol {rng.uniform(0.5, 40.0):.1f} ml",
                             f"L {rng.uniform(0.5, 9.0):.2f}cm W {rng.uniform(0.5, 9.0):.2f}cm")), "MEASUREMENT")


def marker(rng: random.Random) -> Say:
    return other(rng.choice(("L", "R", "A", "P", "H", "F", "LT", "RT", "SUP", "INF")), "MARKER")
