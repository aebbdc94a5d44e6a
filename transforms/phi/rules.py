"""The rules that stand in for the trained NER model (which cannot be trained on this machine; see
docs/phi-recognition.md): PHI the header does not hold is recognised by its context.

* Label rule: the value after a PHI label on the same line ("Name: ...", "DOB ...", "MRN ...",
  "Ref: ...", "Tel: ..."), up to the next label, a technique keyword with a value, a field gap or
  the end of the line. The label itself is returned as a range to keep.
* Pattern chunks (see patterns.py), with the shape rules vetoed when they fall on radiology
  vocabulary ("Chest, Abdomen" is not "LAST, FIRST").
* Technique guard: a short number right after a technique keyword ("kVp 120", "Se 2") is a setting,
  whatever pattern it resembles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from transforms.phi.merge import Chunk
from transforms.phi.normalize import Token
from transforms.phi.patterns import PATTERNS, PatternSpec
from transforms.phi.vocabulary import (AMBIGUOUS_LABELS, DURATION_WORDS, KEEP_WORDS, MAX_LABEL_TOKENS,
                                       PHI_LABELS, TECHNIQUE_WORDS)

LABEL_MARKS = ":#="
VALUE_SEPARATORS = "|;"
SHAPE_PATTERNS = frozenset({"name_last_comma_first", "name_initial_surname", "name_after_title", "postal_town"})
MAX_VALUE_TOKENS = {"NAME": 5, "ADDRESS": 10, "INSTITUTION": 8, "DATE": 5, "TIME": 3, "AGE": 2, "SEX": 1,
                    "PHONE": 8}
DEFAULT_MAX_VALUE_TOKENS = 4
DIGIT_VALUE_CATEGORIES = frozenset({"ID", "ACCESSION", "PHONE", "SSN"})
LABEL_SCORE = 0.75
TITLES = frozenset({"dr", "prof", "mr", "mrs", "ms", "miss", "herr", "frau", "dott", "sr", "sra", "md"})
VOCABULARY = KEEP_WORDS | TECHNIQUE_WORDS


@dataclass(frozen=True)
class Label:
    first: int          # token indices, inclusive
    last: int
    category: str
    start: int          # character range of the label, its colon included
    end: int


def find_labels(text: str, tokens: Sequence[Token]) -> list[Label]:
    """PHI labels, longest phrase first; ambiguous words count only with a ':' '#' or '=' after them."""
    labels: list[Label] = []
    index = 0
    while index < len(tokens):
        label = _label_at(text, tokens, index)
        if label is None:
            index += 1
            continue
        labels.append(label)
        index = label.last + 1
    return labels


def _label_at(text: str, tokens: Sequence[Token], index: int) -> Label | None:
    for length in range(min(MAX_LABEL_TOKENS, len(tokens) - index), 0, -1):
        last = index + length - 1
        phrase = tuple(token.plain for token in tokens[index:last + 1])
        category = PHI_LABELS.get(phrase)
        if category is None or not _tight(text, tokens, index, last) or _glued(text, tokens[last].end):
            continue
        mark_end = _mark_end(text, tokens[last].end)
        if mark_end is None and " ".join(phrase) in AMBIGUOUS_LABELS:
            continue
        return Label(index, last, category, tokens[index].start, mark_end or tokens[last].end)
    return None


def _tight(text: str, tokens: Sequence[Token], first: int, last: int) -> bool:
    """The words of a label phrase are separated by at most a space or a dot ("D.O.B.", "Pat. ID")."""
    return all(len(text[tokens[k].end:tokens[k + 1].start].strip(". ")) == 0
               and tokens[k + 1].start - tokens[k].end <= 2 for k in range(first, last))


def _glued(text: str, position: int) -> bool:
    """A label word glued to what follows by a hyphen or slash is part of a value ("MRN-7028-3"). A value
    separator does not glue: OCR reads a label's ':' as ';' ("Accession Number;" is still that label)."""
    return position < len(text) and not (text[position].isspace()
                                         or text[position] in LABEL_MARKS + VALUE_SEPARATORS + ".")


def _mark_end(text: str, position: int) -> int | None:
    """End of the ':' '#' '=' (with a dot before it, "No.:") right after a label, if there is one."""
    cursor = position
    while cursor < len(text) and text[cursor] in ". " and cursor - position < 2:
        cursor += 1
    if cursor < len(text) and text[cursor] in LABEL_MARKS:
        return cursor + 1
    return None


def label_value_chunks(text: str, tokens: Sequence[Token], labels: Sequence[Label],
                       field_starts: frozenset[int]) -> list[Chunk]:
    """The value after each label, as a chunk of the label's category."""
    label_starts = {label.first for label in labels}
    chunks = []
    for label in labels:
        value = _value_tokens(text, tokens, label, label_starts, field_starts)
        if value:
            chunks.append(Chunk(tokens[value[0]].start, tokens[value[-1]].end, label.category, "rule", LABEL_SCORE))
    return chunks


def _value_tokens(text: str, tokens: Sequence[Token], label: Label, label_starts: set[int],
                  field_starts: frozenset[int]) -> list[int]:
    limit = MAX_VALUE_TOKENS.get(label.category, DEFAULT_MAX_VALUE_TOKENS)
    value: list[int] = []
    index = label.last + 1
    if label.category == "NAME":
        while index < len(tokens) and tokens[index].plain in TITLES:      # "Ref: Dr. Gray": the title stays
            index += 1
    while index < len(tokens) and len(value) < limit:
        token = tokens[index]
        if index in label_starts or _is_setting(text, tokens, index):
            break
        if value and (token.start in field_starts or _separated(text, tokens[index - 1].end, token.start)):
            break
        if not value and token.start in field_starts and token.start > label.end + 1:
            break
        if value and label.category in DIGIT_VALUE_CATEGORIES and not any(ch.isdigit() for ch in token.plain):
            break
        if label.category == "NAME" and any(ch.isdigit() for ch in token.plain):
            break
        value.append(index)
        index += 1
    return value


def _separated(text: str, end: int, start: int) -> bool:
    between = text[end:start]
    return any(ch in VALUE_SEPARATORS for ch in between) or "   " in between


def _is_setting(text: str, tokens: Sequence[Token], index: int) -> bool:
    """A technique keyword followed by ':' or by a number ("W:400", "Se 2", "kVp 120")."""
    if tokens[index].plain not in TECHNIQUE_WORDS:
        return False
    if _mark_end(text, tokens[index].end) is not None:
        return True
    return index + 1 < len(tokens) and tokens[index + 1].plain[:1].isdigit()


def pattern_chunks(text: str, tokens: Sequence[Token], field_starts: frozenset[int] = frozenset()) -> list[Chunk]:
    """Every pattern match within one field, with the shape rules vetoed on radiology vocabulary."""
    chunks = []
    bounds = [0, *sorted(field_starts), len(text)]
    for spec in PATTERNS:
        for begin, end_of_field in zip(bounds, bounds[1:]):
            chunks += _field_matches(spec, text, tokens, begin, end_of_field)
    return chunks


def _field_matches(spec: PatternSpec, text: str, tokens: Sequence[Token], begin: int, end_of_field: int) -> list[Chunk]:
    chunks = []
    if end_of_field > begin:
        for match in spec.compiled.finditer(text, begin, end_of_field):
            chunk = match_chunk(spec, tokens, *match.span(spec.value_group))
            if chunk is not None:
                chunks.append(chunk)
    return chunks


def match_chunk(spec: PatternSpec, tokens: Sequence[Token], start: int, end: int) -> Chunk | None:
    """The chunk of one match's value, unless empty or a shape rule on radiology vocabulary (both
    engines judge a match here: Python's `re` and Spark NLP's RegexMatcher find it)."""
    if end <= start:
        return None
    if spec.name in SHAPE_PATTERNS and _covers_vocabulary(tokens, start, end):
        return None
    return Chunk(start, end, spec.category, "pattern", spec.score)


def _covers_vocabulary(tokens: Sequence[Token], start: int, end: int) -> bool:
    """A word of the shape is radiology vocabulary (one-letter words are initials, not vocabulary)."""
    return any(start <= t.start and t.end <= end and len(t.plain) > 1 and t.plain in VOCABULARY for t in tokens)


def is_technique_value(text: str, tokens: Sequence[Token], chunk: Chunk, max_digits: int) -> bool:
    """A plain short number ("120", "2.5") right after a technique keyword: a setting, not an identifier;
    a time right after a duration keyword ("TA 03:02"): a duration. Other times and dates keep their
    shape ("Acq 08:59" is still a time)."""
    before = [t for t in tokens if t.end <= chunk.start]
    if not before:
        return False
    if chunk.category == "TIME" and before[-1].plain in DURATION_WORDS:
        return True
    if not re.fullmatch(rf"[0-9]{{1,{max_digits}}}(?:[.,][0-9]+)?", text[chunk.start:chunk.end].strip()):
        return False
    return before[-1].plain in TECHNIQUE_WORDS


def times_after_dates(text: str, tokens: Sequence[Token], chunks: Sequence[Chunk]) -> list[Chunk]:
    """A compact time ("143114", "1431") right after a date is the time of that date-time stamp; alone,
    six digits are as likely an identifier or a count, so this is a context rule, not a pattern."""
    by_start = {token.start: token for token in tokens}
    found = []
    for chunk in chunks:
        if chunk.category != "DATE":
            continue
        cursor = chunk.end
        while cursor < len(text) and text[cursor] == " ":
            cursor += 1
        token = by_start.get(cursor)
        if token is not None and cursor > chunk.end and _is_compact_time(token.plain):
            found.append(Chunk(token.start, _fraction_end(text, token.end), "TIME", "rule", LABEL_SCORE))
    return found


def _is_compact_time(digits: str) -> bool:
    if not digits.isdigit() or len(digits) not in (4, 6):
        return False
    hours, minutes, seconds = int(digits[:2]), int(digits[2:4]), int(digits[4:6] or 0)
    return hours < 24 and minutes < 60 and seconds < 60


def _fraction_end(text: str, end: int) -> int:
    """Include a DICOM TM fraction (".123456") in the time."""
    if end < len(text) - 1 and text[end] == "." and text[end + 1].isdigit():
        end += 1
        while end < len(text) and text[end].isdigit():
            end += 1
    return end
