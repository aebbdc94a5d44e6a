"""Which OCR words are confidently *not* PHI: the text selective redaction may keep.

Selective redaction keeps only what it can vouch for (orientation markers, technique and its settings,
measurements, counters, units, and the labels in front of values) and fills everything else: a word the
OCR misread, a region it could not read, a value after a label. Recall does not depend on reading PHI
correctly, only on reading the safe text correctly; a misread safe word costs some over-redaction.

Words are judged with their neighbours, because OCR splits what it cannot read: a bare number is a
setting only after a technique word, a measurement only before a unit, and otherwise only alone in its
line (else it may be part of a date or an identifier read in pieces); digit groups a word space apart are
one number; a label needs its colon, or the colon read apart, or (first in its line) is one letter off,
and may be spelt with the digits OCR reads for its letters ("1D:"); a weak "L:40" is a setting after "W:400".

A weak word can be read a second time, alone (`stretches_worth_reading_again`, `kept_after_second_reading`):
Tesseract reads a line as a whole, and a label or a technique word in a thinner stroke than its value may
come out as garbage ("Die" for "DOB:", "jp" for "kVp") that the same pixels read alone spell exactly.

The vocabulary is `vocabulary.py`'s (written from general radiology usage, never from our generator).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rapidfuzz.distance import Levenshtein

from transforms.phi.field_labels import label_words
from transforms.phi.normalize import folded_key, plain_key
from transforms.phi.patterns import MONTH_NAME
from transforms.phi.vocabulary import KEEP_WORDS, PHI_LABELS, TECHNIQUE_WORDS
from transforms.text_types import Box, OcrWord

SAFE_MIN_CONFIDENCE = 60.0          # below this a word's reading is not trusted to be what it says
UNIT_AFTER_NUMBER_MIN_CONFIDENCE = 30.0   # a unit right after a trusted number ("7.5 fps"): Tesseract
                                          # scores short lower-case units low, and the context vouches
NUMBER_BEFORE_UNIT_MIN_CONFIDENCE = 25.0  # a number right before a unit read with TRUSTED_UNIT_CONFIDENCE
TRUSTED_UNIT_CONFIDENCE = 90.0
LABEL_MIN_CONFIDENCE = 40.0               # a label word spelt exactly, with its colon ("Acc#" at 53)
LONG_LABEL_LETTERS = 6                    # ... at any confidence when this long ("Accession:" at 24): six
                                          # letters or more spelt exactly are the evidence themselves
SETTING_MIN_CONFIDENCE = 40.0             # a technique word spelt exactly ("MI", "TIS:"), and its number
REREAD_BELOW_CONFIDENCE = 90.0            # a word read at this confidence is taken as read: never read again
LABEL_TOKENS = frozenset(token for phrase in PHI_LABELS for token in phrase)
FOLDED_LABEL_TOKENS = {folded_key(token): token for token in sorted(LABEL_TOKENS)}
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
    re.compile(r"^(\d{1,4})/(\d{1,4})$"),                                    # 3/30 (frame, image counters)
    re.compile(rf"^[a-z]{{1,4}}[:=]{SETTING}{UNITS}?$", re.IGNORECASE),      # W:1200 L:40 TR=807
    re.compile(r"^[(\[]?[lrapfhsi][)\]]?$", re.IGNORECASE),                  # markers, also "(L)"
    # Series/image counters run together the way Tesseract reads small sans-serif digits ("Se 1 Im 1" as
    # "Sellmi", "1Im2"): a counter keyword, a digit or its look-alike, and optionally a second pair.
    re.compile(rf"^(?:(?:se|ser|sl|im|img|ima|fr)[:#.]?)?{DIGIT_LIKE}{{1,4}}"
               rf"(?:[il1|]m[ga]?[:#.]?{DIGIT_LIKE}{{1,4}})$", re.IGNORECASE),
    re.compile(rf"^(?:se|ser|sl|im|img|ima|fr)[:#.]?{DIGIT_LIKE}{{1,4}}$", re.IGNORECASE),
    # ultrasound probe names: array letter(s) and the frequency band in MHz ("C5-1", "L12-5", "eL18-4",
    # "C1-6-D"); one or two digits a side, so no identifier or date has this shape
    re.compile(r"^[a-z]{1,3}\d{1,2}-\d{1,2}(?:-?[a-z]{1,2})?$", re.IGNORECASE),
)
NUMBER_SHAPE = SAFE_SHAPES[0]
COUNTER_SHAPE = SAFE_SHAPES[1]
KEYED_SETTING_SHAPE = SAFE_SHAPES[2]
MARKER_SHAPE = SAFE_SHAPES[3]
KEYED_SETTING_KEY = re.compile(r"^([a-z]{1,4})[:=]", re.IGNORECASE)
BARE_NUMBER = re.compile(rf"^{NUMBER}$")
SYMBOL_MEASURE = re.compile(rf"^{NUMBER}[%°]$")
DECIMAL_NUMBER = re.compile(r"^[<>~±+-]?\d{1,3}[.,]\d{1,3}$")
MONTH_WORD = re.compile(rf"^{MONTH_NAME}$")
SETTING_WORDS = TECHNIQUE_WORDS - LABEL_TOKENS     # "No" and "Sec" also end labels ("MR No", "Soc Sec")
NOISE_AROUND_WORD = "\"'`‘’“”„|~_-"   # quotes, bars and dashes OCR adds at a word's ends (from a
                                          # cursor, a ruler tick or a line of the anatomy)
NOISE_BEFORE_WORD = ",.;"                 # specks read as punctuation in front of a word (",Acc#")
LABEL_SUFFIXES = (":", "#", ";")     # a label's colon, or "#", or the colon read as ";" (small serif type)
SEPARATOR_MISREADS = frozenset({":", "|", "#", "!", ";"})   # a colon set apart, as Tesseract reads it
WORD_SPACE_HEIGHTS = 1.5   # the widest word space, in text heights (monospaced fonts)
MIN_GROUPED_DIGITS = 6      # digit groups set a space apart that add up to this many are one number
LONE_NUMBER_SHARE = 0.5     # of its line's width, that a number alone in it must span to be a scale label
PLAIN_WORD = re.compile(r"^[^\W_][\w.,:/#=+-]*$")
INITIAL = re.compile(r"^[^\W\d_]\.$")
DIGIT_GROUP = re.compile(r"^[\d.,/:()-]*\d[\d.,/:()-]*$")


def is_safe_word(word: OcrWord, next_word: OcrWord | None = None, previous_word: OcrWord | None = None) -> bool:
    """A word read confidently and known not to carry identity on its own."""
    if not word.text.strip():
        return True
    text = _core(word.text)
    if not text:            # a bar or a quote alone may be a misread digit or letter: not vouched for
        return False
    if INITIAL.match(text):  # "Z." is a name's initial, not the technique word or the marker it spells
        return False
    if word.confidence < SAFE_MIN_CONFIDENCE:
        return (_is_unit_after_number(word, previous_word) or _is_number_before_unit(word, next_word)
                or _is_exact_label(word, text, next_word)
                or _is_weak_setting(word, text, previous_word, next_word)
                or _is_second_of_setting_pair(word, text, previous_word))
    counter = COUNTER_SHAPE.match(text)
    if counter:                 # image 3 of 30; "12/02" counts backwards: a day and month read apart
        return 0 < int(counter[1]) <= int(counter[2])
    if _is_number_only(text):   # "120", and "59%", "30°": a digit misread as a mark looks the same ("315°")
        return _is_setting_value(word, previous_word, next_word)
    if any(shape.match(text) for shape in SAFE_SHAPES if shape is not KEYED_SETTING_SHAPE):
        return True
    if KEYED_SETTING_SHAPE.match(text):          # "W:1200", "TR=807"; not "Pat:4412" (a key and a value)
        return _technique_key(text)
    key = plain_key(text)
    if key in KEEP_WORDS or key in TECHNIQUE_WORDS:
        return True
    # A label word ("Patient", "ID:", "DOB:") is kept; the value after it is not (not a label token).
    if _is_label_word(text) and (text.endswith(LABEL_SUFFIXES) or _is_label_continuation(next_word)):
        return True
    return (_is_unit_after_number(word, previous_word) or _is_number_before_unit(word, next_word)
            or (previous_word is None and _is_misread_label(text, key)))


def ends_with_label(words: Sequence[OcrWord]) -> bool:
    """The line's last word is a field label (a phrase of `field_labels`, or a label word with its
    colon): what follows it in its band is the value it names."""
    if not words:
        return False
    last = _core(words[-1].text)
    return label_words(words)[-1] or (_is_label_word(last) and words[-1].text.strip().endswith(LABEL_SUFFIXES))


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


def _is_second_of_setting_pair(word: OcrWord, text: str, previous_word: OcrWord | None) -> bool:
    """A technique word and its value in one word ("L:40"), read at SETTING_MIN_CONFIDENCE, right after
    one read confidently ("W:400"): window width and level, repetition and echo time come in pairs, and
    the second, shorter one costs Tesseract its confidence more often. Only technique keys ("ID:40" is
    no setting)."""
    if word.confidence < SETTING_MIN_CONFIDENCE or previous_word is None or not KEYED_SETTING_SHAPE.match(text):
        return False
    previous = _core(previous_word.text)
    return (previous_word.confidence >= SAFE_MIN_CONFIDENCE and KEYED_SETTING_SHAPE.match(previous) is not None
            and all(_technique_key(shape) for shape in (text, previous)) and _close(previous_word, word))


def _technique_key(text: str) -> bool:
    match = KEYED_SETTING_KEY.match(text)
    return match is not None and match.group(1).lower() in SETTING_WORDS


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
    trusted = word.confidence >= LABEL_MIN_CONFIDENCE or len(_label_key(text)) >= LONG_LABEL_LETTERS
    return (trusted and _is_label_word(text)
            and (text.endswith(LABEL_SUFFIXES) or _is_label_continuation(next_word)))


def _is_label_word(text: str) -> bool:
    """A word of a label phrase, of two letters or more: the one-letter tokens ("D", "O", "B" of
    "D.O.B.") are letters of a label only within a phrase, and a lone "B:" is as often what OCR made of
    a digit group and a separator ("933 493" read as "B: 493")."""
    key = _label_key(text)
    return len(key) >= 2 and key in LABEL_TOKENS


def _label_key(text: str) -> str:
    """The key of a label word, with the digits Tesseract reads for the letters they look like ("1D:"
    for "ID:", "D0B:" for "DOB:", as `normalize.OCR_FOLD` pairs them): label words hold no digits, so
    a word with a letter that folds to one is that label. A word of digits alone stays a number."""
    key = plain_key(text)
    if key in LABEL_TOKENS or key.isdigit():
        return key
    return FOLDED_LABEL_TOKENS.get(folded_key(key), key)


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


def safe_mask(words: Sequence[OcrWord], line_width: int | None = None) -> list[bool]:
    """`is_safe_word` of each word with its neighbours, or a field label (`field_labels.label_words`:
    "Patient ID", "Institution Name", "DOB" where a label stands, with or without its colon), digit
    groups judged as one number, and, given
    the width of the line the words were read in, a number alone in its line only where it spans at
    least `LONE_NUMBER_SHARE` of it: a wide line read as one digit ("1" at the end of a date OCR could
    not otherwise read) is a piece of something, not a scale label."""
    labels = label_words(words)
    mask = [labels[i] or is_safe_word(word, words[i + 1] if i + 1 < len(words) else None,
                                      words[i - 1] if i else None)
            for i, word in enumerate(words)]
    for i in range(1, len(words)):
        # A marker letter ("F", "R", "(L)") after a label or after a word not vouched for is a value: a
        # sex after "Gender:" (read "Genderf"), an initial after a name. Markers stand alone, or among
        # technique text.
        if mask[i] and MARKER_SHAPE.match(_core(words[i].text)) and (not mask[i - 1] or labels[i - 1]
                                                                     or _is_label_word(_core(words[i - 1].text))):
            mask[i] = False
    if (line_width and len(words) == 1 and mask[0] and _is_number_only(words[0].text)
            and words[0].box.width < LONE_NUMBER_SHARE * line_width):
        mask[0] = False
    for run in _digit_group_runs(words):
        if len(run) > 1 and (not all(mask[i] for i in run)
                             or sum(ch.isdigit() for i in run for ch in words[i].text) >= MIN_GROUPED_DIGITS):
            for i in run:
                mask[i] = False
    return mask


def _is_number_only(text: str) -> bool:
    """A bare number, or one with "%" or "°": judged by its context, never by its shape alone."""
    core = _core(text)
    return bool(BARE_NUMBER.match(core) or SYMBOL_MEASURE.match(core))


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


def stretches_worth_reading_again(words: Sequence[OcrWord], mask: Sequence[bool],
                                  flagged: Sequence[bool]) -> list[tuple[int, int]]:
    """The stretches (first, last word) whose second reading may show unsafe words to be safe, by what
    their place in the line says they may be, in the order to try them:
    - an unsafe word alone, as the first word of a line holding PHI after it (the label announcing the
      value: "Die" for "DOB:"), right before a bare number (a technique word: "jp 98" for "kVp 98"),
      right after a setting and its value (the next setting, with its value: "TR 647 TRAN" for
      "TR 647 TE 113"), or right before a unit read clearly (a measurement: "2259 mm" for "25.9 mm");
    - the words before the line's first PHI value, together, when there are two or more and one is
      unsafe: a label OCR split or garbled across words ("~ \\tient ID:" for "Patient ID:").
    A word read confidently is what it says, and one the recognizer flagged (`flagged`) is filled
    whatever it reads as: neither is read again alone, nor a word without a letter or a digit."""
    chosen = [(k, k) for k in range(len(words)) if _worth_reading_alone(words, mask, flagged, k)]
    value = next((k for k, is_phi in enumerate(flagged) if is_phi), 0)
    if value >= 2 and not all(mask[:value]):
        chosen.append((0, value - 1))
    return chosen


def _worth_reading_alone(words: Sequence[OcrWord], mask: Sequence[bool], flagged: Sequence[bool], k: int) -> bool:
    word = words[k]
    if (mask[k] or flagged[k] or word.confidence >= REREAD_BELOW_CONFIDENCE
            or not any(ch.isalnum() for ch in word.text)):
        return False
    label_place = k == 0 and any(flagged[1:])
    next_word = words[k + 1] if k + 1 < len(words) else None
    before_value = next_word is not None and not flagged[k + 1] and _close(word, next_word)
    setting_place = before_value and BARE_NUMBER.match(_core(next_word.text)) is not None
    measurement_place = before_value and _is_trusted_unit(next_word)
    next_setting_place = k >= 2 and mask[k - 1] and mask[k - 2] and _is_setting_value_after(words, k - 1)
    return label_place or setting_place or measurement_place or next_setting_place


def kept_after_second_reading(words: Sequence[OcrWord], flagged: Sequence[bool], first: int, last: int,
                              second: Sequence[OcrWord]) -> dict[int, OcrWord]:
    """What the second reading `second` of words first..last (the words read in their stretch alone),
    in a line whose words the recognizer flagged as `flagged`, makes safe, by index, with the boxes to
    keep (never wider than the first reading's boxes, nor than the second's): nothing, unless spelt
    exactly as
    - for one word: see `_kept_after_reading_word_again`;
    - for the words before the line's first PHI value: one label phrase ("Patient ID:", "Accession:"
      read as "Ac cession:"), ending with its colon or "#", and nothing else, every word read with
      LABEL_MIN_CONFIDENCE (as a first reading spelt so is trusted); kept as one word over the stretch
      the phrase covers.
    An identifier or a name misread twice, differently, the second time as exactly a label with its
    colon or a setting, and at a label's or a setting's place, is the risk taken."""
    if not second:
        return {}
    if first == last:
        return _kept_after_reading_word_again(words, first, second, any(flagged[first + 1:]))
    keys = tuple(_label_key(_core(w.text)) for w in second)
    if (first != 0 or last + 1 >= len(flagged) or not flagged[last + 1] or any(flagged[:last + 1])
            or keys not in PHI_LABELS or not _core(second[-1].text).endswith(LABEL_SUFFIXES)
            or min(w.confidence for w in second) < LABEL_MIN_CONFIDENCE):
        return {}
    left = max(words[first].box.left, min(w.box.left for w in second))
    right = min(words[last].box.right, max(w.box.right for w in second))
    if right <= left:
        return {}
    box = Box(left, words[first].box.top, right - left, words[first].box.height)
    text = " ".join(w.text for w in second)
    return {first: OcrWord(text, min(w.confidence for w in second), box, words[first].line_index, first)}


def _kept_after_reading_word_again(words: Sequence[OcrWord], k: int, second: Sequence[OcrWord],
                                   phi_after: bool) -> dict[int, OcrWord]:
    """Word k read again as, first,
    - a label with its colon or "#" ("DOB:", "Acc#"), read with LABEL_MIN_CONFIDENCE, where word k is
      the line's first word and PHI follows it (`phi_after`): the label alone is kept; the value after it
      stays as unsafe as before (a label vouches for no value);
    - a technique word of two letters or more ("kVp", "mA"), read with SAFE_MIN_CONFIDENCE: it is kept,
      with the number the second reading found after it within word k's box ("TE 113" read as "TRAN"),
      or with the next word if that is now a setting value by the usual rules (`is_safe_word` with the
      technique word before it);
    - a number read with SAFE_MIN_CONFIDENCE, right before a unit read clearly ("25.9" before "mm" at
      90+): a measurement.
    The box kept is the part of word k's box the second reading puts the word in."""
    again, word = second[0], words[k]
    box = _common_box(word, again)
    if box is None or again.confidence < LABEL_MIN_CONFIDENCE:
        return {}
    text = _core(again.text)
    reread = OcrWord(again.text, again.confidence, box, word.line_index, word.word_index)
    if k == 0 and phi_after and _is_label_word(text) and text.endswith(LABEL_SUFFIXES):
        return {k: reread}
    if again.confidence < SAFE_MIN_CONFIDENCE:
        return {}
    following = words[k + 1] if k + 1 < len(words) else None
    if _is_exact_setting_word(text) and len(second) >= 2 and _is_weak_number(second[1]) \
            and second[1].confidence >= SAFE_MIN_CONFIDENCE and _close(again, second[1]):
        value_box = _common_box(word, second[1])
        if value_box is not None:
            return {k: replace(reread, box=box.union(value_box))}
    if _is_exact_setting_word(text) and following is not None:
        if is_safe_word(following, words[k + 2] if k + 2 < len(words) else None, reread):
            return {k: reread, k + 1: following}
    if BARE_NUMBER.match(text) and following is not None and _is_trusted_unit(following):
        return {k: reread}
    return {}


def safe_in_other_reading(words: Sequence[OcrWord], mask: Sequence[bool], flagged: Sequence[bool],
                          other: Sequence[OcrWord], line_width: int | None = None) -> list[OcrWord]:
    """Words of another reading of the same line (another view or preparation, which lost to `words` on
    the line as a whole) that are safe there, with that reading's neighbours, and read at
    `SAFE_MIN_CONFIDENCE` or more. Tesseract normalises a line as a whole: the preparation that reads a
    thin label or a faint scale best may read the rest of its line worse.

    Not where `words` vouch for something else: a word flagged as PHI, or read otherwise and unsafe at
    `REREAD_BELOW_CONFIDENCE` or more (taken as read). The same word read the same way only gains the
    other reading's context ("6.625" before "mm" where this reading saw "a")."""
    def contradicted(word: OcrWord) -> bool:
        return any(word.box.overlaps(mine.box) and (phi or _core(mine.text) != _core(word.text))
                   for mine, safe, phi in zip(words, mask, flagged)
                   if phi or (not safe and mine.confidence >= REREAD_BELOW_CONFIDENCE))

    return [w for w, safe in zip(other, safe_mask(other, line_width))
            if safe and w.confidence >= SAFE_MIN_CONFIDENCE and _is_plain_word(w.text) and not contradicted(w)]


def _is_plain_word(text: str) -> bool:
    """Two letters or digits or more, and no mark but a label's or a number's: what a reading that lost
    makes of pixels it cannot read is mostly a lone letter ("a" over an identifier), or digits with a
    symbol for a digit ("315°" for "3150"), which the safe shapes would take for a marker or a unit."""
    text = _core(text)
    return sum(ch.isalnum() for ch in text) >= 2 and PLAIN_WORD.match(text) is not None


def is_settled_reading(second: Sequence[OcrWord]) -> bool:
    """A second reading whose first word is read confidently ends the search for a better one: the word
    is what it says ("2016" where the first reading saw "ing"), as a first reading that confident is."""
    return bool(second) and second[0].confidence >= REREAD_BELOW_CONFIDENCE


def _is_setting_value_after(words: Sequence[OcrWord], k: int) -> bool:
    """Word k is a bare number right after a technique word ("647" in "TR 647")."""
    return (k >= 1 and BARE_NUMBER.match(_core(words[k].text)) is not None
            and _is_exact_setting_word(_core(words[k - 1].text)))


def _is_trusted_unit(word: OcrWord) -> bool:
    return word.confidence >= TRUSTED_UNIT_CONFIDENCE and plain_key(_core(word.text)) in UNIT_WORDS


def _common_box(word: OcrWord, again: OcrWord) -> Box | None:
    left, right = max(word.box.left, again.box.left), min(word.box.right, again.box.right)
    if right <= left:
        return None
    return Box(left, word.box.top, right - left, word.box.height)
