"""What to fill in one frame, given the text found: every region ("all"), or all but the safe text ("phi").

"phi" mode keeps, inside each detected text line, only the horizontal stretches covered by words that
are confidently not PHI (`transforms.phi.safe_text`) and not part of a PHI span the recognizer found;
everything else in the line is filled: values after labels, words OCR misread, parts of the line OCR did
not read at all. So a label such as "Patient ID:" survives while the value after it goes, and PHI that
OCR cannot read correctly is removed all the same. One exception to "unread means filled": a lone mark
(`is_lone_mark`: a ruler digit or an orientation marker alone near the border) is kept unread.

Lines read by `ocr.py` can read a word, or a few in a row, again, alone (`read_words_again`): that costs a
Tesseract call or a few, so it is asked for only here, once the PHI is known, and only for the few unsafe
words a second reading may show to be a label, a technique word or a measurement
(`safe_text.stretches_worth_reading_again`).
"""

from __future__ import annotations

from collections.abc import Sequence

from transforms.phi.field_labels import label_words
from transforms.phi.safe_text import (ends_with_label, is_settled_reading, kept_after_second_reading,
                                      safe_in_other_reading, safe_mask, stretches_worth_reading_again)
from transforms.pixels.glyphs import Fill
from transforms.pixels.redact import DEFAULT_PADDING
from transforms.text_types import Box, OcrWord, PhiSpan, TextLine

KEEP_MARGIN = 1      # pixels kept around a safe word
PADDING = DEFAULT_PADDING    # pixels added around what is filled, except towards a kept word (redact's own)
LONE_MARK_MAX_ASPECT = 1.6   # width / height of a region with room for two characters at most
LONE_MARK_CLEARANCE = 2.0    # line heights of empty band a lone mark has on either side
LONE_MARK_BORDER_SHARE = 0.15  # ... and it lies within this share of the frame's width or height of an edge
VALUE_BELOW = 1.5    # line heights under a label alone in its line within which a region is its value
SPACE_RATIO = 0.3    # a gap narrower than this x line height between kept words is a space, not a glyph


def boxes_to_fill(lines: Sequence[TextLine], unread_regions: Sequence[Box], spans: Sequence[PhiSpan],
                  mode: str, rows: int, columns: int) -> list[Box]:
    """Final boxes, padding included (fill them with no further padding): the pieces of `fills_to_make`."""
    return [piece for fill in fills_to_make(lines, unread_regions, spans, mode, rows, columns) for piece in fill.pieces]


def fills_to_make(lines: Sequence[TextLine], unread_regions: Sequence[Box], spans: Sequence[PhiSpan],
                  mode: str, rows: int, columns: int) -> list[Fill]:
    """What to fill, per text line: padded pieces of the line within its padded region (the context
    in which `redact.tight_boxes` tells the glyphs from the background)."""
    def padded(box: Box) -> Box:
        return box.padded(PADDING, rows, columns)

    if mode == "all":
        return [Fill(padded(b), (padded(b),), b) for b in [line.region for line in lines] + list(unread_regions)]
    phi_boxes = [box for span in spans for box in span.boxes]
    regions = [line.region for line in lines] + list(unread_regions)
    values = {r for r in regions if _after_label(r, lines)}
    marks = {r for r in regions if r not in values
             and is_lone_mark(r, regions, rows, columns) and not any(r.overlaps(b) for b in phi_boxes)}
    fills = [Fill(padded(b), (padded(b),), b) for b in unread_regions if b not in marks]
    for line in lines:
        if line.region not in marks:
            pieces = _line_fill(line, phi_boxes, rows, columns, line.region in values)
            if pieces:
                fills.append(Fill(padded(line.region), tuple(pieces), line.region))
    for box in phi_boxes:
        core = box
        for region in regions:
            if region.overlaps(box):
                core = core.union(region)
        fills.append(Fill(padded(core), (padded(box),), core, one_value=True))
    return fills


def _after_label(region: Box, lines: Sequence[TextLine]) -> bool:
    """The region is the value of a field label: the nearest text to its left in its band is a line
    that ends with a label ("SEX" then "M", "Age" then "46", at any distance: overlays align values in a
    column far from their labels), or it stands right under a line that is a label and nothing else,
    within that label's columns ("Sex" over "M", left- or right-aligned or centred). No marker or
    scale-label rule may keep such a value (a value line still keeps its own label words)."""
    beside = [line for line in lines if line.region != region and line.words
              and min(line.region.bottom, region.bottom) - max(line.region.top, region.top)
              >= 0.5 * min(line.region.height, region.height)
              and line.region.right <= region.left]
    if beside and ends_with_label(max(beside, key=lambda line: line.region.right).words):
        return True
    above = [line for line in lines if line.region != region and line.words
             and -0.5 * line.region.height <= region.top - line.region.bottom <= VALUE_BELOW * line.region.height
             and region.top > line.region.top and _under_columns(region, line.region)]
    return any(all(is_label for is_label, w in zip(label_words(line.words), line.words)
                   if any(ch.isalnum() for ch in w.text)) for line in above)


def _under_columns(region: Box, label: Box) -> bool:
    """Starting where the label starts, or lying within its columns (one label height of slack)."""
    slack = label.height
    return abs(region.left - label.left) <= slack or (region.left >= label.left - slack
                                                      and region.right <= label.right + slack)


def reads_as_nothing(line: TextLine) -> bool:
    """OCR found no letter or digit in the line, through its whole cascade. Where, besides, only the
    learned detector saw text there (no glyph-shaped components) and the place may hold anatomy, the
    frame task leaves it alone: a detector's hit in texture (speckle, trabecular bone, noise) that reads
    as nothing is not text. Text read but not understood is still filled."""
    return not any(ch.isalnum() for word in line.words for ch in word.text)


def is_lone_mark(region: Box, regions: Sequence[Box], rows: int, columns: int) -> bool:
    """Room for two characters at most, near the frame's border, and no other text in its band on
    either side: a ruler number, an orientation marker, a tick label. Two characters identify no one,
    so such a mark is kept even when OCR cannot read it (small single glyphs are what Tesseract reads
    worst); a PHI span on it still fills it. Part of a longer string is not alone in its band, and in
    the interior, where the rest of a string may have escaped detection (text as grey as the anatomy
    under it), a short region is filled all the same."""
    if region.width > LONE_MARK_MAX_ASPECT * region.height or not _near_border(region, rows, columns):
        return False
    clearance = LONE_MARK_CLEARANCE * region.height
    for other in regions:
        if other == region:
            continue
        overlap = min(region.bottom, other.bottom) - max(region.top, other.top)
        gap = max(other.left - region.right, region.left - other.right)
        if overlap > 0.5 * min(region.height, other.height) and gap < clearance:
            return False
    return True


def _line_fill(line: TextLine, phi_boxes: Sequence[Box], rows: int, columns: int,
               is_value: bool = False) -> list[Box]:
    """The line's region minus the x-intervals of its safe words (only its field labels for a value
    line, `_after_label`), as boxes of the line's height, padded on every side but the ones that touch
    a kept word."""
    region = line.region
    kept = _kept_words(line, phi_boxes)
    if is_value:
        labels = [w for w, is_label in zip(line.words, label_words(line.words)) if is_label]
        kept = [w for w in kept if any(w.box.overlaps(label.box) for label in labels)]
    keep = _merged(sorted((w.box.left - KEEP_MARGIN, w.box.right + KEEP_MARGIN) for w in kept),
                   max_gap=int(SPACE_RATIO * region.height))
    top, bottom = max(region.top - PADDING, 0), min(region.bottom + PADDING, rows)
    edges = [(region.left - PADDING, False)] + [e for start, end in keep for e in ((start, True), (end, True))] \
        + [(region.right + PADDING, False)]
    boxes = []
    for (left, _), (right, _) in zip(edges[0::2], edges[1::2]):
        left, right = max(left, 0), min(right, columns)
        if right > left:
            boxes.append(Box(left, top, right - left, bottom - top))
    return boxes


def _kept_words(line: TextLine, phi_boxes: Sequence[Box]) -> list[OcrWord]:
    """The line's safe words outside every PHI box, some of them as a second reading found them, and
    the words the cascade's losing readings of the line spell safely (`safe_in_other_reading`)."""
    words = list(line.words)
    flagged = [any(w.box.overlaps(b) for b in phi_boxes) for w in words]
    safe = safe_mask(words, line.region.width)
    read_words_again = getattr(line, "read_words_again", None)     # lines from `ocr.py` only
    if read_words_again is not None:
        for first, last in stretches_worth_reading_again(words, safe, flagged):
            if safe[first]:                  # made safe by an earlier stretch
                continue
            kept: dict[int, OcrWord] = {}
            for reading in read_words_again(first, last):     # one preparation after another, on demand
                kept = kept_after_second_reading(words, flagged, first, last, reading)
                if kept or is_settled_reading(reading):
                    break
            for i, word in kept.items():
                if not flagged[i]:
                    words[i], safe[i] = word, True
    kept = [w for w, s, f in zip(words, safe, flagged) if s and not f]
    for reading in getattr(line, "other_readings", ()):     # lines from `ocr.py` only
        kept.extend(w for w in safe_in_other_reading(words, safe, flagged, reading, line.region.width)
                    if not any(w.box.overlaps(b) for b in phi_boxes))
    return kept


def _near_border(region: Box, rows: int, columns: int) -> bool:
    return (min(region.left, columns - region.right) <= LONE_MARK_BORDER_SHARE * columns
            or min(region.top, rows - region.bottom) <= LONE_MARK_BORDER_SHARE * rows)


def _merged(intervals: list[tuple[int, int]], max_gap: int = 0) -> list[tuple[int, int]]:
    """Overlapping intervals joined, and those separated by a word space (no glyph fits in it)."""
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1] + max_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
