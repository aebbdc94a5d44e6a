"""How much of a text box a tool painted over, and how much of the rest of the frame it touched.

"Covered" follows how redaction works: the tool paints the box with one fill value, the most
common output value among the box's changed pixels. Coverage is the share of the box's pixels that
were not already at the fill value and now are (within the tolerance of a lossy output). Counting
only pixels that had to change keeps two cases honest: black paint over text on a black
background covers the text although the background did not change, and an untouched box in a
re-encoded lossy output (a few pixels moved by the codec) does not look covered because its
flat background happens to sit near the codec noise. A box nobody touched has 0 coverage.
Blurring or pixelating leaves no single fill value, so such boxes score low: they are not treated
as removed (the text often stays readable).

Rule (documented in docs/corpus-and-scoring.md): a PHI box is removed when coverage >= 90%, or when
coverage >= 50% and the independent OCR no longer reads its text. A non-PHI box is destroyed when
50% or more of its pixels changed or were covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from transforms.text_types import Box

REMOVED_COVERAGE = 0.90
REMOVED_COVERAGE_IF_UNREAD = 0.50
DESTROYED_SHARE = 0.50
INTEGRITY_MARGIN = 4          # px around every truth box that a tool may pad its redaction by
LOSSY_TOLERANCE_PERCENTILE = 99.5
LOSSY_EDGE_PX = 1
LOSSY_FILL_SHARE = 0.10      # lossy: within 10% of the old distance to the fill counts as at it
PAINT_EDGE_PX = 2            # ringing around a painted area, left out of the codec's error estimate
PAINT_MIN_PIXELS = 16        # fewer pixels at one value are chance, not paint


@dataclass(frozen=True)
class BoxMeasure:
    coverage: float        # share of the box's pixels not at the fill before that are at it now
    changed: float         # share of the box whose value changed (beyond tolerance)


def _difference(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-pixel absolute difference, the largest channel for colour."""
    diff = np.abs(after.astype(np.int64) - before.astype(np.int64))
    return diff.max(axis=-1) if diff.ndim == 3 else diff


def measure_box(before: np.ndarray, after: np.ndarray, tolerance: float, lossy: bool = False) -> BoxMeasure:
    """`before`/`after` are the same box cut from the input and the output frame.

    A lossy output cannot hold the fill exactly: the codec's error on a painted rectangle (a sharp
    step from fill to anatomy) is far above its error elsewhere. There a pixel counts as at the
    fill when it moved at least 90% of the way from its old value to the fill, and the box's
    outermost ring of pixels (where the ringing is worst) is left out."""
    if before.size == 0:
        return BoxMeasure(0.0, 0.0)
    changed = _difference(before, after) > tolerance
    changed_share = float(changed.mean())
    if not changed.any():
        return BoxMeasure(0.0, 0.0)
    fill = np.broadcast_to(_mode(after[changed]), after.shape)
    distance_before = _difference(fill, before)
    was_at_fill = distance_before <= tolerance
    allowed = np.maximum(tolerance, LOSSY_FILL_SHARE * distance_before) if lossy else tolerance
    now_at_fill = _difference(fill, after) <= allowed
    to_cover = ~was_at_fill
    rows, columns = to_cover.shape[:2]
    if lossy and rows > 2 * LOSSY_EDGE_PX + 2 and columns > 2 * LOSSY_EDGE_PX + 2:
        ring = np.ones_like(to_cover)
        ring[LOSSY_EDGE_PX:-LOSSY_EDGE_PX, LOSSY_EDGE_PX:-LOSSY_EDGE_PX] = False
        to_cover &= ~ring
    if not to_cover.any():
        return BoxMeasure(1.0, changed_share)
    return BoxMeasure(float((now_at_fill & to_cover).sum() / to_cover.sum()), changed_share)


def _mode(values: np.ndarray) -> np.ndarray:
    """Most common value (or colour) among the changed pixels."""
    if values.ndim == 2:                              # (pixels, channels)
        colours, counts = np.unique(values, axis=0, return_counts=True)
        return colours[counts.argmax()]
    uniques, counts = np.unique(values, return_counts=True)
    return uniques[counts.argmax()]


def is_phi_removed(measure: BoxMeasure, ocr_reads: bool | None) -> bool:
    """OCR unknown (not run) counts as still readable: the lower threshold then does not apply."""
    if measure.coverage >= REMOVED_COVERAGE:
        return True
    return measure.coverage >= REMOVED_COVERAGE_IF_UNREAD and ocr_reads is False


def is_destroyed(measure: BoxMeasure) -> bool:
    return max(measure.coverage, measure.changed) >= DESTROYED_SHARE


def text_mask(shape: tuple[int, int], boxes: list[Box], margin: int = INTEGRITY_MARGIN) -> np.ndarray:
    """True inside any box grown by `margin` (the area a redaction may legitimately touch)."""
    mask = np.zeros(shape, bool)
    for box in boxes:
        grown = box.padded(margin, shape[0], shape[1])
        mask[grown.top:grown.bottom, grown.left:grown.right] = True
    return mask


def lossy_tolerance(before: np.ndarray, after: np.ndarray, outside: np.ndarray) -> float:
    """For a lossy output: the codec's own error level, from pixels no text is near and no paint.

    A redactor also paints beyond the truth boxes (the spaces of a filled line, its padding); those
    pixels would otherwise set the tail of the error distribution, and a tolerance the size of the
    paint's step hides the paint over the boxes themselves (fill over bright anatomy measured as
    unchanged). Paint is found as the changed pixels at the one most common value among the largest
    changes, grown by `PAINT_EDGE_PX` for the codec's ringing at its edges. A redactor that paints
    no single value (blur, pixelation) has none found, and the estimate is as before."""
    diff = _difference(before, after)
    if not outside.any():
        return 0.0
    naive = float(np.percentile(diff[outside], LOSSY_TOLERANCE_PERCENTILE))
    largest = outside & (diff >= naive) & (diff > 0)
    if not largest.any():
        return naive
    fill = _mode(after[largest])
    painted = (_difference(np.broadcast_to(fill, after.shape), after) == 0) & (diff > 0)
    if int(painted.sum()) < PAINT_MIN_PIXELS:
        return naive
    size = 2 * PAINT_EDGE_PX + 1
    grown = cv2.dilate(painted.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    unpainted = outside & ~grown
    return float(np.percentile(diff[unpainted], LOSSY_TOLERANCE_PERCENTILE)) if unpainted.any() else naive


def crop(frame: np.ndarray, box: Box) -> np.ndarray:
    return frame[box.top:box.bottom, box.left:box.right]
