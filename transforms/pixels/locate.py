"""Where the text of one frame is: three detectors, each covering the others' blind spots, then lines.

1. The learned detector (DBNet, `dbnet.py`) over a local-contrast view finds most text in any font,
   colour or background, and few false regions.
2. The morphological detector (`detect.py`) over the display and stored-range views (colour: luminance
   and chroma) finds text the model misses: text crossing a strong edge, partly lost lines. At its low
   threshold it also passes speckle and anatomy, so each of its lines the model did not already find is
   shown to the model again, alone and enlarged, as its stroke response (strokes bright on black
   whatever lay under them); it counts only if the model then sees text there.
3. Lines drawn with one pen value (`ink.py`, lossless grey frames) find text whose value equals the
   anatomy under it, which no contrast rule can. Texture can hit a value too (the saturated grains of
   ultrasound speckle all hold the top value), so a pen line the model did not find must be confirmed
   by it, shown its pen pixels as white strokes on black: text is text to it, speckle grains are not.

The boxes of all three are joined into lines (same band, similar height, a gap small relative to the
smaller height), so a line found in pieces becomes one region while a small label beside or above large
text stays its own; then each is given a small margin; `redact.redact_regions` pads further.

Text in other orientations (`orient.py`): the model's regions keep their rotated rectangles, and one that
runs vertically or is skewed becomes a rotated `TextRegion`, read turned upright; glyphs the
morphological detector chains top to bottom (a name along an edge the model missed) are confirmed by
the model on their stroke response turned a quarter, like horizontal candidates. Horizontal pieces found
inside a rotated region are parts of it and are dropped.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.dbnet import DbnetSettings, ScoredBox, detect_text_dbnet
from transforms.pixels.detect import (DEFAULT_SETTINGS, DetectorSettings, LineCandidate, faint_threshold,
                                      line_candidates, stroke_response)
from transforms.pixels.frames import PixelInfo
from transforms.pixels.ink import extend_along_pen, ink_lines, pen_value_of
from transforms.pixels.orient import TextRegion, grow_corners, region_from_corners
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
    caller already made them with `grey_views`); a rotated line as its bounds."""
    return [region.box for region in locate_regions(frame, info, header, settings, views)]


def locate_regions(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None,
                   settings: DetectorSettings = DEFAULT_SETTINGS,
                   views: list[GreyView] | None = None) -> list[TextRegion]:
    """Text lines of one stored frame: horizontal ones as boxes, others with their rotated rectangle."""
    views = views if views is not None else grey_views(frame, info, header)
    rows, columns = frame.shape[:2]
    scored = _model_regions(frame, info, header, settings)
    shapes = [region_from_corners(found.corners, rows, columns, glyphs=False)
              if settings.rotated_text and found.corners else TextRegion(found.box) for found in scored]
    turned = [shape for shape in shapes if shape.rotated]
    model = [found.box for found, shape in zip(scored, shapes) if not shape.rotated]
    candidates = line_candidates(views, settings, vertical=settings.rotated_text)
    inside_turned = _TurnedArea(turned, rows, columns)
    upright = [c for c in candidates if not c.vertical and not inside_turned.holds(c.box)]
    glyph_lines = _morphological_boxes(views, upright, model, settings)
    pen_drawn = settings.use_ink and frame.ndim == 2 and info.decoded_photometric().startswith("MONOCHROME")
    if pen_drawn:                              # not palette indices: plates behind text share its index
        glyph_lines += _pen_lines(frame, model + glyph_lines, inside_turned, settings)
    lines = join_lines(model + glyph_lines, settings.join_gap_ratio)
    if pen_drawn:
        lines = join_lines(extend_along_pen(frame, lines, settings.ink), settings.join_gap_ratio)
    vertical = [c for c in candidates if c.vertical]
    turned = [replace(region, glyphs=any(_share_of_first(c.box, region.box) >= FOUND_SHARE for c in candidates))
              for region in turned]
    turned += _vertical_lines(views, [c for c in vertical if not inside_turned.holds(c.box)], lines, settings)
    inside_turned = _TurnedArea(turned, rows, columns)
    found = [TextRegion(box.padded(max(1, round(settings.region_margin_ratio * box.height)), rows, columns),
                        glyphs=any(_share_of_first(piece, box) >= FOUND_SHARE for piece in glyph_lines))
             for box in lines if not inside_turned.holds(box)]
    return found + [_with_margin(region, settings, rows, columns) for region in turned]


def _model_regions(frame: np.ndarray, info: PixelInfo, header: Dataset | None,
                   settings: DetectorSettings) -> list[ScoredBox]:
    if not settings.use_model:
        return []
    view = local_contrast_view(frame, info, header, tiles=settings.contrast_tiles)
    found = detect_text_dbnet(view, settings.model)
    return found + _closer_look(view, found, settings) + _quarter_turned_look(view, settings)


def _model_boxes(frame: np.ndarray, info: PixelInfo, header: Dataset | None,
                 settings: DetectorSettings) -> list[Box]:
    return [found.box for found in _model_regions(frame, info, header, settings)]


def _closer_look(view: np.ndarray, found: list[ScoredBox], settings: DetectorSettings) -> list[ScoredBox]:
    """The model again, on the frame enlarged further (`settings.small_text_model`), when it found
    `small_text_lines` lines of text (twice as wide as high) of at most `small_text_px` rows: glyphs of
    4-6 px (a 256x256 MR's overlay) are only partly found at the usual scale, and where some lines are
    seen others are likely (one overlay, one font), over anatomy where the usual scale sees none.
    Frames without small text pay nothing (an isolated small box is a digit or a speck, not an overlay)."""
    rows, columns = view.shape[:2]
    closer = settings.small_text_model
    small_lines = [f.box for f in found if f.box.height <= settings.small_text_px and f.box.width >= 2 * f.box.height]
    if len(small_lines) < settings.small_text_lines \
            or _model_scale(rows, columns, closer) <= _model_scale(rows, columns, settings.model):
        return []
    return [f for f in detect_text_dbnet(view, closer)            # small text only: at that scale the model
            if f.box.height <= settings.small_text_px and f.box.width >= f.box.height]  # also boxes speckle
    # and anatomy as large regions (an ultrasound screen's)


def _quarter_turned_look(view: np.ndarray, settings: DetectorSettings) -> list[ScoredBox]:
    """Small text running vertically, which the model sees neither at the frame's scale nor on its own
    (a name along the edge of a 256 px MR in glyphs 4 px tall, published in clear): the model again, at
    the enlarged scale (`small_text_model`), on the frame turned a quarter, where that text runs
    horizontally. Only on frames the enlarged scale enlarges at least `quarter_turn_min_scale` times
    (512 px and smaller: where glyphs of 4-6 px are found; not an ultrasound screen's speckle) and only its
    small lines (`small_text_px`, at least `quarter_turn_aspect` heights long: a horizontal word turned is
    a short upright box). Each comes back as its rectangle in the frame, a vertical `TextRegion` read in
    both directions along it; text that runs the other way round (270 degrees) is the same line."""
    rows, columns = view.shape[:2]
    closer = settings.small_text_model
    if not settings.rotated_text or _model_scale(rows, columns, closer) < settings.quarter_turn_min_scale:
        return []
    turned = np.ascontiguousarray(np.rot90(view, -1))   # clockwise: turned[i, j] = view[rows - 1 - j, i]
    found = []
    for line in detect_text_dbnet(turned, closer):
        b = line.box
        if b.height > settings.small_text_px or b.width < settings.quarter_turn_aspect * b.height:
            continue
        corners = ((b.top, rows - b.left), (b.top, rows - b.right), (b.bottom, rows - b.right),
                   (b.bottom, rows - b.left))          # (x, y) in the frame of the turned view's corners
        frame_box = Box(b.top, rows - b.right, b.height, b.width).clipped_to(Box(0, 0, columns, rows))
        found.append(ScoredBox(frame_box, line.score, tuple((float(x), float(y)) for x, y in corners)))
    return found


def _model_scale(rows: int, columns: int, model: DbnetSettings) -> float:
    longer = max(rows, columns)
    return 1.0 if longer >= model.upscale_below else min(model.max_upscale, model.upscale_below / longer)


def _morphological_boxes(views: list[GreyView], candidates: list[LineCandidate], found: list[Box],
                         settings: DetectorSettings) -> list[Box]:
    """Morphological lines already inside a model box, plus those the model confirms on their own."""
    kept: list[Box] = []
    unconfirmed: list[LineCandidate] = []
    for candidate in candidates:
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


def _pen_lines(frame: np.ndarray, found: list[Box], inside_turned: "_TurnedArea",
               settings: DetectorSettings) -> list[Box]:
    """Pen-value lines inside a model box, and those the model confirms on their pen pixels (longest
    first, at most `max_pen_confirmations`; the rest are dropped: a frame with more unconfirmed pen
    lines than that is a textured one)."""
    lines = [box for box in ink_lines(frame, settings.ink, settings.min_glyph_height, settings.max_glyph_height)
             if not inside_turned.holds(box)]
    if not (settings.use_model and settings.confirm_with_model and settings.confirm_pen_lines):
        return lines
    kept = [box for box in lines if _already_found(box, found)]
    asked = sorted((box for box in lines if not _already_found(box, found)), key=lambda b: -b.width)
    for box in asked[:settings.max_pen_confirmations]:
        confirmed = _confirmed_pen_line(frame, box, settings)
        if confirmed is not None:
            kept.append(confirmed)
    return kept


def _confirmed_pen_line(frame: np.ndarray, box: Box, settings: DetectorSettings) -> Box | None:
    """Does the model see text in the line's pen pixels (white on black, thickened by a pixel: they are
    only the cores of anti-aliased strokes)? The pixels are those of the value drawing the line."""
    pen = pen_value_of(frame, box, settings.ink)
    if pen is None:
        return None
    outer = box.padded(max(8, box.height), frame.shape[0], frame.shape[1])
    strokes = (frame[outer.top:outer.bottom, outer.left:outer.right] == pen).astype(np.uint8) * 255
    strokes = cv2.dilate(strokes, np.ones((2, 2), np.uint8))
    local = Box(box.left - outer.left, box.top - outer.top, box.width, box.height)
    confirmed = _confirmed_region(strokes, LineCandidate(local, 0, True), settings)
    if confirmed is None:
        return None
    return Box(confirmed.left + outer.left, confirmed.top + outer.top, confirmed.width, confirmed.height)


def _vertical_lines(views: list[GreyView], candidates: list[LineCandidate], upright: list[Box],
                    settings: DetectorSettings) -> list[TextRegion]:
    """Glyphs chained top to bottom that the model confirms, shown turned a quarter (its confirmation
    reads lines across): long ones first, at most `max_vertical_confirmations`. A vertical chain of
    two or three glyphs is as often a stack of single labels as a word, and reads as either way; a
    chain that crosses two horizontal lines is the column of first (or last) letters of a text block."""
    long_enough = [c for c in candidates if c.box.height >= settings.confirm_min_aspect * c.box.width
                   and sum(1 for box in upright if box.overlaps(c.box)) < 2]
    long_enough.sort(key=lambda c: -c.box.height)
    turned_views: dict[int, np.ndarray] = {}
    found: list[TextRegion] = []
    for candidate in _deduplicated(long_enough)[:settings.max_vertical_confirmations]:
        box = candidate.box
        if any(_share_of_first(box, other.box) >= FOUND_SHARE for other in found):
            continue
        if settings.use_model and settings.confirm_with_model:
            if candidate.view not in turned_views:
                turned_views[candidate.view] = np.ascontiguousarray(views[candidate.view].image.T)
            across = LineCandidate(Box(box.top, box.left, box.height, box.width), candidate.view,
                                   candidate.bright_text)
            confirmed = _confirmed_region(turned_views[candidate.view], across, settings)
            if confirmed is None:
                continue
            box = Box(confirmed.top, confirmed.left, confirmed.height, confirmed.width)
        corners = ((box.left, box.bottom), (box.left, box.top), (box.right, box.top), (box.right, box.bottom))
        found.append(TextRegion(box, -90.0, tuple((float(x), float(y)) for x, y in corners)))
    return found


def _with_margin(region: TextRegion, settings: DetectorSettings, rows: int, columns: int) -> TextRegion:
    """A rotated region grown by the regions' margin, in its thickness."""
    points = np.asarray(region.corners, dtype=np.float64)
    thickness = min(np.hypot(*(points[1] - points[0])), np.hypot(*(points[2] - points[1])))
    grown = grow_corners(region.corners, max(1.0, round(settings.region_margin_ratio * thickness)))
    reshaped = region_from_corners(grown, rows, columns, region.glyphs)
    return reshaped if reshaped.rotated else TextRegion(reshaped.box, region.angle, grown, region.glyphs)


class _TurnedArea:
    """The pixels of a frame's rotated regions, to tell horizontal pieces of them from lines of their own."""

    def __init__(self, turned: list[TextRegion], rows: int, columns: int):
        self._summed = None
        if turned:
            mask = np.zeros((rows, columns), dtype=np.uint8)
            for region in turned:
                corners = np.round(np.asarray(region.corners) * 16).astype(np.int32)
                cv2.fillConvexPoly(mask, corners, 1, lineType=cv2.LINE_8, shift=4)
            self._summed = cv2.integral(mask)

    def holds(self, box: Box) -> bool:
        """At least half of the box lies inside a rotated region."""
        if self._summed is None or box.width <= 0 or box.height <= 0:
            return False
        s = self._summed
        inside = int(s[box.bottom, box.right] - s[box.top, box.right] - s[box.bottom, box.left] + s[box.top, box.left])
        return inside >= FOUND_SHARE * box.width * box.height


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

