"""The merge step: the union of the chunk sources, overlaps resolved, labels taken back out.

Spark NLP's ChunkMerge is licensed only, so this is ours. Overlapping chunks (a dictionary match of
"DOE JOHN" and a pattern match of "DOE, JOHN") become one chunk covering both: for redaction the
union is what matters. Its category and source are those of the most trusted member: dictionary
(the header says so) over pattern over rule, then the higher score, then the longer chunk.
Chunks that only touch stay separate (a name and the date beside it are two items).
Label ranges ("Patient ID:") are taken out of pattern and rule chunks before the union: a label is
not PHI. Dictionary chunks keep them: when the header value itself holds the word ("MRN-4240-4" read
as "MRN - 4240-4"), it is part of the value, not a label.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

SOURCE_PRIORITY = {"dictionary": 3, "pattern": 2, "ner": 1, "rule": 1}
LEADING_ATTACHED = "([{<#+"
TRAILING_ATTACHED = ")]}>"


@dataclass(frozen=True)
class Chunk:
    """A character range [start, end) of one text judged to be PHI."""

    start: int
    end: int
    category: str
    source: str          # dictionary | pattern | rule (| ner, from the Spark NLP engine)
    score: float

    @property
    def rank(self) -> tuple[int, float, int]:
        return SOURCE_PRIORITY.get(self.source, 0), self.score, self.end - self.start


def merge_chunks(chunks: Iterable[Chunk], keep: Sequence[tuple[int, int]] = ()) -> list[Chunk]:
    """Remove the `keep` ranges (labels) from non-dictionary chunks, then union overlapping chunks."""
    pieces = [piece for chunk in chunks
              for piece in ([chunk] if chunk.source == "dictionary" else _subtract(chunk, keep))]
    merged: list[list[Chunk]] = []
    for chunk in sorted((c for c in pieces if c.end > c.start), key=lambda c: (c.start, -c.end)):
        if merged and chunk.start < max(c.end for c in merged[-1]):
            merged[-1].append(chunk)
        else:
            merged.append([chunk])
    return [_combine(group) for group in merged]


def _combine(group: list[Chunk]) -> Chunk:
    best = max(group, key=lambda c: c.rank)
    return replace(best, start=min(c.start for c in group), end=max(c.end for c in group))


def _subtract(chunk: Chunk, keep: Sequence[tuple[int, int]]) -> list[Chunk]:
    pieces = [chunk]
    for start, end in keep:
        next_pieces = []
        for piece in pieces:
            if end <= piece.start or start >= piece.end:
                next_pieces.append(piece)
                continue
            if piece.start < start:
                next_pieces.append(replace(piece, end=start))
            if end < piece.end:
                next_pieces.append(replace(piece, start=end))
        pieces = next_pieces
    return pieces


def attach_punctuation(chunk: Chunk, text: str) -> Chunk:
    """Widen a chunk over brackets and signs glued to it ("[M]", "(555)", "+49") so no stray part of the
    value is left; never over letters or digits, a label's colon or sentence punctuation."""
    start, end = chunk.start, chunk.end
    while start > 0 and text[start - 1] in LEADING_ATTACHED:
        start -= 1
    while end < len(text) and text[end] in TRAILING_ATTACHED:
        end += 1
    return replace(chunk, start=start, end=end) if (start, end) != (chunk.start, chunk.end) else chunk


def trim_edges(chunk: Chunk, text: str) -> Chunk | None:
    """Strip spaces and loose punctuation left at the edges (e.g. after a label was taken out); drop a
    chunk with no letter or digit left."""
    start, end = chunk.start, chunk.end
    while start < end and not text[start].isalnum() and text[start] not in LEADING_ATTACHED:
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in TRAILING_ATTACHED:
        end -= 1
    if not any(ch.isalnum() for ch in text[start:end]):
        return None
    return replace(chunk, start=start, end=end)
