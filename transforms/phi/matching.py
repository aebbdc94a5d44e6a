"""Metadata-assisted matching: the n-grams of each text against the file's dictionary, tolerant to
OCR errors by a bounded edit distance.

All n-gram keys of all lines of a frame go to one `rapidfuzz.process.cdist` call (C++, vectorised)
against the dictionary's long keys; short keys (where one edit would turn "Li" into any two letters)
must match exactly and are looked up in a hash map. No per-rendering Python loop and no regex.

Allowed edits grow with the key: 0 up to 4 characters, 1 up to 8, 2 up to 15, 3 beyond, counting only
the characters that carry evidence (initials do not: "Head A" must not match "Head"). Keys are compared
OCR-folded, so O/0, l/1/I, S/5, B/8, Z/2 confusions cost nothing. A match that needs an extra edge
token no better than without it is dropped, so "DOE JOHN Se" does not take "Se" along.

Text typed by a machine (header values) is matched with `exact_digits`: there a number one digit away
from an identified one is another number (a date shifted by ten days, a dummy "000000" beside serial
"0000200"), not a misreading.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.phi.dictionary import PhiDictionary
from transforms.phi.merge import Chunk
from transforms.phi.normalize import Token, folded_key

DEFAULT_EDIT_BOUNDS = ((4, 0), (8, 1), (15, 2))
DEFAULT_LONG_EDITS = 3
QUERY_BATCH = 4096


@dataclass(frozen=True)
class Query:
    line: int
    first: int           # token indices, inclusive
    last: int
    plain: str


def allowed_edits(length: int, bounds: Sequence[tuple[int, int]] = DEFAULT_EDIT_BOUNDS,
                  beyond: int = DEFAULT_LONG_EDITS) -> int:
    for max_length, edits in bounds:
        if length <= max_length:
            return edits
    return beyond


def build_queries(token_lines: Sequence[Sequence[Token]], breaks: Sequence[frozenset[int]],
                  dictionary: PhiDictionary, max_edits: int) -> list[Query]:
    """Every run of up to max_tokens+1 adjacent tokens (within one field) whose key is not longer than
    the longest entry plus the allowed edits."""
    limit_tokens = dictionary.max_tokens + 1
    limit_chars = dictionary.max_key_len + max_edits
    queries = []
    for line, tokens in enumerate(token_lines):
        field_starts = breaks[line]
        for first in range(len(tokens)):
            key = ""
            for last in range(first, min(first + limit_tokens, len(tokens))):
                if last > first and tokens[last].start in field_starts:
                    break
                key += tokens[last].plain
                if len(key) > limit_chars:
                    break
                queries.append(Query(line, first, last, key))
    return queries


def match_dictionary(token_lines: Sequence[Sequence[Token]], breaks: Sequence[frozenset[int]],
                     dictionary: PhiDictionary, edit_bounds: Sequence[tuple[int, int]] = DEFAULT_EDIT_BOUNDS,
                     long_edits: int = DEFAULT_LONG_EDITS, exact_digits: bool = False) -> list[list[Chunk]]:
    """Dictionary chunks per line; `exact_digits`: a fuzzy match must spell every digit as the entry does."""
    found: list[list[Chunk]] = [[] for _ in token_lines]
    if dictionary.is_empty:
        return found
    queries = build_queries(token_lines, breaks, dictionary, long_edits)
    fuzzy = _fuzzy_hits(queries, dictionary, edit_bounds, long_edits)
    if exact_digits:
        fuzzy = [hit for hit in fuzzy if _digits(hit[0].plain) == _digits(dictionary.entries[hit[1]].plain)]
    hits = _exact_hits(queries, dictionary) + fuzzy
    names: dict[int, list[tuple[int, int]]] = {}
    for query, entry_index, distance in _without_superfluous_tokens(hits):
        tokens = token_lines[query.line]
        entry = dictionary.entries[entry_index]
        score = 1.0 - distance / max(len(entry.plain), 1)
        found[query.line].append(Chunk(tokens[query.first].start, tokens[query.last].end, entry.category,
                                       "dictionary", round(score, 3)))
        if entry.category == "NAME":
            names.setdefault(query.line, []).append((query.first, query.last))
    for line, matched in names.items():
        found[line] += _cut_name_neighbours(token_lines[line], breaks[line], matched, dictionary)
    return found


def _cut_name_neighbours(tokens: Sequence[Token], field_starts: frozenset[int],
                         matched: list[tuple[int, int]], dictionary: PhiDictionary) -> list[Chunk]:
    """A word beside a matched name that is the start or end of one of the header's name parts: OCR cut
    it at the edge of its crop ("HOWELL JENNI"). Only next to a name, so "Jen" elsewhere is not touched."""
    parts = _name_parts(dictionary)
    chunks = []
    for first, last in matched:
        for index in (first - 1, last + 1):
            if not 0 <= index < len(tokens) or tokens[max(index, first)].start in field_starts:
                continue
            piece = tokens[index].plain
            if len(piece) >= 3 and not piece.isdigit() and _starts_or_ends_a_part(folded_key(piece), parts):
                chunks.append(Chunk(tokens[index].start, tokens[index].end, "NAME", "dictionary", 0.6))
    return chunks


def _starts_or_ends_a_part(piece: str, parts: tuple[str, ...]) -> bool:
    edits = 0 if len(piece) < 5 else 1
    return any(len(part) > len(piece) and (Levenshtein.distance(piece, part[:len(piece)]) <= edits
                                           or Levenshtein.distance(piece, part[-len(piece):]) <= edits)
               for part in parts)


@lru_cache(maxsize=16)
def _name_parts(dictionary: PhiDictionary) -> tuple[str, ...]:
    return tuple(e.folded for e in dictionary.entries if e.category == "NAME" and e.tokens == 1)


def _exact_hits(queries: list[Query], dictionary: PhiDictionary) -> list[tuple[Query, int, int]]:
    """Equal keys; and digit entries equal up to OCR look-alikes ("l4:4O" is 14:40) when the text is
    mostly digits itself, so that no word ("LOSS") stands in for a number."""
    hits = []
    for query in queries:
        if query.plain in dictionary.exact:
            hits.append((query, dictionary.exact[query.plain], 0))
        elif _mostly_digits(query.plain) and (folded := folded_key(query.plain)) in dictionary.folded_digits:
            hits.append((query, dictionary.folded_digits[folded], 0))
    return hits


def _digits(key: str) -> str:
    return "".join(ch for ch in key if ch.isdigit())


def _mostly_digits(key: str) -> bool:
    return sum(ch.isdigit() for ch in key) * 2 > len(key)


@lru_cache(maxsize=16)
def _fuzzy_choices(dictionary: PhiDictionary, edit_bounds: tuple[tuple[int, int], ...],
                   long_edits: int) -> tuple[tuple[int, ...], list[str], np.ndarray]:
    """(entry indices, folded keys, allowed edits) of the entries compared with a tolerance; built once
    per dictionary, reused for every frame of the file."""
    indices = tuple(i for i, e in enumerate(dictionary.entries)
                    if allowed_edits(e.evidence, edit_bounds, long_edits) > 0)
    keys = [dictionary.entries[i].folded for i in indices]
    allowed = np.array([allowed_edits(dictionary.entries[i].evidence, edit_bounds, long_edits) for i in indices],
                       dtype=np.int32)
    return indices, keys, allowed


def _fuzzy_hits(queries: list[Query], dictionary: PhiDictionary, edit_bounds: Sequence[tuple[int, int]],
                long_edits: int) -> list[tuple[Query, int, int]]:
    indices, choices, allowed = _fuzzy_choices(dictionary, tuple(edit_bounds), long_edits)
    if not indices or not queries:
        return []
    cutoff = int(allowed.max())
    hits = []
    for offset in range(0, len(queries), QUERY_BATCH):
        batch = queries[offset:offset + QUERY_BATCH]
        distances = process.cdist([folded_key(q.plain) for q in batch], choices, scorer=Levenshtein.distance,
                                  score_cutoff=cutoff, dtype=np.int32, workers=1)
        rows, columns = np.nonzero(distances <= allowed[None, :])
        for row, column in zip(rows.tolist(), columns.tolist()):
            distance = int(distances[row, column])
            if distance > 0 or batch[row].plain not in dictionary.exact:
                hits.append((batch[row], indices[column], distance))
    return hits


def _without_superfluous_tokens(hits: list[tuple[Query, int, int]]) -> list[tuple[Query, int, int]]:
    """Drop a hit if the same entry matches as well without its first or its last token."""
    best: dict[tuple[int, int, int, int], int] = {}
    for query, entry, distance in hits:
        key = (query.line, query.first, query.last, entry)
        best[key] = min(distance, best.get(key, distance))
    kept = []
    for query, entry, distance in hits:
        shorter = [(query.line, query.first, query.last - 1, entry), (query.line, query.first + 1, query.last, entry)]
        if query.last > query.first and any(best.get(key, distance + 1) <= distance for key in shorter):
            continue
        kept.append((query, entry, distance))
    return kept
