"""Where the text of one frame is: three detectors, each covering the others' blind spots, then lines.

1. The learned detector (DBNet, `dbnet.py`) over a local-contrast view finds most text in any font,
   colour or background, and few false regions.
2. The morphological detector (`detect.py`) over the display and stored-range views (colour: luminance
   and chroma) finds text the model misses: text crossing a strong edge, partly lost lines. At its low
   threshold it also passes speckle and anatomy, so each of its lines the model did not already find is
   shown to the model again, alone and enlarged, as its stroke response (strokes bright on black
   whatever lay under them); it counts only if the model then sees text there.
3. Lines drawn with one pen value (`ink.py`, lossless grey frames) find text whose value equals the
   anatomy under it, which no contrast rule can.

The boxes of all three are joined into lines (same band, similar height, a gap small relative to the
smaller height), so a line found in pieces becomes one region while a small label beside or above large
text stays its own; then each is given a small margin; `redact.redact_regions` pads further.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.dbnet import DbnetSettings, detect_text_dbnet
from transforms.pixels.detect import (DEFAULT_SETTINGS, DetectorSettings, LineCandidate, faint_threshold,
                                      line_candidates, stroke_response)
from transforms.pixels.frames import PixelInfo
from transforms.pixels.ink import extend_along_pen, ink_lines
from transforms.pixels.prepare import GreyView, grey_views, local_contrast_view
from transforms.text_types import Box

CONFIRM_TEXT_HEIGHT = 32        # a candidate is shown to the model with its text about this high
CONFIRM_MAX_UPSCALE = 4.0
FOUND_SHARE = 0.5               # a candidate is already found when this share of it lies in a model box
CONFIRM_COVERED_SHARE = 0.4     # confirmed when the model's lines cover this share of the candidate ...
CONFIRM_MIN_HEIGHT_SHARE = 0.4  # ... counting model lines at least this share of the candidate's height


def locate_text(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None,
                settings: DetectorSettings = DEFAULT_SETTINGS,
                views: list[GreyView] | None = None) -> list[Box]:
    """Text line regions of one stored frame, in frame coordinates (`views` may be passed when the
    caller already made them with `grey_views`)."""
    views = views if views is not None else grey_views(frame, info, header)
    boxes = _model_boxes(frame, info, header, settings)
    boxes += _morphological_boxes(views, boxes, settings)
    pen_drawn = settings.use_ink and frame.ndim == 2 and info.decoded_photometric().startswith("MONOCHROME")
    if pen_drawn:                              # not palette indices: plates behind text share its index
        boxes += ink_lines(frame, settings.ink, settings.min_glyph_height, settings.max_glyph_height)
    lines = join_lines(boxes, settings.join_gap_ratio)
    if pen_drawn:
        lines = join_lines(extend_along_pen(frame, lines, settings.ink), settings.join_gap_ratio)
    rows, columns = frame.shape[:2]
    return [box.padded(max(1, round(settings.region_margin_ratio * box.height)), rows, columns) for box in lines]


def _model_boxes(frame: np.ndarray, info: PixelInfo, header: Dataset | None,
                 settings: DetectorSettings) -> list[Box]:
    if not settings.use_model:
        return []
    view = local_contrast_view(frame, info, header, tiles=settings.contrast_tiles)
    boxes = [found.box for found in detect_text_dbnet(view, settings.model)]
    return boxes + _closer_look(view, boxes, settings)


def _closer_look(view: np.ndarray, boxes: list[Box], settings: DetectorSettings) -> list[Box]:
    """The model again, on the frame enlarged further (`settings.small_text_model`), when it found
    `small_text_lines` lines of text (twice as wide as high) of at most `small_text_px` rows: glyphs of
    4-6 px (a 256x256 MR's overlay) are only partly found at the usual scale, and where some lines are
    seen others are likely (one overlay, one font), over anatomy where the usual scale sees none.
    Frames without small text pay nothing (an isolated small box is a digit or a speck, not an overlay)."""
    rows, columns = view.shape[:2]
    closer = settings.small_text_model
    small_lines = [box for box in boxes if box.height <= settings.small_text_px and box.width >= 2 * box.height]
    if len(small_lines) < settings.small_text_lines \
            or _model_scale(rows, columns, closer) <= _model_scale(rows, columns, settings.model):
        return []
    return [found.box for found in detect_text_dbnet(view, closer)            # small text only: at that
            if found.box.height <= settings.small_text_px and found.box.width >= found.box.height]  # scale
    # the model also boxes speckle and anatomy as large regions (an ultrasound screen's)


def _model_scale(rows: int, columns: int, model: DbnetSettings) -> float:
    longer = max(rows, columns)
    return 1.0 if longer >= model.upscale_below else min(model.max_upscale, model.upscale_below / longer)


def _morphological_boxes(views: list[GreyView], found: list[Box], settings: DetectorSettings) -> list[Box]:
    """Morphological lines already inside a model box, plus those the model confirms on their own."""
    kept: list[Box] = []
    unconfirmed: list[LineCandidate] = []
    for candidate in line_candidates(views, settings):
        if _already_found(candidate.box, found) or not settings.use_model or not settings.confirm_with_model:
            kept.append(candidate.box)
        else:
            unconfirmed.append(candidate)
    for candidate in _worth_confirming(unconfirmed, views, settings):
        if _already_found(candidate.box, found + kept):
            kept.append(candidate.box)
            continue
        confirmed = _confirmed_region(views[candidate.view].image, candidate, settings)
        if confirmed is not None:
            kept.append(confirmed)
    return kept


def join_lines(boxes: list[Box], gap_ratio: float = 1.0, min_overlap: float = 0.6,
               max_height_ratio: float = 2.5, contained: float = 0.8) -> list[Box]:
    """Union boxes of one text line: vertically overlapping by `min_overlap` of the shorter, heights
    within `max_height_ratio`, horizontal gap at most `gap_ratio` of the shorter (spacing scales with
    the text's own size: a small label across a large line's word space is not part of it); and boxes
    mostly (`contained`) inside another. Boxes of neighbouring lines that merely touch stay apart."""
    joined = list(boxes)
    changed = True
    while changed:
        changed = False
        result: list[Box] = []
        for box in sorted(joined, key=lambda b: (b.left, b.top)):
            for k, other in enumerate(result):
                if _same_line(box, other, gap_ratio, min_overlap, max_height_ratio) \
                        or _inside_share(box, other) >= contained:
                    result[k] = other.union(box)
                    changed = True
                    break
            else:
                result.append(box)
        joined = result
    return joined


def _same_line(a: Box, b: Box, gap_ratio: float, min_overlap: float, max_height_ratio: float) -> bool:
    short, tall = sorted((a.height, b.height))
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    gap = max(a.left - b.right, b.left - a.right)
    return overlap >= min_overlap * short and tall <= max_height_ratio * short and gap <= gap_ratio * short


def _inside_share(a: Box, b: Box) -> float:
    """Share of the smaller box that lies inside the other."""
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(min(a.width * a.height, b.width * b.height), 1)


def _already_found(box: Box, found: list[Box]) -> bool:
    return any(_share_of_first(box, other) >= FOUND_SHARE for other in found)


def _share_of_first(a: Box, b: Box) -> float:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(a.width * a.height, 1)


def _worth_confirming(candidates: list[LineCandidate], views: list[GreyView],
                      settings: DetectorSettings) -> list[LineCandidate]:
    """The candidates the model is asked about, at most `max_confirmations` per frame: long lines
    first, then short ones (a two-digit label, or a two-blob chain of speckle) in order of how quiet
    their surroundings are, since a label sits on a plain background and speckle in more speckle.
    The bound keeps a noisy 4-megapixel radiograph, with hundreds of such chains, affordable."""
    wide = [c for c in candidates if c.box.width >= settings.confirm_min_aspect * c.box.height]
    short = [c for c in candidates if c.box.width < settings.confirm_min_aspect * c.box.height]
    short.sort(key=lambda c: _surround_spread(views[c.view].image, c.box))
    return (_deduplicated(wide) + _deduplicated(short))[:settings.max_confirmations]


def _deduplicated(candidates: list[LineCandidate]) -> list[LineCandidate]:
    """One candidate per place: the same line seen in two views or at two thresholds is asked once."""
    kept: list[LineCandidate] = []
    for candidate in candidates:
        if not any(_share_of_first(candidate.box, other.box) >= FOUND_SHARE for other in kept):
            kept.append(candidate)
    return kept


def _surround_spread(grey: np.ndarray, box: Box) -> float:
    """Spread (inter-quartile range) of the view around a box, within one box height."""
    ring = box.padded(box.height, grey.shape[0], grey.shape[1])
    pixels = grey[ring.top:ring.bottom, ring.left:ring.right].astype(np.float32)
    inside = np.zeros(pixels.shape, dtype=bool)
    inside[box.top - ring.top:box.bottom - ring.top, box.left - ring.left:box.right - ring.left] = True
    around = pixels[~inside]
    if around.size == 0:
        return 0.0
    low, high = np.percentile(around, [25, 75])
    return float(high - low)


def _confirmed_region(grey: np.ndarray, candidate: LineCandidate, settings: DetectorSettings) -> Box | None:
    """Does the model see text in the candidate's stroke response, cut out with one line height of
    context, saturated at a few times the faint threshold (so faint and strong strokes look alike)
    and enlarged to a height the model reads well? If so, the candidate cut to the rows of the model
    lines that confirm it, else None.

    The rows are the model's because it measures a line's height where the morphological chain may
    not: at the low threshold, speckle or a lossy codec's halo around the glyphs joins them into
    components much taller than the text, and such a candidate would cover the line above or below
    it. The columns stay the candidate's (the model may miss a faint end of the line)."""
    box = candidate.box
    outer = box.padded(max(8, box.height), grey.shape[0], grey.shape[1])
    crop = np.ascontiguousarray(grey[outer.top:outer.bottom, outer.left:outer.right])
    local = DetectorSettings(max_glyph_height=max(9, 2 * box.height))     # kernel sized to this line
    response = stroke_response(crop, candidate.bright_text, local).astype(np.float32)
    saturation = min(float(np.percentile(response, 99.5)), 3.0 * faint_threshold(crop, settings))
    if saturation <= 0:
        return None
    strokes = np.clip(response * (255.0 / saturation), 0, 255).astype(np.uint8)
    factor = float(np.clip(CONFIRM_TEXT_HEIGHT / max(box.height, 1), 1.0, CONFIRM_MAX_UPSCALE))
    if factor > 1.0:
        strokes = cv2.resize(strokes, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    inner = Box(round((box.left - outer.left) * factor), round((box.top - outer.top) * factor),
                round(box.width * factor), round(box.height * factor))
    as_is = replace(settings.model, upscale_below=0, tile=1 << 16)
    covered = np.zeros((inner.height, inner.width), dtype=bool)
    for found in detect_text_dbnet(strokes, as_is):
        if found.box.height >= CONFIRM_MIN_HEIGHT_SHARE * inner.height:
            covered[max(found.box.top - inner.top, 0):max(found.box.bottom - inner.top, 0),
                    max(found.box.left - inner.left, 0):max(found.box.right - inner.left, 0)] = True
    if covered.size == 0 or float(covered.mean()) < CONFIRM_COVERED_SHARE:
        return None
    rows = np.flatnonzero(covered.any(axis=1))
    top = box.top + int(np.floor(rows[0] / factor))
    bottom = min(box.top + int(np.ceil((rows[-1] + 1) / factor)), box.bottom)
    return Box(box.left, top, box.width, bottom - top)

