"""The position finder: from a PHI chunk (characters of a line's text) back to pixels.

A line's text is its OCR words joined by single spaces, so each word owns a known character range.
A chunk maps to the union of the boxes of the words it spans. When it covers only part of a word
("ID:12345" read as one word, the label kept), the box is cut in proportion to the characters and
widened by one character on each side, since glyph widths vary; within the word's box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from transforms.text_types import Box, OcrWord


@dataclass(frozen=True)
class PlacedWord:
    start: int
    end: int
    word: OcrWord


def place_words(words: Sequence[OcrWord]) -> tuple[str, list[PlacedWord]]:
    """The line text and the character range of each word in it (empty words skipped)."""
    placed, parts, cursor = [], [], 0
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        if parts:
            cursor += 1
        placed.append(PlacedWord(cursor, cursor + len(text), word))
        parts.append(text)
        cursor += len(text)
    return " ".join(parts), placed


def chunk_box(start: int, end: int, placed: Sequence[PlacedWord]) -> Box | None:
    """The union of the (part-)word boxes a character range covers; None if it covers no word."""
    boxes = [_part_box(p, max(start, p.start), min(end, p.end)) for p in placed if p.start < end and start < p.end]
    if not boxes:
        return None
    union = boxes[0]
    for box in boxes[1:]:
        union = union.union(box)
    return union


def _part_box(placed: PlacedWord, start: int, end: int) -> Box:
    box = placed.word.box
    length = placed.end - placed.start
    if start <= placed.start and end >= placed.end:
        return box
    char_width = box.width / length
    left = box.left + int((start - placed.start - 1) * char_width)
    right = box.left + int(round((end - placed.start + 1) * char_width))
    left, right = max(left, box.left), min(max(right, left + 1), box.right)
    return Box(left, box.top, right - left, box.height)
