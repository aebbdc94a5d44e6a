"""The records that the pixel path and the PHI recognizer exchange (identified while they hold text).

Coordinates are in stored-frame pixels: left/top of the box, its width and height.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def overlaps(self, other: "Box") -> bool:
        """The two boxes share at least one pixel."""
        return self.left < other.right and other.left < self.right and self.top < other.bottom \
            and other.top < self.bottom

    def union(self, other: "Box") -> "Box":
        left, top = min(self.left, other.left), min(self.top, other.top)
        return Box(left, top, max(self.right, other.right) - left, max(self.bottom, other.bottom) - top)

    def padded(self, pad: int, rows: int, columns: int) -> "Box":
        left, top = max(self.left - pad, 0), max(self.top - pad, 0)
        return Box(left, top, min(self.right + pad, columns) - left, min(self.bottom + pad, rows) - top)

    def clipped_to(self, other: "Box") -> "Box":
        """The part of this box inside `other` (zero-sized at its nearest edge when they do not meet)."""
        left, top = min(max(self.left, other.left), other.right), min(max(self.top, other.top), other.bottom)
        right, bottom = max(min(self.right, other.right), left), max(min(self.bottom, other.bottom), top)
        return Box(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class OcrWord:
    """One word as Tesseract read it, with its box in frame coordinates."""

    text: str                 # identified: stays in memory / bronze, never in silver or gold
    confidence: float         # 0..100
    box: Box
    line_index: int           # words of one text line share it, in reading order
    word_index: int           # position within the line


@dataclass(frozen=True)
class TextLine:
    """A detected text region and the words read in it."""

    region: Box
    words: tuple[OcrWord, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class PhiSpan:
    """A piece of OCR text the recognizer judged to be PHI, mapped back to pixel boxes."""

    category: str             # NAME, DATE, ID, AGE, ...
    source: str               # pattern | dictionary | ner
    score: float
    boxes: tuple[Box, ...]
    text_hash: str            # keyed hash of the text, never the text
