"""The leakage gate's judgement of what its re-check reads: text that can carry PHI holds the file, the
remnant a fill's edge leaves after a kept label does not (it held 15 of 21 files on a realistic corpus)."""

from __future__ import annotations

import pytest

from transforms.keyring import Keyring
from transforms.leakage import leaking_frames
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer
from transforms.phi.sparknlp_engine import AnnotatedRecognizer, Annotation
from transforms.text_types import Box, OcrWord, TextLine

RECOGNIZER = PhiRecognizer(keyring=Keyring(b"deidlake-unit-test-secret-0123456789"))
EMPTY = PhiDictionary.from_header_elements([])


def line(*texts: str, confidence: float = 60.0) -> TextLine:
    return read_line([(text, confidence) for text in texts])


@pytest.mark.parametrize("texts", [("Age:", "i”"), ("Pat", "Name:", "iy"), ("Requested", "By:", "[x"),
                                   ("PATIENT", "AGE:", "Hl"), ("Acquisition", "Time:", "iii"),
                                   ("Date", "of", "Birth:", "t"), ("Hospital",), ("HOSPITAL",),
                                   ("Accession", "mba", "number]"), ("ACCESSION;", "NUMBER"), ("Accession:", "Numoer")])
def test_a_kept_label_and_a_fills_remnant_hold_nothing(texts):
    assert leaking_frames([(0, [line(*texts)])], EMPTY, RECOGNIZER) == []


@pytest.mark.parametrize("texts", [("Age:", "46Y"), ("Sex:", "M"), ("ACCESSION", "#", "Corse4r"),
                                   ("Pat", "Name:", "Wainwright"), ("DOB:", "1976-06-16"),
                                   ("Scott", "Community", "Hospital"), ("Acquisition", "Time:", "08:23"),
                                   ("Hosp", "No:", "4829301756"), ("Accession", "number", "Corse4r")])
def test_a_value_that_can_tell_something_holds_the_frame(texts):
    assert leaking_frames([(0, [line(*texts)]), (1, [line("W", "400", "L", "40")])], EMPTY, RECOGNIZER) == [0]


def test_a_header_value_holds_the_frame_however_short():
    dictionary = PhiDictionary.from_header_elements([{"keyword": "PatientName", "vr": "PN", "value": "LI^WU",
                                                      "element_path": "00100010", "tag": "00100010"}])
    assert leaking_frames([(0, [line("Name:", "LI", "WU")])], dictionary, RECOGNIZER) == [0]


def ner_everywhere(documents):
    """A Spark NLP engine whose NER takes every field for a name (what it did with remnants)."""
    return [[Annotation("ner", 0, len(document), "NAME", 0.9)] for document in documents]


NER_RECOGNIZER = AnnotatedRecognizer(ner_everywhere, keyring=Keyring(b"deidlake-unit-test-secret-0123456789"))


@pytest.mark.parametrize("words", [[("#HIAI", 46)], [("fo.", 3), ("tes", 49)], [("ek", 24), ("Teas", 13), ("Stok", 8)],
                                   [("PATIENT", 95), ("AGE:", 95), ("PENTA", 0)], [("SCAN", 74), ("DATE", 95)],
                                   [("AORTA", 96), ("RORTA", 0)], [("62.3mm", 86), ("omni", 11)],
                                   [("Pt", 72), ("UOBE", 63), ("ADS", 87)], [("|Set", 50), ("day", 84)],
                                   [("fk", 0), ("Aa", 0), ("peoy|", 77)], [("HOSP", 96), ("NO", 96)],
                                   [("REFERRED", 96), ("BY", 96)], [("REFERRED", 96), ("FROM", 96)],
                                   [("TELEPHO", 91), ("revernoall", 0)], [("SERIES", 93), ("DATEI", 86)],
                                   [("BIRTHDATE:", 96), ("BIRTHDATI", 89)],
                                   [("DATE", 96), ("OF", 95), ("BIRTHI", 89)]])
def test_the_ner_takes_no_remnant_for_a_name_at_the_gate(words):
    """Remnants of fills and kept labels, as the re-check read them on realistic outputs (seeds 61206,
    20261206 and 20261207): a fill's edge read as a bar or a letter beside a label word, labels cut
    short, labels the vocabulary learnt from real overlays."""
    assert leaking_frames([(0, [read_line(words)])], EMPTY, NER_RECOGNIZER) == []


@pytest.mark.parametrize("words", [[("Rosa", 97), ("Hartmann", 96)], [("334", 94), ("Stacy", 96), ("Pass", 96)],
                                   [("Valencia", 39), ("Regional", 71), ("Medical", 80), ("Center", 69)],
                                   [("O'Brien", 88)], [("Agee", 91)], [("Dale", 90), ("Named", 88)]])
def test_a_legible_name_the_ner_finds_holds_the_frame(words):
    """PHI in clear that only the NER knows (absent from the header) still holds the file."""
    assert leaking_frames([(0, [read_line(words)])], EMPTY, NER_RECOGNIZER) == [0]


def read_line(words: list[tuple[str, float]]) -> TextLine:
    placed, left = [], 10
    for k, (text, confidence) in enumerate(words):
        width = 9 * len(text)
        placed.append(OcrWord(text, confidence, Box(left, 10, width, 12), 0, k))
        left += width + 9
    return TextLine(Box(8, 8, left, 16), tuple(placed))
