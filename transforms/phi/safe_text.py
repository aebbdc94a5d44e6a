"""Which OCR words are confidently *not* PHI: the text selective redaction may keep.

Selective redaction keeps only what it can vouch for (orientation markers, technique and its settings,
measurements, counters, units, and the labels in front of values) and fills everything else: a word the
OCR misread, a region it could not read, a value after a label. Recall does not depend on reading PHI
correctly, only on reading the safe text correctly; a misread safe word costs some over-redaction.

Words are judged with their neighbours, because OCR splits what it cannot read: a bare number is a
setting only after a technique word, a measurement only before a unit, and otherwise only alone in its
line (else it may be part of a date or an identifier read in pieces); digit groups a word space apart are
one number; a label needs its colon, or the colon read apart, or (first in its line) is one letter off.

The vocabulary is `vocabulary.py`'s (written from general radiology usage, never from our generator).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from transforms.phi.normalize import plain_key
from transforms.phi.patterns import MONTH_NAME
from transforms.phi.vocabulary import KEEP_WORDS, PHI_LABELS, TECHNIQUE_WORDS
from transforms.text_types import OcrWord

SAFE_MIN_CONFIDENCE = 60.0          # below this a word's reading is not trusted to be what it says
UNIT_AFTER_NUMBER_MIN_CONFIDENCE = 30.0   # a unit right after a trusted number ("7.5 fps"): Tesseract
                                          # scores short lower-case units low, and the context vouches
NUMBER_BEFORE_UNIT_MIN_CONFIDENCE = 25.0  # a number right before a unit read with TRUSTED_UNIT_CONFIDENCE
TRUSTED_UNIT_CONFIDENCE = 90.0
LABEL_MIN_CONFIDENCE = 40.0               # a label word spelt exactly, with its colon ("Acc#" at 53)
SETTING_MIN_CONFIDENCE = 40.0             # a technique word spelt exactly ("MI", "TIS:"), and its number
LABEL_TOKENS = frozenset(token for phrase in PHI_LABELS for token in phrase)
FUZZY_LABEL_MIN_LENGTH = 3
FUZZY_LABEL_TOKENS = frozenset(token for token in LABEL_TOKENS if len(token) >= FUZZY_LABEL_MIN_LENGTH)
UNITS = r"(?:mm|cm|m|ms|s|sec|hz|khz|mhz|db|hu|kv|kvp|ma|mas|fps|bpm|mgy|mgycm|msv|deg|x|%|°)"
UNIT_WORDS = frozenset({"mm", "cm", "m", "ms", "s", "sec", "hz", "khz", "mhz", "db", "hu", "kv", "kvp", "ma", "mas",
                        "fps", "bpm", "mgy", "mgycm", "msv", "deg", "x"})
NUMBER = r"[<>~±+-]?\d{1,3}(?:[.,]\d{1,3})?"
DIGIT_LIKE = r"[\dli|!]"                          # a digit, or what OCR reads a small 1 as
SETTING = r"[<>~±+-]?\d{1,5}(?:[.,]\d{1,3})?"       # window width/level reach 5 digits (W:1200 L:-600)
SAFE_SHAPES = (
    re.compile(rf"^{NUMBER}{UNITS}?$", re.IGNORECASE),                      # 120, 5.0, 46.6mm, 59%
    re.compile(r"^\d{1,4}/\d{1,4}$"),                                        # 3/30 (frame, image counters)
    re.compile(rf"^[a-z]{{1,4}}[:=]{SETTING}{UNITS}?$", re.IGNORECASE),      # W:1200 L:40 TR=807
    re.compile(r"^[(\[]?[lrapfhsi][)\]]?$", re.IGNORECASE),                  # markers, also "(L)"
    # Series/image counters run together the way Tesseract reads small sans-serif digits ("Se 1 Im 1" as
    # "Sellmi", "1Im2"): a counter keyword, a digit or its look-alike, and optionally a second pair.
    re.compile(rf"^(?:(?:se|ser|sl|im|img|ima|fr)[:#.]?)?{DIGIT_LIKE}{{1,4}}"
               rf"(?:[il1|]m[ga]?[:#.]?{DIGIT_LIKE}{{1,4}})$", re.IGNORECASE),
    re.compile(rf"^(?:se|ser|sl|im|img|ima|fr)[:#.]?{DIGIT_LIKE}{{1,4}}$", re.IGNORECASE),
)
NUMBER_SHAPE = SAFE_SHAPES[0]
BARE_NUMBER = re.compile(rf"^{NUMBER}$")
DECIMAL_NUMBER = re.compile(r"^[<>~±+-]?\d{1,3}[.,]\d{1,3}$")
MONTH_WORD = re.compile(rf"^{MONTH_NAME}$")
SETTING_WORDS = TECHNIQUE_WORDS - LABEL_TOKENS     # "No" and "Sec" also end labels ("MR No", "Soc Sec")
NOISE_AROUND_WORD = "\"'`‘’“”„|~_-"   # quotes, bars and dashes OCR adds at a word's ends (from a
                                          # cursor, a ruler tick or a line of the anatomy)
NOISE_BEFORE_WORD = ",.;"                 # specks read as punctuation in front of a word (",Acc#")
LABEL_SUFFIXES = (":", "#")
SEPARATOR_MISREADS = frozenset({":", "|", "#", "!", ";"})   # a colon set apart, as Tesseract reads it
WORD_SPACE_HEIGHTS = 1.5   # the widest word space, in text heights (monospaced fonts)
MIN_GROUPED_DIGITS = 6      # digit groups set a space apart that add up to this many are one number
DIGIT_GROUP = re.compile(r"^[\d.,/:()-]*\d[\d.,/:()-]*$")


def is_safe_word(word: OcrWord, next_word: OcrWord | None = None, previous_word: OcrWord | None = None) -> bool:
    """A word read confidently and known not to carry identity on its own."""
    if not word.text.strip():
        return True
    text = _core(word.text)
    if not text:            # a bar or a quote alone may be a misread digit or letter: not vouched for
        return False
    if word.confidence < SAFE_MIN_CONFIDENCE:
        return (_is_unit_after_number(word, previous_word) or _is_number_before_unit(word, next_word)
                or _is_exact_label(word, text, next_word)
                or _is_weak_setting(word, text, previous_word, next_word))
    if BARE_NUMBER.match(text):
        return _is_setting_value(word, previous_word, next_word)
    if any(shape.match(text) for shape in SAFE_SHAPES):
        return True
    key = plain_key(text)
    if key in KEEP_WORDS or key in TECHNIQUE_WORDS:
        return True
    # A label word ("Patient", "ID:", "DOB:") is kept; the value after it is not (not a label token).
    if key in LABEL_TOKENS and (text.endswith(LABEL_SUFFIXES) or _is_label_continuation(next_word)):
        return True
    return (_is_unit_after_number(word, previous_word) or _is_number_before_unit(word, next_word)
            or (previous_word is None and _is_misread_label(text, key)))


def _is_misread_label(text: str, key: str) -> bool:
    """The first word of a line, with a label's colon, one letter away from a label word ("DOR:",
    "Ace:"): small text costs Tesseract a letter of a label more often than a value grows a colon."""
    if not text.endswith(LABEL_SUFFIXES) or len(key) < FUZZY_LABEL_MIN_LENGTH or key.isdigit():
        return False
    return any(Levenshtein.distance(key, label, score_cutoff=1) <= 1 for label in FUZZY_LABEL_TOKENS)


def _is_setting_value(number: OcrWord, previous_word: OcrWord | None, next_word: OcrWord | None) -> bool:
    """A bare number is a setting or a measurement only in context: right after a technique word
    ("kVp 120", "TIS 0.6", "Se 1"), right before a unit ("25.9 mm"), or alone in its line (a scale
    label). Elsewhere it may be what OCR made of part of an identifier or a date: "00735254" read as
    "00" and "254", "1929 Feb 20" as "59", "Feb", "20". A month name is never that context, even where
    it looks like a unit or a setting ("12 Mai", one letter from "mA")."""
    if previous_word is None and next_word is None:
        return True
    after_setting = (previous_word is not None and _close(previous_word, number)
                     and previous_word.confidence >= SAFE_MIN_CONFIDENCE
                     and plain_key(_core(previous_word.text)) in SETTING_WORDS
                     and not MONTH_WORD.match(_core(previous_word.text)))
    before_unit = next_word is not None and _is_unit_after_number(next_word, number)
    return after_setting or before_unit


def _looks_like_unit(key: str, edits: int = 1) -> bool:
    """A unit, or `edits` letters away from one ("nm" for "mm", "fos" for "fps")."""
    if key in UNIT_WORDS:
        return True
    return 2 <= len(key) <= 4 and any(Levenshtein.distance(key, unit, score_cutoff=edits) <= edits
                                      for unit in UNIT_WORDS if len(unit) >= 2)


def _is_number_before_unit(word: OcrWord, next_word: OcrWord | None) -> bool:
    """A number read weakly, or behind a speck OCR read as a sign ("#259", "(259", "£259"), right
    before a unit read clearly ("mm" at 90+): "25.9 mm" in small type. What stands before a unit is a
    measurement, whatever its digits; identifiers and dates are not followed by units."""
    if next_word is None or word.confidence < NUMBER_BEFORE_UNIT_MIN_CONFIDENCE:
        return False
    number = _core(word.text).lstrip("#([{$£€*^")
    unit = _core(next_word.text)
    return (BARE_NUMBER.match(number) is not None and next_word.confidence >= TRUSTED_UNIT_CONFIDENCE
            and plain_key(unit) in UNIT_WORDS and _close(word, next_word))


def _is_weak_setting(word: OcrWord, text: str, previous_word: OcrWord | None, next_word: OcrWord | None) -> bool:
    """A technique word of two letters or more spelt exactly ("MI", "Se", "TIS:") and the number right
    after it, both read at a confidence too low to vouch for either alone: the small type that costs
    Tesseract its confidence here ("MI 1.3" at 42) would cost it a name's spelling, and a name or an
    identifier misread as exactly a setting and its value keeps nothing of it. Either alone stays unsafe."""
    if word.confidence < SETTING_MIN_CONFIDENCE:
        return False
    if _is_exact_setting_word(text):
        return _is_weak_number(next_word) and _close(word, next_word)
    return (BARE_NUMBER.match(text) is not None and previous_word is not None
            and previous_word.confidence >= SETTING_MIN_CONFIDENCE
            and _is_exact_setting_word(_core(previous_word.text)) and _close(previous_word, word))


def _is_weak_number(word: OcrWord | None) -> bool:
    return (word is not None and word.confidence >= SETTING_MIN_CONFIDENCE
            and BARE_NUMBER.match(_core(word.text)) is not None)


def _is_exact_setting_word(text: str) -> bool:
    key = plain_key(text)
    return len(key) >= 2 and key in SETTING_WORDS and not MONTH_WORD.match(text)


def _is_exact_label(word: OcrWord, text: str, next_word: OcrWord | None) -> bool:
    """A label word spelt exactly, with its colon or "#" ("Acc#", "DOB:"), read at a confidence that
    would not vouch for a value: Tesseract scores short capitalised labels low, and a value never ends
    in a label's colon after being read as one of the few label words."""
    key = plain_key(text)
    return (word.confidence >= LABEL_MIN_CONFIDENCE and key in LABEL_TOKENS
            and (text.endswith(LABEL_SUFFIXES) or _is_label_continuation(next_word)))


def _close(left: OcrWord, right: OcrWord) -> bool:
    """A word space apart, not a stretch of the line OCR skipped (a skipped character with its two
    spaces is over twice the text height, even in a monospaced font)."""
    return right.box.left - left.box.right <= WORD_SPACE_HEIGHTS * max(left.box.height, right.box.height)


def _core(text: str) -> str:
    """The word without the noise OCR adds around it."""
    return text.strip().strip(NOISE_AROUND_WORD).lstrip(NOISE_BEFORE_WORD)


def _is_unit_after_number(word: OcrWord, previous_word: OcrWord | None) -> bool:
    """A unit, or a word one letter off one ("nm", "fos"), right after a trusted number ("5.0 mm",
    "7.5 fps"): Tesseract scores short lower-case units low and misreads them often, and the number
    vouches for them. A month name is not a unit ("12 Mai")."""
    text = _core(word.text)
    if previous_word is None or MONTH_WORD.match(text):
        return False
    number = _core(previous_word.text)
    # After a decimal measurement ("55.4"), small lower-case units lose two letters as often as one
    # ("mama", "mig", "nf" for "mm"); a name or a date does not follow "55.4" in lower case.
    edits = 2 if DECIMAL_NUMBER.match(number) and text.isalpha() and text.islower() else 1
    return (word.confidence >= UNIT_AFTER_NUMBER_MIN_CONFIDENCE and _looks_like_unit(plain_key(text), edits)
            and previous_word.confidence >= SAFE_MIN_CONFIDENCE and _close(previous_word, word)
            and NUMBER_SHAPE.match(number) is not None)


def _is_label_continuation(next_word: OcrWord | None) -> bool:
    """The next word ends the label: another label word with its colon ("Patient ID:"), or the colon
    itself, read apart ("ID :", often as "|")."""
    if next_word is None:
        return False
    text = next_word.text.strip()
    if text in SEPARATOR_MISREADS:
        return True
    return text.endswith(LABEL_SUFFIXES) and plain_key(text) in LABEL_TOKENS


def safe_mask(words: Sequence[OcrWord]) -> list[bool]:
    mask = [is_safe_word(word, words[i + 1] if i + 1 < len(words) else None, words[i - 1] if i else None)
            for i, word in enumerate(words)]
    for run in _digit_group_runs(words):
        if len(run) > 1 and (not all(mask[i] for i in run)
                             or sum(ch.isdigit() for i in run for ch in words[i].text) >= MIN_GROUPED_DIGITS):
            for i in run:
                mask[i] = False
    return mask


def _digit_group_runs(words: Sequence[OcrWord]) -> list[list[int]]:
    """Runs of bare digit groups a word space apart: "210 344 9401" is one phone number, whose "344"
    is not a safe three-digit setting; ruler labels ("0   5   10") stand further apart."""
    runs: list[list[int]] = []
    previous: OcrWord | None = None
    for i, word in enumerate(words):
        if DIGIT_GROUP.match(_core(word.text)):
            if previous is not None and runs and runs[-1][-1] == i - 1 and _close(previous, word):
                runs[-1].append(i)
            else:
                runs.append([i])
        previous = word
    return runs
