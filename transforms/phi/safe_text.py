"""Which OCR words are confidently *not* PHI: the text selective redaction may keep.

Selective redaction keeps only what it can vouch for (orientation markers, technique and its settings,
measurements, counters, units, and the labels in front of values) and fills everything else: a word the
OCR misread, a region it could not read, a value after a label. Recall does not depend on reading PHI
correctly, only on reading the safe text correctly; a misread safe word costs some over-redaction.

The vocabulary is `vocabulary.py`'s (written from general radiology usage, never from our generator).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from transforms.phi.normalize import plain_key
from transforms.phi.vocabulary import KEEP_WORDS, PHI_LABELS, TECHNIQUE_WORDS
from transforms.text_types import OcrWord

SAFE_MIN_CONFIDENCE = 60.0          # below this a word's reading is not trusted to be what it says
LABEL_TOKENS = frozenset(token for phrase in PHI_LABELS for token in phrase)
UNITS = r"(?:mm|cm|m|ms|s|sec|hz|khz|mhz|db|hu|kv|kvp|ma|mas|fps|bpm|mgy|mgycm|msv|deg|x|%|°)"
NUMBER = r"[<>~±+-]?\d{1,3}(?:[.,]\d{1,3})?"
SAFE_SHAPES = (
    re.compile(rf"^{NUMBER}{UNITS}?$", re.IGNORECASE),                      # 120, 5.0, 46.6mm, 59%
    re.compile(r"^\d{1,4}/\d{1,4}$"),                                        # 3/30 (frame, image counters)
    re.compile(rf"^[a-z]{{1,4}}[:=]{NUMBER}{UNITS}?$", re.IGNORECASE),       # W:400 L:40 TR=807
    re.compile(r"^[(\[]?[lrapfhsi][)\]]?$", re.IGNORECASE),                  # markers, also "(L)"
)


def is_safe_word(word: OcrWord, next_word: OcrWord | None = None) -> bool:
    """A word read confidently and known not to carry identity on its own."""
    if word.confidence < SAFE_MIN_CONFIDENCE:
        return False
    text = word.text.strip()
    if not text:
        return True
    if any(shape.match(text) for shape in SAFE_SHAPES):
        return True
    key = plain_key(text)
    if key in KEEP_WORDS or key in TECHNIQUE_WORDS:
        return True
    # A label word ("Patient", "ID:", "DOB:") is kept; the value after it is not (not a label token).
    return key in LABEL_TOKENS and (text.endswith((":", "#")) or _is_label_continuation(next_word))


def _is_label_continuation(next_word: OcrWord | None) -> bool:
    return next_word is not None and next_word.text.strip().endswith((":", "#")) and \
        plain_key(next_word.text) in LABEL_TOKENS


def safe_mask(words: Sequence[OcrWord]) -> list[bool]:
    return [is_safe_word(word, words[i + 1] if i + 1 < len(words) else None) for i, word in enumerate(words)]
