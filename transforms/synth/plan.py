"""Which file gets which kind, transfer syntax, patient, study and series.

The first files follow a fixed coverage plan, so that any corpus of COVERAGE_SIZE files or more holds
every kind and every syntax at least once, several files of one series (references between them),
one patient with two studies and one series split across syntaxes. Files beyond the plan are drawn
from the seed among the combinations each kind allows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pydicom.uid as uid

from transforms.synth.identities import LOCALES, derive_seed
from transforms.synth.kinds import KINDS


@dataclass(frozen=True)
class FileSlot:
    index: int
    kind: str
    syntax: str
    patient: int          # index into the corpus's patients
    study: int            # study number within the patient
    series: int           # series number within the study
    instance: int         # instance number within the series (1-based)


# (kind, syntax, patient, study, series): patient 0 has a CT series of three (two references back to
# the first instance) and a second study (CR); patient 1 has two MR series.
COVERAGE_PLAN: tuple[tuple[str, str, int, int, int], ...] = (
    ("CT", uid.ExplicitVRLittleEndian, 0, 0, 0),
    ("CT", uid.ImplicitVRLittleEndian, 0, 0, 0),
    ("CT", uid.RLELossless, 0, 0, 0),
    ("CR", uid.JPEG2000, 0, 1, 0),
    ("MR", uid.DeflatedExplicitVRLittleEndian, 1, 0, 0),
    ("MR", uid.JPEGLSLossless, 1, 0, 0),
    ("MR", uid.JPEG2000Lossless, 1, 0, 1),
    ("US", uid.JPEGBaseline8Bit, 2, 0, 0),
    ("US", uid.JPEG2000, 2, 0, 0),
    ("XA", uid.JPEGBaseline8Bit, 3, 0, 0),
    ("XA", uid.RLELossless, 3, 0, 0),
    ("MG", uid.JPEG2000Lossless, 4, 0, 0),
    ("DX", uid.JPEGLSNearLossless, 4, 1, 0),
    ("CT", uid.ExplicitVRBigEndian, 5, 0, 0),
    ("CT", uid.JPEGLSLossless, 5, 0, 0),
    ("MR", uid.ExplicitVRLittleEndian, 1, 1, 0),
)
COVERAGE_SIZE = len(COVERAGE_PLAN)
COVERAGE_PATIENTS = 1 + max(p for _, _, p, _, _ in COVERAGE_PLAN)


def plan_files(n: int, seed: int) -> list[FileSlot]:
    """The slots of an n-file corpus: the coverage plan first, then seeded draws."""
    slots: list[FileSlot] = []
    instances: dict[tuple[int, int, int], int] = {}
    for index in range(n):
        if index < COVERAGE_SIZE:
            kind, syntax, patient, study, series = COVERAGE_PLAN[index]
        else:
            kind, syntax, patient, study, series = _drawn_slot(seed, index)
        key = (patient, study, series)
        instances[key] = instances.get(key, 0) + 1
        slots.append(FileSlot(index, kind, syntax, patient, study, series, instances[key]))
    return slots


def _drawn_slot(seed: int, index: int) -> tuple[str, str, int, int, int]:
    """Beyond the plan: new patients mostly, a kind and a syntax it allows; series of one to three."""
    rng = random.Random(derive_seed(seed, "slot", index // 2))
    kind = rng.choice(sorted(KINDS))
    syntax_rng = random.Random(derive_seed(seed, "syntax", index))
    syntax = syntax_rng.choice(KINDS[kind].syntaxes())
    patient = COVERAGE_PATIENTS + (index - COVERAGE_SIZE) // 4
    study = ((index - COVERAGE_SIZE) // 2) % 2
    return kind, syntax, patient, study, 0


def locale_of_patient(patient: int) -> str:
    return LOCALES[patient % len(LOCALES)]
