"""Text written with one pen value: a detection view from the stored values themselves.

Why: modalities burn annotations into the frame buffer with a constant value, while acquired anatomy
carries noise. Where the text's value is close to the anatomy under it (grey text at 840 over brain
tissue at 820-900), no window or contrast rule separates them, but the stroke cores still hold exactly
the pen value, and that value stands out as a spike in the frame's histogram. Its pixels, joined
along the line, give the text's line boxes.

Only exact (lossless) values carry this cue: lossy codecs smear the spike and the view simply finds
nothing. Colour frames are left to the chroma and luminance views.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from transforms.text_types import Box

MAX_HISTOGRAM_BINS = 1 << 17     # wider stored ranges (32-bit) are not searched


@dataclass(frozen=True)
class InkSettings:
    max_values: int = 6              # pen values tried per frame, largest excess first
    min_pixels: int = 24             # an excess of fewer pixels over the neighbours cannot draw a word
    spike_ratio: float = 1.5         # count / mean count of the neighbouring values ...
    significance: float = 5.0        # ... and the excess over them, in Poisson deviations
    neighbourhood: int = 6           # neighbouring values on each side
    max_share: float = 0.25          # a value covering more of the frame is background, not a pen
    join_px: int = 4                 # pen pieces this close along a line belong to one run
    min_density: float = 0.08        # pen pixels / run box: fewer is noise that hit the value by chance
    min_stems: float = 2.0           # pen pixels / run height: at least two glyph stems' worth
    max_density: float = 0.6         # more is a solid area, not strokes
    contrast: float = 4.0            # pen density in the run / around it
    max_stroke_ratio: float = 0.22   # stroke width / line height of glyphs (as the morphological detector)
    max_deep_share: float = 0.05     # pen pixels deeper than half a stroke: at most this share


def ink_values(frame: np.ndarray, settings: InkSettings = InkSettings()) -> list[int]:
    """Stored values that spike in the histogram of a single-sample frame, largest excess first."""
    if frame.ndim != 2 or frame.dtype.kind not in "iu" or frame.size == 0:
        return []
    low, high = int(frame.min()), int(frame.max())
    if high - low + 1 > MAX_HISTOGRAM_BINS or high - low < 2 * settings.neighbourhood:
        return []
    counts = np.bincount((frame.ravel().astype(np.int64) - low), minlength=high - low + 1).astype(np.float64)
    width = settings.neighbourhood
    window = np.convolve(np.pad(counts, width, mode="edge"), np.ones(2 * width + 1), mode="valid")
    neighbours = (window - counts) / (2 * width)
    excess = counts - neighbours
    # A spike is more pixels than the neighbouring values hold, by far more than chance (Poisson: the
    # count's spread is its square root), so a pen value at the anatomy's own peak is still seen.
    spikes = np.flatnonzero((excess >= np.maximum(settings.min_pixels, settings.significance * np.sqrt(neighbours + 1)))
                            & (counts <= settings.max_share * frame.size)
                            & (counts >= settings.spike_ratio * (neighbours + 1)))
    spikes = spikes[np.argsort(-excess[spikes], kind="stable")][:settings.max_values]
    return [int(value) + low for value in spikes]


def ink_lines(frame: np.ndarray, settings: InkSettings = InkSettings(), min_height: int = 5,
              max_height: int = 60) -> list[Box]:
    """Line boxes of text drawn with one of the frame's pen values.

    The pen value's pixels are only the stroke cores (curves and diagonals are anti-aliased to other
    values), so glyphs come apart: the pieces are joined along the line by a closing a few pixels
    wide, and a joined run counts as a text line when it is glyph-high, at least as wide as high, dense
    in pen pixels against its surroundings, one band of rows, and made of thin strokes, not an area or a
    plate that happens to have the value."""
    boxes: list[Box] = []
    join = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * settings.join_px + 1, 3))
    for value in ink_values(frame, settings):
        pen = (frame == value).astype(np.uint8)
        summed = cv2.integral(pen)
        depth = cv2.distanceTransform(pen, cv2.DIST_L2, 3)
        count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(pen, join), connectivity=8)
        for left, top, width, height, _ in stats[1:]:
            core = Box(int(left) + settings.join_px, int(top) + 1, int(width) - 2 * settings.join_px, int(height) - 2)
            if (min_height <= core.height <= max_height and core.width >= core.height
                    and _stands_out(summed, core, frame.shape, settings) and _one_band(pen, core)
                    and _thin(depth, core, settings) and not _plate(pen, core)):
                boxes.append(core)
    return boxes


def _plate(pen: np.ndarray, core: Box) -> bool:
    """A plate behind the text (the text is its holes) holds the value along its whole outline;
    glyph strokes touch their line box's outline only here and there."""
    inside = pen[core.top:core.bottom, core.left:core.right]
    outline = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])
    return float(outline.mean()) > 0.5


def _thin(depth: np.ndarray, core: Box, settings: InkSettings) -> bool:
    """Strokes, not areas: few pen pixels lie deeper inside the pen than half a stroke width of a
    glyph this high (a saturated region can share the text's value: its pixels are deep)."""
    inside = depth[core.top:core.bottom, core.left:core.right]
    pen_pixels = int((inside > 0).sum())
    half_stroke = settings.max_stroke_ratio * core.height / 2 + 1.5
    return pen_pixels > 0 and float((inside > half_stroke).sum()) <= settings.max_deep_share * pen_pixels


def _one_band(pen: np.ndarray, core: Box) -> bool:
    """Every row of a text line holds some ink (stems run its whole height): a blank band of rows
    inside the run means two things stacked (a logo above a line), joined by the closing."""
    inked_rows = pen[core.top:core.bottom, core.left:core.right].any(axis=1)
    longest, current = 0, 0
    for inked in inked_rows:
        current = 0 if inked else current + 1
        longest = max(longest, current)
    return longest < max(2, round(0.15 * core.height))


def _stands_out(summed: np.ndarray, core: Box, shape: tuple[int, ...], settings: InkSettings) -> bool:
    """Pen pixels are dense in the run and rare around it. Anatomy whose noise often hits the pen
    value (text written at the tissue's own level) has them scattered everywhere, in runs and around."""
    inside = _count(summed, core)
    ring = core.padded(core.height, shape[0], shape[1])
    around = (_count(summed, ring) - inside) / max(ring.width * ring.height - core.width * core.height, 1)
    density = inside / max(core.width * core.height, 1)
    return (inside >= settings.min_stems * core.height and density >= settings.contrast * around
            and settings.min_density <= density <= settings.max_density)


def _count(summed: np.ndarray, box: Box) -> int:
    return int(summed[box.bottom, box.right] - summed[box.top, box.right]
               - summed[box.bottom, box.left] + summed[box.top, box.left])


def extend_along_pen(frame: np.ndarray, boxes: list[Box], settings: InkSettings = InkSettings()) -> list[Box]:
    """Each box grown left and right along its line while the pen value that drew it continues.

    A line is often found only in part: the part over a dark background, not the part over anatomy of
    the text's own brightness. The pen value of the found part (the value far more frequent inside the
    box than around it) still marks the rest, in lossless frames, so the box is extended in steps of
    half its height while that value stays dense in the band (`contrast` times its frequency away
    from all the boxes), across gaps of up to a word space."""
    if frame.ndim != 2 or frame.dtype.kind not in "iu":
        return list(boxes)
    elsewhere = np.ones(frame.shape, dtype=bool)
    for box in boxes:
        elsewhere[box.top:box.bottom, box.left:box.right] = False
    chance: dict[int, float] = {}
    extended = []
    for box in boxes:
        pen = pen_value_of(frame, box, settings)
        if pen is None:
            extended.append(box)
            continue
        if pen not in chance:
            chance[pen] = float((frame[elsewhere] == pen).mean()) if elsewhere.any() else 0.0
        extended.append(_extend(frame, box, pen, max(settings.min_density / 2, settings.contrast * chance[pen])))
    return extended


def _extend(frame: np.ndarray, box: Box, pen: int, needed: float) -> Box:
    band = frame[box.top:box.bottom] == pen
    step, max_gap = max(2, box.height // 2), 1.5 * box.height
    left = _walk(band, box.left, -step, max_gap, needed)
    right = _walk(band, box.right, step, max_gap, needed)
    return Box(left, box.top, right - left, box.height)


def _walk(band: np.ndarray, edge: int, step: int, max_gap: float, needed: float) -> int:
    """Move `edge` outwards window by window while windows dense in pen pixels keep coming."""
    columns = band.shape[1]
    position, gap = edge, 0
    while gap <= max_gap:
        start, stop = (position, position + step) if step > 0 else (position + step, position)
        start, stop = max(start, 0), min(stop, columns)
        if stop <= start:
            break
        position += step
        if band[:, start:stop].mean() >= needed:
            edge, gap = (stop if step > 0 else start), 0
        else:
            gap += abs(step)
    return edge


def pen_value_of(frame: np.ndarray, box: Box, settings: InkSettings = InkSettings()) -> int | None:
    """The value much more frequent in the box than in a ring of one box height around it."""
    inside = frame[box.top:box.bottom, box.left:box.right].ravel()
    if inside.size == 0:
        return None
    ring = box.padded(box.height, frame.shape[0], frame.shape[1])
    around = frame[ring.top:ring.bottom, ring.left:ring.right].ravel()
    values, counts = np.unique(inside, return_counts=True)
    best = np.argsort(-counts)[:8]
    scale = inside.size / max(around.size - inside.size, 1)
    for k in best:
        value, count = values[k], int(counts[k])
        outside = int((around == value).sum()) - count
        if count - scale * outside >= settings.min_stems * box.height and count <= settings.max_density * inside.size:
            return int(value)
    return None
