"""Helpers of the PHI recognizer tests (no test here; the other test_phi_* modules import them): lines
with word boxes, and checks that never print PHI.

Assertions compare booleans or counts computed here, and parametrized cases are named by their form
("us", "eu_dots"), never by their value, so a failing test shows no PHI.
"""

from __future__ import annotations

from transforms.keyring import Keyring
from transforms.phi import PhiDictionary, PhiRecognizer
from transforms.text_types import Box, OcrWord, TextLine

KEYRING = Keyring(b"phi-tests-secret-0123456789abcdef")
RECOGNIZER = PhiRecognizer(keyring=KEYRING)
CHAR_WIDTH = 10
HEIGHT = 14


def line_of(text: str, top: int = 0, left: int = 0, index: int = 0) -> TextLine:
    """A text line whose words sit CHAR_WIDTH pixels per character, one space apart."""
    words, cursor = [], 0
    for k, word in enumerate(text.split(" ")):
        if word:
            words.append(OcrWord(word, 95.0, Box(left + cursor * CHAR_WIDTH, top, len(word) * CHAR_WIDTH, HEIGHT),
                                 index, k))
        cursor += len(word) + 1
    region = Box(left, top, max(len(text), 1) * CHAR_WIDTH, HEIGHT)
    return TextLine(region, tuple(words))


def flagged_parts(text: str, dictionary: PhiDictionary | None = None) -> list[str]:
    """The PHI substrings of `text` (identified: use only inside a boolean or a count)."""
    return [text[c.start:c.end] for c in RECOGNIZER.find_phi_in_text(text, dictionary)]


def is_fully_flagged(text: str, value: str, dictionary: PhiDictionary | None = None) -> bool:
    """Every letter/digit of `value` (as it occurs in `text`) lies inside some PHI chunk."""
    start = text.index(value)
    chunks = RECOGNIZER.find_phi_in_text(text, dictionary)
    return all(any(c.start <= i < c.end for c in chunks)
               for i in range(start, start + len(value)) if text[i].isalnum())


def is_untouched(text: str, value: str, dictionary: PhiDictionary | None = None) -> bool:
    """No character of `value` (as it occurs in `text`) lies inside a PHI chunk."""
    start = text.index(value)
    chunks = RECOGNIZER.find_phi_in_text(text, dictionary)
    return not any(c.start < start + len(value) and start < c.end for c in chunks)


def header_rows(**values: tuple[str, str]) -> list[dict]:
    """bronze.dicom_elements-like rows: keyword=(vr, value)."""
    from pydicom.datadict import tag_for_keyword

    rows = []
    for keyword, (vr, value) in values.items():
        tag = tag_for_keyword(keyword)
        rows.append({"keyword": keyword, "vr": vr, "value": value, "element_path": f"{tag:08X}"})
    return rows
