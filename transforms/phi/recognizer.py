"""The PHI recognizer (pure-Python engine, the default): OCR lines or header free text in, PHI out.

One engine for pixels and header, so the two never disagree about what is PHI:
  tokens ─┬─ dictionary matching (the file's own header values, OCR-tolerant) ─┐
          ├─ pattern recognizers (dates, times, IDs, ages, phones, e-mail, ...) ├─ merge, labels kept ─► chunks
          └─ context rules (value after a PHI label; time after a date)       ─┘
`find_phi_in_lines` maps chunks to pixel boxes (position finder) and hashes their text;
`clean_text` replaces them in a string (Clean Descriptors of the header de-identification).

Patterns are compiled once per process (module level), the dictionary once per file (by the caller);
all n-grams of all lines of a call are matched in one vectorised rapidfuzz call.
"""

from __future__ import annotations

import bisect
import copy
import re
import statistics
from dataclasses import dataclass, replace
from typing import Sequence

from transforms.keyring import Keyring
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.errors import RecognizerError
from transforms.phi.matching import DEFAULT_EDIT_BOUNDS, DEFAULT_LONG_EDITS, match_dictionary
from transforms.phi.merge import Chunk, attach_punctuation, merge_chunks, trim_edges
from transforms.phi.normalize import Token, tokenize
from transforms.phi.position import PlacedWord, chunk_box, place_words
from transforms.phi.rules import (find_labels, is_technique_value, label_value_chunks, pattern_chunks,
                                  times_after_dates)
from transforms.text_types import PhiSpan, TextLine

OCR_TEXT_PURPOSE = "ocr-text"
LINE_BREAK = re.compile(r"(\r\n|\n|\r)")


@dataclass(frozen=True)
class RecognizerSettings:
    edit_bounds: tuple[tuple[int, int], ...] = DEFAULT_EDIT_BOUNDS   # (max key length, allowed edits)
    long_edits: int = DEFAULT_LONG_EDITS                             # edits allowed beyond the bounds
    exact_digits: bool = False        # typed text: fuzzy matches must keep every digit (see matching)
    field_gap_ratio: float = 2.0      # a gap wider than this × word height starts a new field
    technique_max_digits: int = 4     # "kVp 120": numbers this short after a technique word are kept
    replacement: str = "[{category}]"  # what clean_text puts in place of a PHI span


@dataclass(frozen=True)
class _Line:
    text: str
    placed: tuple[PlacedWord, ...]
    field_starts: frozenset[int]


class PhiRecognizer:
    def __init__(self, settings: RecognizerSettings = RecognizerSettings(), keyring: Keyring | None = None):
        self.settings = settings
        self._keyring = keyring

    def for_typed_text(self) -> "PhiRecognizer":
        """This recognizer for text a machine wrote (header values): OCR's digit slips cannot happen
        there, and the de-identified header holds numbers derived from the identified ones."""
        typed = copy.copy(self)
        typed.settings = replace(self.settings, exact_digits=True)
        return typed

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring.from_env()
        return self._keyring

    def find_phi_in_lines(self, lines: Sequence[TextLine], dictionary: PhiDictionary | None) -> list[PhiSpan]:
        """PHI spans of one frame's OCR lines, each with the union of the word boxes it covers."""
        try:
            prepared = [self._prepare(line) for line in lines]
            found = self.find_chunks([p.text for p in prepared], dictionary, [p.field_starts for p in prepared])
            return [span for line, chunks in zip(prepared, found) for span in self._spans(line, chunks)]
        except RecognizerError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure quarantines the file, never publishes it
            raise RecognizerError("recognizer_failed", type(exc).__name__) from None

    def find_phi_in_text(self, text: str, dictionary: PhiDictionary | None) -> list[Chunk]:
        """Character ranges of PHI in one text (lines and backslash-separated values are fields)."""
        if not isinstance(text, str):
            raise RecognizerError("text_not_a_string")
        try:
            return self.find_chunks([text], dictionary, [_text_field_starts(text)])[0]
        except Exception as exc:  # noqa: BLE001
            raise RecognizerError("recognizer_failed", type(exc).__name__) from None

    def clean_text(self, text: str, dictionary: PhiDictionary | None) -> str:
        """`text` with every PHI span replaced by `settings.replacement` ("[NAME]", "[DATE]", ...)."""
        if not isinstance(text, str):
            raise RecognizerError("text_not_a_string")
        pieces = LINE_BREAK.split(text)
        lines = pieces[0::2]
        try:
            found = self.find_chunks(lines, dictionary, [_text_field_starts(line) for line in lines])
        except Exception as exc:  # noqa: BLE001
            raise RecognizerError("recognizer_failed", type(exc).__name__) from None
        pieces[0::2] = [self._replace(line, chunks) for line, chunks in zip(lines, found)]
        return "".join(pieces)

    def find_chunks(self, texts: Sequence[str], dictionary: PhiDictionary | None,
                    field_starts: Sequence[frozenset[int]]) -> list[list[Chunk]]:
        """The engine: merged PHI chunks of each text."""
        dictionary = dictionary or PhiDictionary.empty()
        token_lines = [tokenize(text) for text in texts]
        from_dictionary = match_dictionary(token_lines, field_starts, dictionary, self.settings.edit_bounds,
                                           self.settings.long_edits, self.settings.exact_digits)
        matched = self.matcher_chunks(texts, token_lines, field_starts)
        return [resolve_chunks(text, tokens, starts, in_dictionary + found, self.settings)
                for text, tokens, starts, in_dictionary, found
                in zip(texts, token_lines, field_starts, from_dictionary, matched)]

    def matcher_chunks(self, texts: Sequence[str], token_lines: Sequence[list[Token]],
                       field_starts: Sequence[frozenset[int]]) -> list[list[Chunk]]:
        """The chunks of the matchers besides the dictionary: here the pattern recognizers (the Spark
        NLP engine overrides this with its RegexMatcher and NER, see sparknlp_engine.py)."""
        return [pattern_chunks(text, tokens, starts) for text, tokens, starts in zip(texts, token_lines, field_starts)]

    def _prepare(self, line: TextLine) -> _Line:
        words = getattr(line, "words", None)
        if words is None or not all(isinstance(getattr(w, "text", None), str) for w in words):
            raise RecognizerError("invalid_ocr_line")
        text, placed = place_words(words)
        return _Line(text, tuple(placed), _gap_field_starts(placed, self.settings.field_gap_ratio))

    def _spans(self, line: _Line, chunks: list[Chunk]) -> list[PhiSpan]:
        spans = []
        for chunk in chunks:
            box = chunk_box(chunk.start, chunk.end, line.placed)
            if box is None:
                continue
            digest = self.keyring.hexdigest(OCR_TEXT_PURPOSE, line.text[chunk.start:chunk.end])
            spans.append(PhiSpan(chunk.category, chunk.source, chunk.score, (box,), digest))
        return spans

    def _replace(self, text: str, chunks: list[Chunk]) -> str:
        for chunk in sorted(chunks, key=lambda c: c.start, reverse=True):
            text = text[:chunk.start] + self.settings.replacement.format(category=chunk.category) + text[chunk.end:]
        return text


def resolve_chunks(text: str, tokens: list[Token], field_starts: frozenset[int], found: list[Chunk],
                   settings: RecognizerSettings = RecognizerSettings()) -> list[Chunk]:
    """From the chunks of the matchers (dictionary, patterns; or Spark NLP's annotators) to the final
    PHI chunks of one text: context rules added (label values, times after dates), technique values
    dropped, labels kept out, overlaps merged, edges trimmed. Both engines end here."""
    labels = find_labels(text, tokens)
    candidates = found + label_value_chunks(text, tokens, labels, field_starts)
    candidates += times_after_dates(text, tokens, candidates)
    starts = [t.start for t in tokens]
    candidates = [attach_punctuation(c, text) for c in candidates
                  if not _technique_value(text, tokens, starts, c, settings.technique_max_digits)]
    merged = merge_chunks(candidates, [(label.start, label.end) for label in labels])
    return [chunk for chunk in (trim_edges(c, text) for c in merged) if chunk is not None]


def _technique_value(text: str, tokens: list[Token], starts: list[int], chunk: Chunk, max_digits: int) -> bool:
    """Look only at the tokens around the chunk (bisect), so long lines stay linear."""
    low = max(bisect.bisect_left(starts, chunk.start) - 1, 0)
    high = bisect.bisect_right(starts, chunk.end)
    return is_technique_value(text, tokens[low:high], chunk, max_digits)


def _gap_field_starts(placed: Sequence[PlacedWord], ratio: float) -> frozenset[int]:
    """Words after a gap much wider than the text height start a new field (another overlay item)."""
    if len(placed) < 2:
        return frozenset()
    height = statistics.median(p.word.box.height for p in placed) or 1
    starts = set()
    for before, after in zip(placed, placed[1:]):
        if after.word.box.left - before.word.box.right > ratio * height:
            starts.add(after.start)
    return frozenset(starts)


def _text_field_starts(text: str) -> frozenset[int]:
    return frozenset(match.end() for match in re.finditer(r"\\", text))
