"""Labelled lines of overlay text for the NER model, drawn with the corpus generator's people, places
and renderings (no image is rendered: text is all the model needs, and drawing it is 1000x faster).

The NER is there for what neither the header dictionary nor a pattern can see: a person's name or a
place with no label, no "LAST, FIRST" shape and no header value (a referring physician, an operator,
another site, a home address). So besides the generator's own annotation blocks (`synth.layout`:
the patient's name, ID, birth date; institution, study date, accession; technique), the training
lines hold people and places that a header does not: physicians after a label, a title or alone,
operators by initials, other hospitals, street and postal lines. Lines without PHI (technique,
counters, series descriptions, devices, departments) teach what to keep.

`training_lines(seed, n)` draws from the generator's eight locales and the institution forms it
writes; `evaluation_lines(seed, n)` from other seeds, from Faker locales the generator never uses and
from institution forms it never writes, so that a score measures generalisation, not memory.

Every line is identified data (it holds generated PHI): it goes to a training file or a recognizer,
never to a table or a log.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from transforms.phi.evaluation import ocr_noise
from transforms.synth.burn import Run, label, phi, plain
from transforms.synth.identities import (LOCALES, Person, derive_seed, draw_patient, draw_person, draw_place,
                                         draw_series, draw_study, faker_for)
from transforms.synth.kinds import KINDS
from transforms.synth.layout import patient_block, study_block, technique_block
from transforms.synth.renderings import DATE_STYLES, NAME_STYLES, pick, render_date, render_name

NER_CATEGORIES = ("NAME", "INSTITUTION", "ADDRESS")     # what the model tags; other PHI is the patterns'
TRAINING_LOCALES = LOCALES
# Faker locales the corpus generator never draws from: names and places the model has not seen.
EVALUATION_LOCALES = ("it_IT", "nl_NL", "pt_BR", "sv_SE", "cs_CZ", "tr_TR", "fi_FI", "hu_HU", "en_GB",
                      "uk_UA", "ro_RO", "da_DK")

PERSON_LABELS = ("Ref:", "Referring:", "Ref. Phys:", "Referring Physician:", "Physician:", "Read by:",
                 "Reported by:", "Performed by:", "Operator:", "Tech:", "Technologist:", "Radiologist:",
                 "Requested by:", "Name:", "Patient:", "Pat:", "Zuweiser:", "Arzt:", "Untersucher:",
                 "Médecin:", "Врач:", "Lekarz:")
TITLES = ("Dr.", "Dr", "DR.", "Prof.", "Prof. Dr.", "Mr.", "Mrs.", "Ms.", "Herr", "Frau")
CREDENTIALS = ("MD", "M.D.", "DO", "RT(R)", "PhD", "FRCR", "RN")
PLACE_LABELS = ("Institution:", "Hospital:", "Site:", "Facility:", "Klinik:")
ADDRESS_LABELS = ("Address:", "Addr:", "Anschrift:", "Home:")
DEPARTMENTS = ("Radiology", "Dept. of Radiology", "Department of Radiology", "Diagnostic Imaging",
               "Nuclear Medicine", "Emergency Dept", "Radiologie", "Neuroradiology", "Interventional Radiology",
               "Cardiology", "Mammography Unit", "Abteilung Radiologie")
# The generator's institutions are "<City> General Hospital", "<Family> Medical Center", "St. <Given>
# Hospital <City>", "Klinikum <City>" (identities.draw_place); a few more shapes of the same kind.
TRAINING_INSTITUTION_FORMS = ("{city} Imaging Center", "{family} Clinic", "University Hospital {city}",
                              "{city} Medical Center", "Radiologie {city}", "{city} Hospital",
                              "{city} Diagnostic Center", "{family} Imaging", "Institut {family}",
                              "{city} Cancer Center", "Universitätsklinikum {city}", "MVZ {family}",
                              "{city} Heart Institute", "{family} Health Partners", "Krankenhaus {city}",
                              "{city} Specialty Care", "Centrum Medyczne {family}", "{family} Orthopaedics")
# Never in training: other languages' words for a hospital, and names with no such word at all.
EVALUATION_INSTITUTION_FORMS = ("Ospedale San {given}", "Hôpital {family}", "Centre Hospitalier de {city}",
                                "{city} Children's Hospital", "{family} Memorial Hospital", "Szpital Miejski {city}",
                                "{city} Community Health", "Sint-{given} Ziekenhuis", "{city} Radiology Associates",
                                "Praxis {family}", "Policlinico {city}", "{city} Regional Medical Centre")
SERIES_DESCRIPTIONS = ("AX T2 FLAIR", "SAG T1 SE", "COR STIR", "DWI b1000", "ADC", "3D TOF MRA", "T2 TSE TRA",
                       "CHEST PA", "CHEST AP PORTABLE", "ABDOMEN SUPINE", "LAT", "AP Supine", "Semi-Upright",
                       "Upright", "Scout", "Localizer", "Topogram 0.6 T20f", "Head 5.0 H30s", "Abd/Pelvis W Contrast",
                       "Arterial Phase", "Venous Phase", "Delayed", "Bone Window", "Lung 1.25", "Soft Tissue",
                       "CCA Long Axis", "Apical 4 Chamber", "Parasternal Short", "LT BREAST CC", "RT MLO",
                       "Pre Contrast", "Post Gd", "MIP", "MPR Coronal", "Cine", "Fluoro", "Run 3", "Roadmap")
DEVICES = ("SIEMENS", "GE MEDICAL SYSTEMS", "Philips", "TOSHIBA", "Canon Medical", "Hologic", "FUJIFILM",
           "Carestream", "Agfa", "Samsung", "Mindray", "Esaote", "Shimadzu", "Konica Minolta", "Hitachi",
           "Aquilion Prime", "Optima CT660", "Revolution EVO", "Ingenia 3.0T", "MAGNETOM Skyra", "Vida",
           "Achieva", "Signa HDxt", "Discovery MR750", "Selenia Dimensions", "LOGIQ E9", "EPIQ 7G", "Acuson S2000",
           "Artis zee", "Allura Xper", "Azurion", "CXDI-70C", "DRX-Evolution", "Ysio Max", "Definition Edge")
UNITS = ("mm", "cm", "ms", "%", "mGy", "HU", "dB", "Hz", "cm/s")


@dataclass(frozen=True)
class LabelledLine:
    """One line of overlay text as runs (a label, a value, a marker), each PHI or not."""

    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return " ".join(run.text for run in self.runs)

    def spans(self, categories: Sequence[str] = NER_CATEGORIES) -> list[tuple[int, int, str]]:
        """(start, end, category) of the PHI runs of the given categories, in line characters."""
        found, cursor = [], 0
        for run in self.runs:
            if run.is_phi and run.category in categories:
                found.append((cursor, cursor + len(run.text), run.category))
            cursor += len(run.text) + 1
        return found


def _name(person: Person, rng: random.Random) -> str:
    style = pick(rng, NAME_STYLES + ("given_middle_family", "family_given"))
    if style == "given_middle_family":
        return " ".join(p for p in (person.given, person.middle, person.family) if p)
    if style == "family_given":
        return f"{person.family} {person.given}"
    return render_name(person.family, person.given, person.middle, style)


def _person_line(person: Person, rng: random.Random) -> list[Run]:
    name = phi(_name(person, rng), "NAME")
    shape = rng.randrange(7)
    if shape == 0:
        return [name]
    if shape == 1:
        return [label(rng.choice(PERSON_LABELS)), name]
    if shape == 2:
        runs = [plain(rng.choice(TITLES), "TITLE"), phi(f"{person.given} {person.family}"
                                                          if rng.random() < 0.5 else person.family, "NAME")]
        return ([label(rng.choice(PERSON_LABELS))] if rng.random() < 0.5 else []) + runs
    if shape == 3:
        return [name, plain(rng.choice(CREDENTIALS), "TITLE")]
    if shape == 4:        # a patient line of a radiograph: name, sex, date
        return [name, phi(rng.choice(("[M]", "[F]", "(M)", "(F)", "M", "F")), "SEX"),
                phi(render_date(_a_date(rng), pick(rng, DATE_STYLES)), "DATE")]
    if shape == 5:        # operator initials
        initials = f"{person.given[:1]}{person.family[:1]}".upper()
        return [label(rng.choice(("Operator:", "Op:", "Tech:", "Initials:"))), phi(initials, "NAME")]
    return [plain(rng.choice(DEPARTMENTS), "DEPARTMENT"), name]


def _a_date(rng: random.Random) -> dt.date:
    return dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 90))


def _institution(locale: str, seed: int, forms: Sequence[str] | None) -> str:
    """A hospital name: the generator's own (`forms` None) or one of `forms` filled from Faker."""
    if forms is None:
        return draw_place(locale, seed, hospital=True).name
    fake = faker_for(locale, seed)
    rng = random.Random(seed)
    return rng.choice(forms).format(city=fake.city(), family=fake.last_name(), given=fake.first_name())


def _place_line(name: str, rng: random.Random) -> list[Run]:
    institution = phi(name, "INSTITUTION")
    shape = rng.randrange(4)
    if shape == 0:
        return [institution]
    if shape == 1:
        return [label(rng.choice(PLACE_LABELS)), institution]
    if shape == 2:
        return [plain(rng.choice(DEPARTMENTS) + ",", "DEPARTMENT"), institution]
    return [institution, plain(rng.choice(DEPARTMENTS), "DEPARTMENT")]


def _address_line(locale: str, seed: int, rng: random.Random) -> list[Run]:
    place = draw_place(locale, seed, hospital=False)
    shape = rng.randrange(4)
    if shape == 0:
        return [phi(place.street, "ADDRESS")]
    if shape == 1:
        return [phi(place.city, "ADDRESS")]
    if shape == 2:
        return [label(rng.choice(ADDRESS_LABELS)), phi(place.address, "ADDRESS")]
    return [phi(place.address, "ADDRESS"), label("Tel:"), phi(place.phone, "PHONE")]


def _keep_line(rng: random.Random) -> list[Run]:
    """A line a radiologist needs: technique, series, device, counters, measurements, department."""
    shape = rng.randrange(7)
    if shape == 0:
        return list(rng.choice(technique_block(KINDS[rng.choice(sorted(KINDS))], rng)))
    if shape == 1:
        return [plain(rng.choice(SERIES_DESCRIPTIONS), "SERIES")]
    if shape == 2:
        return [plain(" ".join(rng.sample(DEVICES, rng.randint(1, 2))), "DEVICE")]
    if shape == 3:
        return [plain(rng.choice((f"Se {rng.randint(1, 12)} Im {rng.randint(1, 300)}",
                                  f"Frame {rng.randint(1, 30)}/{rng.randint(30, 90)}",
                                  f"Image {rng.randint(1, 99)} of {rng.randint(100, 400)}",
                                  f"Page {rng.randint(1, 3)}")), "FRAME")]
    if shape == 4:
        return [plain(f"{rng.uniform(0.5, 120):.1f} {rng.choice(UNITS)}", "MEASUREMENT")]
    if shape == 5:
        return [plain(rng.choice(DEPARTMENTS), "DEPARTMENT")]
    return [plain(rng.choice(("R", "L", "A", "P", "H", "F", "R CC", "L MLO", "AP", "PA", "LAT")), "MARKER")]


def _styled(runs: list[Run], rng: random.Random, noise_share: float) -> LabelledLine:
    """Upper case (many scanners print so) and simulated OCR errors on a share of the lines."""
    if rng.random() < 0.2:
        runs = [Run(run.text.upper(), run.category, run.is_phi) for run in runs]
    if rng.random() < noise_share:
        perturb = ocr_noise(0.04, rng.randrange(1 << 30))
        runs = [Run(" ".join(perturb(word) for word in run.text.split()), run.category, run.is_phi)
                for run in runs]
    return LabelledLine(tuple(run for run in runs if run.text.strip()))


def _document_lines(seed: int, index: int, locale: str, rng: random.Random,
                    institution_forms: Sequence[str] | None, with_blocks: bool) -> list[list[Run]]:
    """The lines of one synthetic image: the generator's blocks (training) and other people/places."""
    base = derive_seed(seed, "ner-text", index)
    lines: list[list[Run]] = []
    if with_blocks:
        patient = draw_patient(base, index, locale)
        study = draw_study(base, patient, 0)
        series = draw_series(base, patient, study, 0, rng.choice(sorted(KINDS)))
        lines += patient_block(patient, study, rng) + study_block(study, series, rng)
    for role in range(rng.randint(2, 4)):
        person = draw_person(locale, derive_seed(base, "person", role), rng.choice("MF"))
        lines.append(_person_line(person, rng))
    lines.append(_place_line(_institution(locale, derive_seed(base, "site"), institution_forms), rng))
    if rng.random() < 0.5:
        lines.append(_address_line(locale, derive_seed(base, "home"), rng))
    lines += [_keep_line(rng) for _ in range(rng.randint(2, 4))]
    return lines


def _lines(seed: int, count: int, locales: Sequence[str], institution_forms: Sequence[str] | None,
           with_blocks: bool, noise_share: float) -> list[LabelledLine]:
    rng = random.Random(derive_seed(seed, "ner-lines"))
    out: list[LabelledLine] = []
    index = 0
    while len(out) < count:
        locale = locales[index % len(locales)]
        out += [_styled(runs, rng, noise_share)
                for runs in _document_lines(seed, index, locale, rng, institution_forms, with_blocks)]
        index += 1
    return [line for line in out[:count] if line.runs]


def training_lines(seed: int, count: int) -> list[LabelledLine]:
    """Lines from the generator's locales and institution forms (plus TRAINING_INSTITUTION_FORMS half
    of the time), a quarter of them with simulated OCR errors."""
    half = count // 2
    return (_lines(seed, half, TRAINING_LOCALES, None, True, 0.25)
            + _lines(derive_seed(seed, "forms"), count - half, TRAINING_LOCALES, TRAINING_INSTITUTION_FORMS,
                     True, 0.25))


def evaluation_lines(seed: int, count: int, unseen_forms: bool = True) -> list[LabelledLine]:
    """People and places from Faker locales never used in training, and (`unseen_forms`) hospitals in
    forms never used in training, else in the generator's own forms (no patient block: these are the
    people and places a header does not hold)."""
    forms = EVALUATION_INSTITUTION_FORMS if unseen_forms else None
    return _lines(seed, count, EVALUATION_LOCALES, forms, False, 0.0)

