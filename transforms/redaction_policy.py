"""What to fill in one frame, given the text found: every region ("all"), or all but the safe text ("phi").

"phi" mode keeps, inside each detected text line, only the horizontal stretches covered by words that
are confidently not PHI (`transforms.phi.safe_text`) and not part of a PHI span the recognizer found;
everything else in the line is filled: values after labels, words OCR misread, parts of the line OCR did
not read at all. So a label such as "Patient ID:" survives while the value after it goes, and PHI that
OCR cannot read correctly is removed all the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from transforms.phi.safe_text import safe_mask
from transforms.text_types import Box, PhiSpan, TextLine

KEEP_MARGIN = 1      # pixels kept around a safe word (the fill padding of redact_regions eats into it)


def boxes_to_fill(lines: Sequence[TextLine], unread_regions: Sequence[Box], spans: Sequence[PhiSpan],
                  mode: str) -> list[Box]:
    if mode == "all":
        return [line.region for line in lines] + list(unread_regions)
    phi_boxes = [box for span in spans for box in span.boxes]
    fill = list(unread_regions)
    for line in lines:
        fill.extend(_line_fill(line, phi_boxes))
    return fill + phi_boxes


def _line_fill(line: TextLine, phi_boxes: Sequence[Box]) -> list[Box]:
    """The line's region minus the x-intervals of its safe words, as boxes of the line's height."""
    region = line.region
    keep = sorted((w.box.left - KEEP_MARGIN, w.box.right + KEEP_MARGIN)
                  for w, safe in zip(line.words, safe_mask(line.words))
                  if safe and not any(_overlaps(w.box, b) for b in phi_boxes))
    boxes, cursor = [], region.left
    for start, end in _merged(keep):
        if start > cursor:
            boxes.append(Box(cursor, region.top, min(start, region.right) - cursor, region.height))
        cursor = max(cursor, end)
    if cursor < region.right:
        boxes.append(Box(cursor, region.top, region.right - cursor, region.height))
    return [b for b in boxes if b.width > 0]


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlaps(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom
