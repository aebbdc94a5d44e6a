"""Field labels: the words that name a value on an image ("Patient ID", "DOB:", "Institution Name"),
which selective redaction keeps while it removes the value.

The vocabulary is the DICOM data dictionary's attribute names (pydicom's, as shipped: "Patient's Birth
Date", "Institution Name", "Study Date", ...; with and without the possessive), the label phrases the
recognizer already knows (`vocabulary.PHI_LABELS`: "DOB", "MRN", "Pat Name", German and other European
labels) and a few abbreviations seen on scanner overlays. It is not drawn from the corpus generator.

Only whole phrases count, each word read as the phrase's word (case, a trailing colon, "#" or "=" and
the digits OCR reads for look-alike letters do not matter), and only where a label stands: first in its
line, or after a field gap. Single words from the dictionary alone ("Priority", "Status") are not labels:
a value such as an institution's name may begin with one; single-word labels come from the recognizer's
list and the abbreviations ("Name", "Age", "DOB"). A phrase followed by more words in its line is a
label there only when it announces a value (the recognizer's labels and abbreviations: "Patient ID
1234"), ends with its colon, stands a field gap before the next word, or stands before a word with a
digit ("Acquisition Time 08:23"); a dictionary name followed by other words at a word space ("Patient
Position HFS") is not taken for a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from transforms.phi.normalize import folded_key, plain_key
from transforms.phi.vocabulary import PHI_LABELS
from transforms.text_types import OcrWord

# Abbreviations of field labels on scanner and PACS overlays (not in the dictionary's names).
ABBREVIATIONS = (
    "dob", "d o b", "birth date", "date of birth", "birthdate", "pt", "pt id", "pat id", "patient id",
    "pid", "mrn", "mr no", "acc", "acc no", "accession", "accession no", "ex", "exam", "exam date",
    "study", "study id", "series", "se", "im", "img", "name", "patient", "patient name", "pat name",
    "age", "sex", "gender", "ht", "wt", "height", "weight", "inst", "institution", "hospital", "site",
    "ref", "ref phys", "referring", "physician", "operator", "op", "tech", "station", "dept",
    "department", "date", "time", "study date", "study time", "acq date", "acq time", "scan date",
    "series date", "series time", "content date", "content time", "exam time", "institution name",
    "other id", "other ids", "comments", "description", "study description", "series description",
    "referred by", "referred from", "requested by", "ordered by", "performed by",
)
LABEL_SUFFIXES = (":", "#", "=", ";", ",")   # a colon, or what small type makes of it
LABEL_MIN_CONFIDENCE = 40.0        # a phrase spelt exactly, on average (see `_read_well`)
PHRASE_WORD_MIN_CONFIDENCE = 20.0  # each word of a phrase of SHORT_LABEL_LETTERS letters or more
SHORT_LABEL_MIN_CONFIDENCE = 60.0  # the mean for phrases of fewer letters, each word at LABEL_MIN_CONFIDENCE
SHORT_LABEL_LETTERS = 6
ABBREVIATION_LETTERS = 3           # a phrase word cut to this many letters or more ("Hosp", "Pat", "Inst")
FUZZY_LETTERS = 7                  # a label word this long may be read with one letter wrong
FIELD_GAP_HEIGHTS = 1.5            # a gap this many word heights wide starts another field in a line


@lru_cache(maxsize=1)
def label_phrases() -> dict[tuple[str, ...], bool]:
    """Folded word keys of every label phrase -> whether it announces a value (may stand before one
    at a word space)."""
    from pydicom.datadict import DicomDictionary

    phrases: dict[tuple[str, ...], bool] = {}
    for _vr, _vm, name, retired, _keyword in DicomDictionary.values():
        if retired or not name:
            continue
        for variant in (name, name.replace("'s", "").replace("’s", "")):
            key = _phrase_key(variant)
            if len(key) >= 2:
                phrases.setdefault(key, False)
    for phrase in list(PHI_LABELS) + [tuple(a.split()) for a in ABBREVIATIONS]:
        key = tuple(folded_key(plain_key(token)) for token in phrase)
        if all(key):
            phrases[key] = True
    return phrases


@lru_cache(maxsize=1)
def longest_phrase() -> int:
    return max(len(phrase) for phrase in label_phrases())


@lru_cache(maxsize=1)
def _phrases_by_word() -> dict[tuple[int, int, str], list[tuple[str, ...]]]:
    """(phrase length, position, word) -> the phrases of that length with that word there."""
    index: dict[tuple[int, int, str], list[tuple[str, ...]]] = {}
    for phrase in label_phrases():
        for position, word in enumerate(phrase):
            index.setdefault((len(phrase), position, word), []).append(phrase)
    return index


@lru_cache(maxsize=1)
def _single_words() -> tuple[str, ...]:
    return tuple(phrase[0] for phrase in label_phrases() if len(phrase) == 1)


def _phrase_key(text: str) -> tuple[str, ...]:
    return tuple(k for k in (folded_key(plain_key(word)) for word in text.split()) if k)


def label_words(words: Sequence[OcrWord]) -> list[bool]:
    """Which of a line's words (in reading order) are a field label (see the module's docstring)."""
    marks = [False] * len(words)
    start = 0
    while start < len(words):
        length = _label_at(words, start) if _label_place(words, start) else 0
        if length:
            for k in range(start, start + length):
                marks[k] = True
            start += length
        else:
            start += 1
    return marks


def _label_place(words: Sequence[OcrWord], k: int) -> bool:
    """First in its line (after marks OCR made of a cursor or a box's edge: "|", "~"), or after a gap."""
    if not any(ch.isalnum() for w in words[:k] for ch in w.text):
        return True
    before, word = words[k - 1], words[k]
    return word.box.left - before.box.right >= FIELD_GAP_HEIGHTS * max(word.box.height, before.box.height)


def _label_at(words: Sequence[OcrWord], start: int) -> int:
    """Length of the longest label phrase starting at word `start` that stands as a label there, or 0."""
    phrases = label_phrases()
    for length in range(min(longest_phrase(), len(words) - start), 0, -1):
        run = words[start:start + length]
        phrase = _matching_phrase(tuple(folded_key(plain_key(w.text)) for w in run))
        if phrase is None or not _read_well(run):
            continue
        last = start + length
        if last == len(words) or run[-1].text.strip().endswith(LABEL_SUFFIXES) or phrases[phrase] \
                or _label_place(words, last) or any(ch.isdigit() for ch in words[last].text):
            return length
    return 0


def _matching_phrase(key: tuple[str, ...]) -> tuple[str, ...] | None:
    """The label phrase `key` spells: exactly; or, for a phrase of two words or more, with some words
    cut to an abbreviation of ABBREVIATION_LETTERS letters or more ("Hosp No", "Pat Age", "Inst Name")
    as long as one word is whole; or with one letter misread in a word of FUZZY_LETTERS letters or more
    ("BRTHDATE"), where a misreading leaves no other label that close. Single words of fewer letters
    must be exact: a value may be one letter from a short label word."""
    phrases = label_phrases()
    if not all(key):
        return None
    if key in phrases:
        return key
    candidates: set[tuple[str, ...]] = set()
    index = _phrases_by_word()
    for position, word in enumerate(key):
        candidates.update(index.get((len(key), position, word), ()))
    if len(key) == 1:
        candidates.update((word,) for word in _single_words())
    for phrase in candidates:
        if all(_word_matches(mine, theirs, len(key) > 1) for mine, theirs in zip(key, phrase)):
            return phrase
    return None


def _word_matches(mine: str, theirs: str, abbreviated_ok: bool) -> bool:
    if mine == theirs:
        return True
    if abbreviated_ok and len(mine) >= ABBREVIATION_LETTERS and theirs.startswith(mine):
        return True
    return len(theirs) >= FUZZY_LETTERS and Levenshtein.distance(mine, theirs, score_cutoff=1) <= 1


def _read_well(run: Sequence[OcrWord]) -> bool:
    """Every word with a letter (a word of digits alone is a number, whatever letters it folds to), and
    read with confidence: a short phrase ("Age", "DOB") at SHORT_LABEL_MIN_CONFIDENCE on average, each
    word at LABEL_MIN_CONFIDENCE; a longer one (six letters or more spelt exactly are the evidence
    themselves) at LABEL_MIN_CONFIDENCE on average, each word at PHRASE_WORD_MIN_CONFIDENCE (Tesseract
    scores the short word of a phrase low: "Institution Name" with "Name" at 24)."""
    if any(not any(ch.isalpha() for ch in w.text) for w in run):
        return False
    letters = sum(len(plain_key(w.text)) for w in run)
    mean = sum(w.confidence for w in run) / len(run)
    lowest = min(w.confidence for w in run)
    if letters >= SHORT_LABEL_LETTERS:
        return mean >= LABEL_MIN_CONFIDENCE and lowest >= PHRASE_WORD_MIN_CONFIDENCE
    return mean >= SHORT_LABEL_MIN_CONFIDENCE and lowest >= LABEL_MIN_CONFIDENCE
