"""The leakage gate's judgement of what its re-check reads: text that can carry PHI holds the file, the
remnant a fill's edge leaves after a kept label does not (it held 15 of 21 files on a realistic corpus)."""

from __future__ import annotations

import pytest

from transforms.keyring import Keyring
from transforms.leakage import leaking_frames
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer
from transforms.text_types import Box, OcrWord, TextLine

RECOGNIZER = PhiRecognizer(keyring=Keyring(b"deidlake-unit-test-secret-0123456789"))
EMPTY = PhiDictionary.from_header_elements([])


def line(*texts: str, confidence: float = 60.0) -> TextLine:
    words, left = [], 10
    for k, text in enumerate(texts):
        width = 9 * len(text)
        words.append(OcrWord(text, confidence, Box(left, 10, width, 12), 0, k))
        left += width + 9
    return TextLine(Box(8, 8, left, 16), tuple(words))


@pytest.mark.parametrize("texts", [("Age:", "i”"), ("Pat", "Name:", "iy"), ("Requested", "By:", "[x"),
                                   ("PATIENT", "AGE:", "Hl"), ("Acquisition", "Time:", "iii"),
                                   ("Date", "of", "Birth:", "t"), ("Hospital",), ("HOSPITAL",)])
def test_a_kept_label_and_a_fills_remnant_hold_nothing(texts):
    assert leaking_frames([(0, [line(*texts)])], EMPTY, RECOGNIZER) == []


@pytest.mark.parametrize("texts", [("Age:", "46Y"), ("Sex:", "M"), ("ACCESSION", "#", "Corse4r"),
                                   ("Pat", "Name:", "Wainwright"), ("DOB:", "1976-06-16"),
                                   ("Scott", "Community", "Hospital"), ("Acquisition", "Time:", "08:23")])
def test_a_value_that_can_tell_something_holds_the_frame(texts):
    assert leaking_frames([(0, [line(*texts)]), (1, [line("W", "400", "L", "40")])], EMPTY, RECOGNIZER) == [0]


def test_a_header_value_holds_the_frame_however_short():
    dictionary = PhiDictionary.from_header_elements([{"keyword": "PatientName", "vr": "PN", "value": "LI^WU",
                                                      "element_path": "00100010", "tag": "00100010"}])
    assert leaking_frames([(0, [line("Name:", "LI", "WU")])], dictionary, RECOGNIZER) == [0]
