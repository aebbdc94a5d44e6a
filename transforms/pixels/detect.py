"""A fast text-region detector: morphology and connected components, no OCR, no model.

Why this shape: Tesseract on a whole 2000x2000 radiograph costs seconds and mostly reads anatomy; burned-in
text is a row of small, similarly sized, high-contrast strokes. A top-hat (bright text) and a black-hat
(dark text) keep thin structures and drop large smooth ones; connected components of the thresholded
result are kept when glyph-like (height, aspect, fill), then chained left to right into lines when they
share a baseline band and a size. Only those line boxes go to OCR.

All thresholds are relative to the glyph height or to the view's own contrast, never to one data source.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from transforms.pixels.prepare import GreyView
from transforms.text_types import Box


@dataclass(frozen=True)
class DetectorSettings:
    min_glyph_height: int = 5        # lowercase of 8 px text
    max_glyph_height: int = 60       # capitals of 40 px text, with slack for accents and brackets
    kernel: int = 0                  # morphology kernel side; 0 = derived from max_glyph_height
    min_contrast: int = 40           # grey levels between a stroke and its surroundings
    max_gap_ratio: float = 1.3       # horizontal gap between glyphs of one line, in glyph heights
    min_glyphs: int = 2              # a line needs this many glyphs (or one wide merged word)
    min_fill: float = 0.08           # stroke pixels / box area: rejects thin frames and lines
    max_stroke_ratio: float = 0.45   # stroke width / glyph height: bold capitals stay near 0.3, blobs above
    max_fill: float = 0.95           # solid blocks are not glyphs
    line_margin_ratio: float = 0.15  # margin added around a line box, in line heights


DEFAULT_SETTINGS = DetectorSettings()


@dataclass(frozen=True)
class _Glyph:
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


def detect_text_regions(views: list[GreyView],
                        settings: DetectorSettings = DEFAULT_SETTINGS) -> list[Box]:
    """Line boxes of probable text in frame coordinates, merged over all views and both polarities."""
    boxes: list[Box] = []
    for view in views:
        polarities = (True,) if view.bright_text_only else (True, False)
        for bright in polarities:
            boxes.extend(_detect_one(view.image, bright, settings))
    if not views:
        return []
    rows, columns = views[0].image.shape
    return [box.padded(max(1, round(settings.line_margin_ratio * box.height)), rows, columns)
            for box in merge_overlapping(boxes)]


def _detect_one(grey: np.ndarray, bright_text: bool, settings: DetectorSettings) -> list[Box]:
    mask = _stroke_mask(grey, bright_text, settings)
    glyphs = _glyphs(mask, settings)
    lines = _chain_into_lines(glyphs, settings)
    return [_line_box(line) for line in lines if _is_text_line(line, settings)]


def _stroke_mask(grey: np.ndarray, bright_text: bool, settings: DetectorSettings) -> np.ndarray:
    """Pixels that stand out from their neighbourhood by at least the contrast threshold."""
    side = settings.kernel or max(9, settings.max_glyph_height // 3) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    operation = cv2.MORPH_TOPHAT if bright_text else cv2.MORPH_BLACKHAT
    response = cv2.morphologyEx(grey, operation, kernel)
    # Otsu adapts to the view's contrast; the floor keeps noise and soft edges out of flat views.
    otsu, _ = cv2.threshold(response, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = max(float(otsu), float(settings.min_contrast))
    return (response >= threshold).astype(np.uint8)


def _glyphs(mask: np.ndarray, settings: DetectorSettings) -> list[_Glyph]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return []
    left, top, width, height, area = (stats[1:, k] for k in range(5))
    fill = area / np.maximum(width * height, 1)
    stroke = _stroke_widths(mask, labels, count)[1:]
    keep = ((height >= settings.min_glyph_height) & (height <= settings.max_glyph_height)
            & (width <= height * 40) & (width * 8 >= height)
            & (fill >= settings.min_fill) & (fill <= settings.max_fill)
            & (stroke <= settings.max_stroke_ratio * height + 2))
    return [_Glyph(int(a), int(b), int(c), int(d))
            for a, b, c, d in zip(left[keep], top[keep], width[keep], height[keep])]


def _stroke_widths(mask: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Twice the largest distance to the background inside each component: glyph strokes are thin
    relative to the glyph's height, blobs of anatomy are not."""
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    widest = np.zeros(count, dtype=np.float32)
    np.maximum.at(widest, labels.ravel(), distance.ravel())
    return 2 * widest


def _chain_into_lines(glyphs: list[_Glyph], settings: DetectorSettings) -> list[list[_Glyph]]:
    """Union of glyphs that are neighbours on one line (sweep over glyphs sorted by left edge)."""
    order = sorted(range(len(glyphs)), key=lambda k: glyphs[k].left)
    parent = list(range(len(glyphs)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    reach = settings.max_gap_ratio * settings.max_glyph_height
    for position, a in enumerate(order):
        ga = glyphs[a]
        for b in order[position + 1:]:
            gb = glyphs[b]
            if gb.left > ga.right + reach:
                break
            if _same_line(ga, gb, settings):
                parent[find(a)] = find(b)
    groups: dict[int, list[_Glyph]] = {}
    for k, glyph in enumerate(glyphs):
        groups.setdefault(find(k), []).append(glyph)
    return list(groups.values())


def _same_line(a: _Glyph, b: _Glyph, settings: DetectorSettings) -> bool:
    tall, short = max(a.height, b.height), min(a.height, b.height)
    if tall > 3 * short:                    # punctuation beside capitals is allowed, not a ruler
        return False
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    if overlap < 0.5 * short:
        return False
    gap = b.left - a.right if b.left >= a.left else a.left - b.right
    return gap <= settings.max_gap_ratio * tall


def _is_text_line(line: list[_Glyph], settings: DetectorSettings) -> bool:
    """A straight band: glyph chains that drift up or down (edges, vessels, speckle) are not text."""
    heights = sorted(g.height for g in line)
    median = heights[len(heights) // 2]
    band = max(g.bottom for g in line) - min(g.top for g in line)
    if band > 1.6 * median + 2:
        return False
    if len(line) >= settings.min_glyphs:
        return len(line) > 2 or heights[-1] <= 1.5 * heights[0]
    glyph = line[0]
    return glyph.width >= 2 * glyph.height      # touching letters of one word form a single component


def _line_box(line: list[_Glyph]) -> Box:
    left = min(g.left for g in line)
    top = min(g.top for g in line)
    return Box(left, top, max(g.right for g in line) - left, max(g.bottom for g in line) - top)


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
                if _overlaps(box, other):
                    result[k] = other.union(box)
                    changed = True
                    break
            else:
                result.append(box)
        merged = result
    return merged


def _overlaps(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom
