"""Ultrasound annotations a sonographer needs survive selective redaction: presets, modes, knobs, probe
names, measurements and the organ or position typed over the image. Written from general ultrasound
usage (vendor screens), not from the corpus generator; a name or an ID beside them is still not safe."""

from __future__ import annotations

import pytest

from transforms.phi.safe_text import safe_mask
from transforms.text_types import Box, OcrWord


def line(text: str, confidence: float = 92.0) -> list[OcrWord]:
    words, left = [], 0
    for index, token in enumerate(text.split()):
        words.append(OcrWord(token, confidence, Box(left, 10, 8 * len(token), 12), 0, index))
        left += 8 * len(token) + 6
    return words


@pytest.mark.parametrize("text", ["LYMPH NODE", "Lt Kidney", "RT THYROID", "Upper pole", "TRANS", "C5-1", "L12-5",
                                  "eL18-4", "C1-6-D", "Abd", "ABD GEN", "OB", "Thy", "Gn 50", "G 52", "FR 25Hz",
                                  "D 16cm", "MI 0.6", "TIS 0.4", "PW", "CF", "THI", "Res", "PRF 2.5kHz",
                                  "Frq 5.0 MHz", "RI 0.65", "PSV 45 cm/s", "HR 72 bpm", "CCA", "GB", "CBD"])
def test_ultrasound_labels_are_safe(text):
    assert all(safe_mask(line(text), 200))


@pytest.mark.parametrize("text", ["C5-12345", "CT12-3456", "RT 4471209", "LYMPH Wainwright", "GB 19620304"])
def test_identifiers_and_names_beside_them_are_not(text):
    assert not all(safe_mask(line(text), 200))
