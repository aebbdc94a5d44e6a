"""A fast text-line detector: morphology and connected components, no OCR, no model.

Why this shape: Tesseract on a whole 2000x2000 radiograph costs seconds and mostly reads anatomy; burned-in
text is a row of small, similarly sized strokes that stand out from their surroundings. A top-hat (bright
text) and a black-hat (dark text) keep thin structures and drop large smooth ones; connected components of
the thresholded result are kept when glyph-like (height, aspect, fill, stroke width), then chained left to
right into lines when they share a baseline band and a size.

Two contrast thresholds per view and polarity, because no single one serves every frame: Otsu's split
of the response (with a floor) isolates strong text touching strong anatomy, and a low threshold, a
multiple of the view's own noise, keeps faint text (grey text over bright anatomy, text just outside the
display window) that Otsu would put with the background. The low threshold also passes chains of speckle
and anatomy; `transforms.pixels.locate` has the learned model confirm those before they count.

All thresholds are relative to the glyph height or to the view's own contrast and noise, never to one
data source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from transforms.pixels.dbnet import DbnetSettings
from transforms.pixels.ink import InkSettings
from transforms.pixels.prepare import GreyView
from transforms.text_types import Box


@dataclass(frozen=True)
class DetectorSettings:
    """How text regions are found: the morphological detector's glyph and line rules, and (used by
    `transforms.pixels.locate`) which other detectors run and how regions are joined and padded."""

    min_glyph_height: int = 5        # lowercase of 8 px text
    max_glyph_height: int = 60       # capitals of 40 px text, with slack for accents and brackets
    kernel: int = 0                  # morphology kernel side; 0 = derived from max_glyph_height
    min_contrast: int = 40           # floor of the Otsu threshold, grey levels between stroke and surroundings
    noise_multiple: float = 5.0      # the low threshold: this many noise deviations of the view ...
    min_faint_contrast: int = 8      # ... but at least this many grey levels (noise-free synthetic views)
    max_gap_ratio: float = 1.3       # horizontal gap between glyphs of one line, in heights of the
                                     # shorter of the two (see `_chain_into_lines`)
    min_glyphs: int = 2              # a line needs this many glyphs (or one wide merged word)
    min_fill: float = 0.08           # stroke pixels / box area: rejects thin frames and lines
    max_fill: float = 0.95           # solid blocks are not glyphs
    max_stroke_ratio: float = 0.22   # stroke width / glyph height (+ `stroke_slack_px`): bold capitals
    stroke_slack_px: float = 2.5     # stay near 0.2; blur widens small glyphs' strokes by ~2 px; blobs above
    single_component_words: bool = False  # one wide component as a word (touching letters); off by
                                          # default: the gaps of a bright text block form such meshes
    line_margin_ratio: float = 0.15  # margin added around a line box by `detect_text_regions`
    # --- the combined locator (transforms.pixels.locate) ---
    use_model: bool = True           # the learned detector (DBNet) over a local-contrast view
    model: DbnetSettings = field(default_factory=DbnetSettings)
    contrast_tiles: int = 8          # CLAHE tiles per side of the model's local-contrast view
    use_ink: bool = True             # lines drawn with one pen value (lossless grey frames)
    ink: InkSettings = field(default_factory=InkSettings)
    confirm_with_model: bool = True  # morphological lines the model did not find must be confirmed by
                                     # it on their stroke response (speckle and anatomy are not)
    join_gap_ratio: float = 1.0      # regions on one line closer than this many heights (of the
                                     # shorter region) become one
    region_margin_ratio: float = 0.06  # added around each final region, in its heights (at least 1 px;
                                       # redaction pads 3 px more): anti-aliased edges of large glyphs
    confirm_min_aspect: float = 3.0  # morphological lines narrower than this many heights are "short":
                                     # asked about after the long ones, quietest surroundings first
    max_confirmations: int = 32      # model confirmations per frame (~5-10 ms each)
    rotated_text: bool = True        # text in other orientations: the model's rotated regions are read
                                     # turned upright, glyphs are also chained top to bottom
    max_vertical_confirmations: int = 8   # vertical morphological lines the model is asked about per frame
    confirm_pen_lines: bool = True   # pen-value lines the model did not find must be confirmed by it on
                                     # their pen pixels: texture (saturated speckle) also hits a value
    max_pen_confirmations: int = 16  # per frame; further unconfirmed pen lines are dropped
    small_text_px: int = 9           # model lines this low (frame rows; 4-6 px glyphs), `small_text_lines` of
    small_text_lines: int = 2        # them: the model looks again at the frame enlarged to 1024 px (<= 4x)
    small_text_model: DbnetSettings = field(
        default_factory=lambda: DbnetSettings(upscale_below=1024, max_upscale=4.0))
    quarter_turn_min_scale: float = 2.0    # frames `small_text_model` enlarges this much (<= 512 px) are
    quarter_turn_aspect: float = 2.5       # also shown to it turned a quarter, for small vertical lines
                                           # this many heights long (`locate._quarter_turned_look`);
                                           # infinity turns the look off


DEFAULT_SETTINGS = DetectorSettings()
# Speed first (measured in docs/pixel-path.md): the model reads small frames at their own scale (not
# enlarged twice, which costs ~4x) and confirms fewer morphological lines; small or faint text and
# isolated short labels are then found less often. (Shrinking large frames for the model was tried:
# at half scale it boxes anatomy of a 2140 px radiograph as text.)
FAST_SETTINGS = DetectorSettings(model=DbnetSettings(upscale_below=0), max_confirmations=8)


@dataclass(frozen=True)
class LineCandidate:
    """A line found by the morphological detector: its box, the view it was seen in, its polarity, and
    whether its glyphs are chained top to bottom (text turned 90 or 270 degrees) instead of left to right."""

    box: Box
    view: int
    bright_text: bool
    vertical: bool = False
    corners: tuple[tuple[float, float], ...] = ()   # a slanted line's rotated rectangle (frame pixels)


def detect_text_regions(views: list[GreyView],
                        settings: DetectorSettings = DEFAULT_SETTINGS) -> list[Box]:
    """Line boxes of probable text in frame coordinates, merged over all views and both polarities
    (the morphological detector alone, padded by `line_margin_ratio`)."""
    if not views:
        return []
    rows, columns = views[0].image.shape
    boxes = [candidate.box for candidate in line_candidates(views, settings)]
    return [box.padded(max(1, round(settings.line_margin_ratio * box.height)), rows, columns)
            for box in merge_overlapping(boxes)]


def line_candidates(views: list[GreyView], settings: DetectorSettings = DEFAULT_SETTINGS,
                    vertical: bool = False, slanted: bool = False) -> list[LineCandidate]:
    """Unpadded line boxes of every view and polarity, with where they were seen; with `vertical`, also
    the lines whose glyphs chain top to bottom (the same components, chained the other way); with
    `slanted`, also chains that run straight at a few degrees off (`SLANT_DEGREES`), with their corners."""
    found: list[LineCandidate] = []
    for index, view in enumerate(views):
        for bright in ((True,) if view.bright_text_only else (True, False)):
            for box, upright, corners in _detect_one(view.image, bright, settings, vertical, slanted):
                found.append(LineCandidate(box, index, bright, not upright, corners))
    return found


def stroke_response(grey: np.ndarray, bright_text: bool, settings: DetectorSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """How far each pixel stands out from its neighbourhood (top-hat or black-hat): text strokes are
    bright here on a black page whatever lay under them, which is what the model is shown to confirm."""
    side = settings.kernel or max(9, settings.max_glyph_height // 3) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    operation = cv2.MORPH_TOPHAT if bright_text else cv2.MORPH_BLACKHAT
    return cv2.morphologyEx(grey, operation, kernel)


def faint_threshold(grey: np.ndarray, settings: DetectorSettings = DEFAULT_SETTINGS) -> float:
    """The low contrast threshold of a view: a multiple of its noise, with a floor."""
    return max(settings.noise_multiple * noise_sigma(grey), float(settings.min_faint_contrast))


def noise_sigma(grey: np.ndarray) -> float:
    """Robust noise deviation of a view: the median absolute difference of horizontal neighbours
    (scaled to a Gaussian's sigma), over pixels that differ at all, so large flat areas (air, a
    black border) do not hide the noise of the anatomy."""
    step = np.abs(np.diff(grey.astype(np.int16), axis=1))
    moving = step[step > 0]
    if moving.size == 0:
        return 0.0
    return float(np.median(moving)) * 1.4826 / np.sqrt(2.0)


def _detect_one(grey: np.ndarray, bright_text: bool, settings: DetectorSettings, vertical: bool = False,
                slanted: bool = False) -> list[tuple[Box, bool, tuple[tuple[float, float], ...]]]:
    """(line box, upright, corners of a slanted line) of one view and polarity. Vertical lines are
    chained from the same components with rows and columns exchanged: a glyph turned a quarter is as
    wide as it was high."""
    response = stroke_response(grey, bright_text, settings)
    boxes: list[tuple[Box, bool, tuple[tuple[float, float], ...]]] = []
    for threshold in _thresholds(response, grey, settings):
        mask = (response >= threshold).astype(np.uint8)
        components = _components(mask, settings)
        for upright in ((True, False) if vertical else (True,)):
            glyphs = _glyph_shaped(*components, settings) if upright \
                else _glyph_shaped(*_transposed(components), settings)
            for line in _chain_into_lines(glyphs, settings):
                corners: tuple[tuple[float, float], ...] = ()
                if not _is_text_line(glyphs[line], settings):
                    corners = _slanted_band(glyphs[line]) if slanted else ()
                    if not corners:
                        continue
                box = _line_box(glyphs[line])
                if not upright:
                    box, corners = _transposed_box(box), tuple((y, x) for x, y in corners)
                if _ink_against_background(grey, mask, box, bright_text, threshold / 2):
                    boxes.append((box, upright, corners))
    return boxes


SLANT_DEGREES = (3.0, 15.0)      # a straight chain this far off its axis is a slanted line


def _slanted_band(line: np.ndarray) -> tuple[tuple[float, float], ...]:
    """The rotated rectangle of a chain that fails the straight-band rule only because it runs at an
    angle: at least four glyphs of similar height whose centres lie on one straight line
    (least squares, every centre within a fifth of the median height of it) at `SLANT_DEGREES`."""
    if len(line) < 4:
        return ()
    heights = line[:, 3].astype(np.float64)
    median = float(np.median(heights))
    if heights.max() > 1.6 * median or heights.min() < 0.5 * median:
        return ()
    x = line[:, 0] + line[:, 2] / 2.0
    y = line[:, 1] + line[:, 3] / 2.0
    slope, intercept = np.polyfit(x, y, 1)
    angle = float(np.degrees(np.arctan(slope)))
    if not SLANT_DEGREES[0] <= abs(angle) <= SLANT_DEGREES[1]:
        return ()
    if np.abs(y - (slope * x + intercept)).max() > 0.2 * median + 1.0:
        return ()
    left, right = float(line[:, 0].min()), float((line[:, 0] + line[:, 2]).max())
    half = 0.6 * median * np.cos(np.radians(angle)) + 0.5 * median * abs(np.sin(np.radians(angle)))
    ends = [(left, slope * left + intercept), (right, slope * right + intercept)]
    return ((ends[0][0], ends[0][1] - half), (ends[1][0], ends[1][1] - half),
            (ends[1][0], ends[1][1] + half), (ends[0][0], ends[0][1] + half))


def _thresholds(response: np.ndarray, grey: np.ndarray, settings: DetectorSettings) -> list[float]:
    """Otsu's split with its floor (strong text), and a multiple of the view's noise (faint text)."""
    otsu, _ = cv2.threshold(response, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong = max(float(otsu), float(settings.min_contrast))
    faint = faint_threshold(grey, settings)
    return [strong] if faint >= strong else [strong, faint]


def _ink_against_background(grey: np.ndarray, mask: np.ndarray, box: Box, bright_text: bool,
                            margin: float) -> bool:
    """Ink covers less than half of a line's box, so the box's median is its background, and the ink
    lies on the polarity's side of it. The narrow dark gaps between the lines of a bright text block
    also form glyph-like chains under a black-hat; their median is the dark background they belong to."""
    pixels = grey[box.top:box.bottom, box.left:box.right]
    ink = mask[box.top:box.bottom, box.left:box.right].astype(bool)
    if not ink.any() or ink.all():
        return False
    background = float(np.median(pixels))
    if bright_text:      # the ink's brightest tenth: the mask also holds anti-aliased edge pixels
        return float(np.percentile(pixels[ink], 90)) - background >= margin
    return background - float(np.percentile(pixels[ink], 10)) >= margin


def _glyphs(mask: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """(n, 4) int array of left, top, width, height of the glyph-like components."""
    return _glyph_shaped(*_components(mask, settings), settings)


def _components(mask: np.ndarray, settings: DetectorSettings) -> tuple[np.ndarray, np.ndarray]:
    """(n, 5) stats (left, top, width, height, area) of the mask's components, and the stroke width of
    each that could be a glyph in either orientation (the others get infinity)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros((0, 5), dtype=np.int64), np.zeros(0, dtype=np.float32)
    stats = stats[1:].astype(np.int64)
    longer, shorter = np.maximum(stats[:, 2], stats[:, 3]), np.minimum(stats[:, 2], stats[:, 3])
    fill = stats[:, 4] / np.maximum(stats[:, 2] * stats[:, 3], 1)
    sized = ((shorter <= settings.max_glyph_height) & (longer >= settings.min_glyph_height)
             & (fill >= settings.min_fill) & (fill <= settings.max_fill))
    stroke = _stroke_widths(mask, labels, count, np.concatenate([[False], sized]))[1:]
    return stats, np.where(sized, stroke, np.inf).astype(np.float32)


def _glyph_shaped(stats: np.ndarray, stroke: np.ndarray, settings: DetectorSettings) -> np.ndarray:
    """The components that are glyph-like as written left to right (height, aspect, fill, stroke)."""
    if stats.shape[0] == 0:
        return np.zeros((0, 4), dtype=np.int64)
    left, top, width, height, area = (stats[:, k] for k in range(5))
    fill = area / np.maximum(width * height, 1)
    keep = ((height >= settings.min_glyph_height) & (height <= settings.max_glyph_height)
            & (width <= height * 40) & (width * 8 >= height)
            & (fill >= settings.min_fill) & (fill <= settings.max_fill)
            & (stroke <= settings.max_stroke_ratio * height + settings.stroke_slack_px))
    return np.stack([left[keep], top[keep], width[keep], height[keep]], axis=1)


def _transposed(components: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stats, stroke = components
    return stats[:, [1, 0, 3, 2, 4]], stroke


def _transposed_box(box: Box) -> Box:
    return Box(box.top, box.left, box.height, box.width)


def _stroke_widths(mask: np.ndarray, labels: np.ndarray, count: int, wanted: np.ndarray) -> np.ndarray:
    """Twice the largest distance to the background inside each wanted component: glyph strokes are
    thin relative to the glyph's height, blobs of anatomy are not. Only pixels deeper than one pixel
    are gathered (thin strokes have few), which keeps this linear in the blobs' area."""
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    widest = np.ones(count, dtype=np.float32)
    deep = distance > 1.0
    deep &= wanted[labels]
    np.maximum.at(widest, labels[deep], distance[deep])
    return 2 * widest


def _chain_into_lines(glyphs: np.ndarray, settings: DetectorSettings) -> list[np.ndarray]:
    """Groups (index arrays) of glyphs that are neighbours on one line: pairs are tested in bulk,
    groups are the connected components of the neighbour pairs.

    The gap a pair may span is measured in the shorter glyph's height: spacing scales with the size of
    its own text, so a small label beside large text (a depth-scale digit on the rows of a large ID)
    is not chained across the large text's spacing. Lowercase beside capitals still chains: a word
    space is well under 1.3 x-heights."""
    n = len(glyphs)
    if n == 0:
        return []
    left, top, width, height = (glyphs[:, k] for k in range(4))
    right, bottom = left + width, top + height
    parent = np.arange(n)
    for start in range(0, n, 512):                       # rows of the pair matrix, bounded memory
        rows = slice(start, min(start + 512, n))
        tall = np.maximum(height[rows, None], height[None, :])
        short = np.minimum(height[rows, None], height[None, :])
        overlap = np.minimum(bottom[rows, None], bottom[None, :]) - np.maximum(top[rows, None], top[None, :])
        gap = np.maximum(left[None, :] - right[rows, None], left[rows, None] - right[None, :])
        later = np.arange(n)[None, :] > np.arange(rows.start, rows.stop)[:, None]
        near = later & (tall <= 3 * short) & (overlap >= 0.5 * short) & (gap <= settings.max_gap_ratio * short)
        for a, b in zip(*np.nonzero(near)):
            _union(parent, a + start, b)
    roots = np.array([_find(parent, k) for k in range(n)])
    return [np.flatnonzero(roots == root) for root in np.unique(roots)]


def _find(parent: np.ndarray, k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return int(k)


def _union(parent: np.ndarray, a: int, b: int) -> None:
    root_a, root_b = _find(parent, int(a)), _find(parent, int(b))
    if root_a != root_b:
        parent[root_a] = root_b


def _is_text_line(line: np.ndarray, settings: DetectorSettings) -> bool:
    """A straight band: glyph chains that drift up or down (edges, vessels, speckle) are not text."""
    heights = np.sort(line[:, 3])
    median = heights[len(heights) // 2]
    band = int((line[:, 1] + line[:, 3]).max() - line[:, 1].min())
    if band > 1.6 * median + 2:
        return False
    if len(line) >= settings.min_glyphs:
        return len(line) > 2 or heights[-1] <= 1.5 * heights[0]
    width, height = line[0, 2], line[0, 3]
    return settings.single_component_words and width >= 2 * height   # touching letters of one word


def _line_box(line: np.ndarray) -> Box:
    left, top = int(line[:, 0].min()), int(line[:, 1].min())
    return Box(left, top, int((line[:, 0] + line[:, 2]).max()) - left, int((line[:, 1] + line[:, 3]).max()) - top)


def merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Union boxes that overlap (the same text seen in two views or polarities), until stable.

    Called on unpadded line boxes, so two neighbouring text lines stay apart for line-wise OCR."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        result: list[Box] = []
        for box in sorted(merged, key=lambda b: (b.top, b.left)):
            for k, other in enumerate(result):
                if box.overlaps(other):
                    result[k] = other.union(box)
                    changed = True
                    break
            else:
                result.append(box)
        merged = result
    return merged
