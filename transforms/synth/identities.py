"""Fake people, patients, studies and series, drawn with Faker in several locales.

Each entity is drawn from its own seed (derived from the corpus seed and the entity's key) so that
adding a file does not change the others. Non-Latin locales carry a DICOM SpecificCharacterSet
that can encode their names: Cyrillic (ISO_IR 144), Greek (ISO_IR 126), Japanese with ideographic
and phonetic PN groups (ISO 2022 IR 87), Polish in UTF-8 (ISO_IR 192), Western European in Latin-1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker
from pydicom.charset import convert_encodings, encode_string
from pydicom.uid import generate_uid

from transforms.synth.renderings import render_age

LOCALE_CHARSETS: dict[str, tuple[str, ...]] = {
    "en_US": (),
    "de_DE": ("ISO_IR 100",),
    "ja_JP": ("", "ISO 2022 IR 87"),
    "ru_RU": ("ISO_IR 144",),
    "pl_PL": ("ISO_IR 192",),
    "el_GR": ("ISO_IR 126",),
    "fr_FR": ("ISO_IR 100",),
    "es_ES": ("ISO_IR 100",),
}
LOCALES = tuple(LOCALE_CHARSETS)
UID_ROOT_ENTROPY = "deidlake-synth"
PN_MAX_BYTES = 64          # dciodvfy counts the encoded bytes, ISO 2022 escapes included
STUDY_DATE_RANGE = (dt.date(2008, 1, 1), dt.date(2024, 12, 31))


def derive_seed(seed: int, *labels: object) -> int:
    """A stable 63-bit seed from the corpus seed and labels (Python's hash() is salted per run)."""
    text = "\x1f".join([str(seed), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def seeded_uid(seed: int, *labels: object) -> str:
    """A UID fixed by the seed (pydicom hashes the entropy sources), never from time or uuid4."""
    return str(generate_uid(entropy_srcs=[UID_ROOT_ENTROPY, str(seed), *map(str, labels)]))


@lru_cache(maxsize=None)
def _faker(locale: str) -> Faker:
    return Faker(locale)


def faker_for(locale: str, seed: int) -> Faker:
    fake = _faker(locale)
    fake.seed_instance(seed)
    return fake


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    middle: str = ""
    prefix: str = ""
    suffix: str = ""
    ideographic: tuple[str, str] | None = None   # (family, given) in kanji
    phonetic: tuple[str, str] | None = None      # (family, given) in kana

    def pn(self) -> str:
        """DICOM PN: family^given^middle^prefix^suffix, with =ideographic=phonetic groups."""
        alphabetic = "^".join([self.family, self.given, self.middle, self.prefix, self.suffix]).rstrip("^")
        groups = [alphabetic]
        if self.ideographic:
            groups.append("^".join(self.ideographic))
        if self.phonetic:
            groups.append("^".join(self.phonetic))
        return "=".join(groups)


def draw_person(locale: str, seed: int, sex: str = "M") -> Person:
    fake = faker_for(locale, seed)
    rng = random.Random(seed)
    male = sex == "M"
    if locale == "ja_JP":
        return _draw_japanese_person(fake, male)
    if locale == "ru_RU":
        family = fake.last_name_male() if male else fake.last_name_female()
        given = fake.first_name_male() if male else fake.first_name_female()
        middle = fake.middle_name_male() if male else fake.middle_name_female()
        return Person(family, given, middle)
    family = fake.last_name_male() if male and hasattr(fake, "last_name_male") else fake.last_name()
    given = fake.first_name_male() if male else fake.first_name_female()
    middle = fake.first_name_male()[:1] if locale == "en_US" and rng.random() < 0.5 else ""
    suffix = rng.choice(("Jr", "III", "Sr")) if locale == "en_US" and rng.random() < 0.25 else ""
    return Person(family, given, middle, suffix=suffix)


def _draw_japanese_person(fake: Faker, male: bool) -> Person:
    """Alphabetic, ideographic and phonetic groups. Names whose ISO 2022 IR 87 bytes contain 0x5C are
    redrawn: it is the DICOM value delimiter, and common tools (dciodvfy) split values on it."""
    encodings = convert_encodings(list(LOCALE_CHARSETS["ja_JP"]))
    while True:
        family_kanji, family_kana, family_roman = fake.last_name_pair()
        pair = fake.first_name_male_pair() if male else fake.first_name_female_pair()
        given_kanji, given_kana, given_roman = pair
        for phonetic in ((_to_hiragana(family_kana), _to_hiragana(given_kana)), None):
            person = Person(family_roman, given_roman, ideographic=(family_kanji, given_kanji),
                            phonetic=phonetic)
            encoded = encode_string(person.pn(), encodings)
            if len(encoded) <= PN_MAX_BYTES and b"\\" not in encoded:
                return person


def _to_hiragana(katakana: str) -> str:
    """Faker gives katakana readings; hiragana is the common phonetic group in Japanese PNs."""
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in katakana)


@dataclass(frozen=True)
class Place:
    name: str
    street: str
    city: str
    phone: str

    @property
    def address(self) -> str:
        return f"{self.street}, {self.city}"


def draw_place(locale: str, seed: int, hospital: bool) -> Place:
    fake = faker_for(locale, seed)
    rng = random.Random(seed)
    city = fake.city()
    if hospital:
        name = rng.choice((f"{city} General Hospital", f"{fake.last_name()} Medical Center",
                           f"St. {fake.first_name()} Hospital {city}", f"Klinikum {city}"))
        if locale == "ja_JP":
            name = f"{city}中央病院"
    else:
        name = ""
    street = fake.street_address().replace("\n", " ")
    city_line = f"{fake.postcode()} {city}"
    phone = fake.phone_number()
    return Place(name, street, city_line, phone)


PATIENT_ID_FORMATS = ("zero_padded", "mrn_dashed", "letter_digits", "long_digits", "spaced_groups")


def draw_patient_id(rng: random.Random, style: str) -> str:
    """Patient IDs as hospitals issue them; several keep leading zeros that tools like to strip."""
    if style == "zero_padded":
        return f"{rng.randrange(1000, 999999):08d}"
    if style == "mrn_dashed":
        return f"MRN-{rng.randrange(0, 9999):04d}-{rng.randrange(10)}"
    if style == "letter_digits":
        return f"{rng.choice('ABEHKMRS')}{rng.randrange(0, 10**7):07d}"
    if style == "long_digits":
        return f"{rng.randrange(10**9, 10**10)}"
    return f"{rng.randrange(100, 999)} {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"


def draw_accession(rng: random.Random, study_date: dt.date) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"A{study_date.year}{rng.randrange(0, 10**6):06d}"
    if style == 1:
        return f"{rng.randrange(0, 10**8):010d}"
    if style == 2:
        return f"RAD-{study_date:%y}-{rng.randrange(0, 10**5):05d}"
    return f"E{rng.randrange(10**6, 10**7)}"


@dataclass(frozen=True)
class Patient:
    key: str
    locale: str
    person: Person
    sex: str
    birth_date: dt.date
    patient_id: str
    issuer: str
    other_id: str
    other_id_issuer: str
    mother_birth_family: str
    home: Place

    @property
    def charset(self) -> tuple[str, ...]:
        return LOCALE_CHARSETS[self.locale]


def draw_patient(seed: int, index: int, locale: str) -> Patient:
    key = f"patient-{index:03d}"
    entity_seed = derive_seed(seed, key)
    rng = random.Random(entity_seed)
    sex = rng.choice("MF")
    birth = dt.date(1925, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 95))
    id_style = PATIENT_ID_FORMATS[index % len(PATIENT_ID_FORMATS)]
    person = draw_person(locale, derive_seed(entity_seed, "name"), sex)
    mother = draw_person(locale, derive_seed(entity_seed, "mother"), "F")
    home = draw_place(locale, derive_seed(entity_seed, "home"), hospital=False)
    return Patient(key, locale, person, sex, birth, draw_patient_id(rng, id_style),
                   issuer="HOSPITAL MRN", other_id=draw_patient_id(rng, "letter_digits"),
                   other_id_issuer="REGIONAL HEALTH ID", mother_birth_family=mother.family, home=home)


@dataclass(frozen=True)
class Study:
    key: str
    uid: str
    date: dt.date
    time: dt.time
    accession: str
    institution: Place
    referring: Person
    reading: Person
    requesting: Person
    requested_procedure_id: str
    age_years: int

    @property
    def age(self) -> str:
        return render_age(self.age_years, "dicom")


def draw_study(seed: int, patient: Patient, study_index: int) -> Study:
    key = f"{patient.key}/study-{study_index}"
    entity_seed = derive_seed(seed, key)
    rng = random.Random(entity_seed)
    low, high = STUDY_DATE_RANGE
    first = max(low, patient.birth_date + dt.timedelta(days=400))
    date = first + dt.timedelta(days=rng.randrange(0, max(1, (high - first).days)))
    time = dt.time(rng.randrange(7, 20), rng.randrange(60), rng.randrange(60))
    age = date.year - patient.birth_date.year - ((date.month, date.day)
                                                < (patient.birth_date.month, patient.birth_date.day))
    people = [draw_person(patient.locale, derive_seed(entity_seed, role), rng.choice("MF"))
              for role in ("referring", "reading", "requesting")]
    return Study(key, seeded_uid(seed, key, "study"), date, time, draw_accession(rng, date),
                 draw_place(patient.locale, derive_seed(entity_seed, "institution"), hospital=True),
                 *people, requested_procedure_id=f"RP{rng.randrange(10**5, 10**6)}", age_years=age)


@dataclass(frozen=True)
class Series:
    key: str
    uid: str
    frame_of_reference_uid: str
    number: int
    time: dt.time
    operator: Person
    performing: Person
    station_name: str
    device_serial: str


def draw_series(seed: int, patient: Patient, study: Study, series_index: int, modality: str) -> Series:
    key = f"{study.key}/series-{series_index}"
    entity_seed = derive_seed(seed, key)
    rng = random.Random(entity_seed)
    minutes = study.time.hour * 60 + study.time.minute + 3 * series_index
    time = dt.time((minutes // 60) % 24, minutes % 60, rng.randrange(60))
    operator = draw_person(patient.locale, derive_seed(entity_seed, "operator"), rng.choice("MF"))
    performing = draw_person(patient.locale, derive_seed(entity_seed, "performing"), rng.choice("MF"))
    station = f"{modality}{rng.choice(('SCAN', 'ROOM', 'SUITE'))}-{rng.choice(('EAST', 'WEST', 'NORTH'))}-{rng.randrange(1, 20):02d}"
    serial = f"SN{rng.randrange(10**6, 10**7)}"
    return Series(key, seeded_uid(seed, key, "series"), seeded_uid(seed, key, "for"),
                  series_index + 1, time, operator, performing, station, serial)
