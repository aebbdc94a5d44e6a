"""Text burned into pixels: what is written where, in which font and ink, and its exact ink box.

Scanners print annotation blocks in the corners (patient block, study block, technique, frame
counter), orientation markers at the edges, and sometimes text over the anatomy. Each item is one
run of characters (a label such as "Patient ID:" and its value are separate items, so that a
redactor that removes the label but not the value, or the reverse, is scored per item). Boxes are
the tight bounding boxes of the rendered ink (alpha > 0), in stored-frame pixels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from transforms.synth.fonts import FONT_FILES
from transforms.text_types import Box

CLASSIC_FAMILIES = ("DejaVuSans", "DejaVuSansMono", "DejaVuSerif", "LiberationSans", "LiberationSerif",
                    "LiberationMono")
CLASSIC_FONTS = {name: FONT_FILES[name] for name in CLASSIC_FAMILIES}
MIN_TEXT_PX = 8
MAX_TEXT_PX = 40
ITEM_MARGIN = 3          # free pixels kept between the boxes of two items


class FontsMissing(RuntimeError):
    """None of the TrueType fonts is installed (Debian: fonts-dejavu-core, fonts-liberation2)."""


def available_fonts() -> tuple[str, ...]:
    names = tuple(name for name, path in CLASSIC_FONTS.items() if Path(path).exists())
    if not names:
        raise FontsMissing("no_fonts")
    return names


@dataclass(frozen=True)
class Glyphs:
    """A rendered run of text: tight alpha mask and its offset from the baseline origin."""

    alpha: np.ndarray        # uint8, 0 = no ink
    offset_x: int            # ink left relative to the pen position
    offset_y: int            # ink top relative to the baseline (negative: above it)
    advance: int             # pen advance after the run


@lru_cache(maxsize=4096)
def render_glyphs(text: str, font_name: str, font_px: int) -> Glyphs:
    font = ImageFont.truetype(CLASSIC_FONTS[font_name], font_px)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    pad = 2
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    image = Image.new("L", (max(1, width), max(1, height)), 0)
    origin = (pad - left, pad - top)
    ImageDraw.Draw(image).text(origin, text, fill=255, font=font, anchor="ls")
    alpha = np.asarray(image)
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:
        return Glyphs(np.zeros((0, 0), np.uint8), 0, 0, int(round(font.getlength(text))))
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Glyphs(alpha[y0:y1, x0:x1].copy(), int(x0 - origin[0]), int(y0 - origin[1]),
                  int(round(font.getlength(text))))


@dataclass
class TextItem:
    """One placed run of text; `frames` None means every frame."""

    text: str
    category: str
    is_phi: bool
    font: str
    font_px: int
    ink: float | tuple[int, int, int]
    placement: str                       # corner | edge | anatomy
    frames: tuple[int, ...] | None = None
    left: int = 0
    top: int = 0
    glyphs: Glyphs | None = None

    @property
    def box(self) -> Box:
        height, width = self.glyphs.alpha.shape
        return Box(self.left, self.top, width, height)

    def on_frame(self, frame: int) -> bool:
        return self.frames is None or frame in self.frames


@dataclass
class Canvas:
    """The frame area and the boxes already taken (items never overlap, so each box is one item)."""

    rows: int
    columns: int
    taken: list[Box] = field(default_factory=list)

    def fits(self, box: Box) -> bool:
        if box.left < 1 or box.top < 1 or box.right > self.columns - 1 or box.bottom > self.rows - 1:
            return False
        return not any(_overlaps(box, other, ITEM_MARGIN) for other in self.taken)

    def take(self, box: Box) -> None:
        self.taken.append(box)


def _overlaps(a: Box, b: Box, margin: int) -> bool:
    return not (a.right + margin <= b.left or b.right + margin <= a.left
                or a.bottom + margin <= b.top or b.bottom + margin <= a.top)


@dataclass(frozen=True)
class Run:
    """Text to place, before it has a position."""

    text: str
    category: str
    is_phi: bool


def label(text: str) -> Run:
    return Run(text, "LABEL", False)


def phi(text: str, category: str) -> Run:
    return Run(text, category, True)


def plain(text: str, category: str) -> Run:
    return Run(text, category, False)


@dataclass(frozen=True)
class Style:
    font: str
    font_px: int
    ink: float | tuple[int, int, int]


def place_line(canvas: Canvas, runs: list[Run], style: Style, pen_x: int, baseline: int,
               align_right: bool, placement: str, frames: tuple[int, ...] | None) -> list[TextItem]:
    """Lay a line of runs at a baseline; all or nothing (a line that does not fit is dropped)."""
    space = render_glyphs(" ", style.font, style.font_px).advance or max(2, style.font_px // 3)
    glyphs = [render_glyphs(run.text, style.font, style.font_px) for run in runs]
    total = sum(g.advance for g in glyphs) + space * (len(runs) - 1)
    x = pen_x - total if align_right else pen_x
    items = []
    for run, g in zip(runs, glyphs):
        if g.alpha.size:
            items.append(TextItem(run.text, run.category, run.is_phi, style.font, style.font_px,
                                  style.ink, placement, frames, x + g.offset_x, baseline + g.offset_y, g))
        x += g.advance + space
    if not items or not all(canvas.fits(item.box) for item in items):
        return []
    for item in items:
        canvas.take(item.box)
    return items


def place_block(canvas: Canvas, lines: list[list[Run]], style: Style, corner: str,
                frames_of_line: list[tuple[int, ...] | None]) -> list[TextItem]:
    """A corner block: lines stacked from the corner inwards, with the corner's margin."""
    margin = max(4, canvas.columns // 64)
    line_height = int(style.font_px * 1.3) + 2
    right = corner.endswith("r")
    bottom = corner.startswith("b")
    pen_x = canvas.columns - margin if right else margin
    ascent = int(style.font_px * 0.95)
    placed: list[TextItem] = []
    order = list(range(len(lines)))
    for slot, index in enumerate(reversed(order) if bottom else order):
        baseline = (canvas.rows - margin - int(style.font_px * 0.3) - slot * line_height if bottom
                    else margin + ascent + slot * line_height)
        placed += place_line(canvas, lines[index], style, pen_x, baseline, right, "corner",
                             frames_of_line[index])
    return placed


def place_anywhere(canvas: Canvas, run: Run, style: Style, rng: random.Random, area: tuple[float, float],
                   placement: str, frames: tuple[int, ...] | None, attempts: int = 40) -> list[TextItem]:
    """Somewhere inside the central `area` (fractions of the frame), not over another item."""
    low, high = area
    for _ in range(attempts):
        x = int(canvas.columns * rng.uniform(low, high))
        y = int(canvas.rows * rng.uniform(low, high))
        items = place_line(canvas, [run], style, x, y, False, placement, frames)
        if items:
            return items
    return []


def composite(frame: np.ndarray, item: TextItem) -> None:
    """Alpha-blend the item's ink into the frame in place (anti-aliased edges, solid cores)."""
    alpha = item.glyphs.alpha.astype(np.float32) / 255.0
    box = item.box
    region = frame[box.top:box.bottom, box.left:box.right]
    if region.ndim == 3:
        ink = np.asarray(item.ink, np.float32)[None, None, :]
        alpha = alpha[:, :, None]
    else:
        ink = np.float32(item.ink)
    region[...] = region * (1.0 - alpha) + ink * alpha


def overlay_bits(rows: int, columns: int, items: list[TextItem]) -> np.ndarray:
    """A 1-bit overlay plane (uint8 0/1) with the items drawn where their ink is at least half."""
    plane = np.zeros((rows, columns), np.uint8)
    for item in items:
        box = item.box
        plane[box.top:box.bottom, box.left:box.right] |= (item.glyphs.alpha >= 128).astype(np.uint8)
    return plane


def ink_box(item: TextItem, threshold: int) -> Box | None:
    """The tight box of the ink at or above `threshold` (overlays keep only half-covered pixels)."""
    ys, xs = np.nonzero(item.glyphs.alpha >= threshold)
    if len(ys) == 0:
        return None
    return Box(item.left + int(xs.min()), item.top + int(ys.min()),
               int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
