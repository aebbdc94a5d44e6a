"""Blocks of burned text for the realistic styles: fields (a label box and its value box), other lines,
laid out in the block's own frame, turned by the block's angle and placed on the image.

A block is what one piece of software draws in one place: a corner's patient table, a line along an
edge, a note typed over the anatomy, an ultrasound console's header band. Within a block every label
and every value is its own piece (its own truth box); pieces of one block may have overlapping boxes
when the block is skewed (the truth's ink masks keep them apart), but blocks never overlap each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from transforms.synth.burn import Canvas
from transforms.synth.glyphs import INK_ALPHA, Run, TextLook, outline_of, render_run, rotate_alpha, rotate_point, \
    space_advance, tight
from transforms.synth.raster import Colour
from transforms.synth.truth import ROLE_LABEL, ROLE_OTHER, ROLE_VALUE
from transforms.text_types import Box


@dataclass(frozen=True)
class Say:
    """Something to write: a field label, a PHI value, or other (non-PHI) text."""

    text: str
    role: str
    category: str
    in_header: bool | None = None

    @property
    def is_phi(self) -> bool:
        return self.role == ROLE_VALUE


def label_of(text: str) -> Say:
    return Say(text, ROLE_LABEL, "LABEL")


def value_of(text: str, category: str, in_header: bool) -> Say:
    return Say(text, ROLE_VALUE, category, in_header)


def other(text: str, category: str) -> Say:
    return Say(text, ROLE_OTHER, category)


@dataclass(frozen=True)
class Piece:
    """One run of a block, unrotated, at (x, y): the top-left of its ink in the block's frame."""

    say: Say
    look: TextLook
    run: Run
    x: int
    y: int


@dataclass(frozen=True)
class LineSpec:
    """A line of a block: its runs and the gap (in spaces) after each run but the last."""

    says: tuple[Say, ...]
    gaps: tuple[float, ...] = ()


def layout_lines(lines: list[LineSpec], look: TextLook, align: str = "left", columns: bool = False,
                 leading: float = 1.6) -> list[Piece]:
    """Lines stacked downwards; `columns`: values of two-run lines start at one x (a table)."""
    space = space_advance(look)
    line_height = max(look.glyph_px + 2, int(round(look.glyph_px * leading)))
    column_x = 0
    if columns:
        firsts = [render_run(line.says[0].text, look).advance for line in lines if len(line.says) == 2]
        column_x = max(firsts, default=0) + 2 * space
    pieces: list[Piece] = []
    for index, line in enumerate(lines):
        baseline = index * line_height
        runs = [render_run(say.text, look) for say in line.says]
        xs, pen = [], 0
        for k, run in enumerate(runs):
            if columns and k == 1 and len(runs) == 2:
                pen = max(pen, column_x)
            xs.append(pen)
            gap = line.gaps[k] if k < len(line.gaps) else 1.0
            pen += run.advance + int(round(gap * space))
        width = xs[-1] + runs[-1].advance if runs else 0
        shift = -width if align == "right" else -width // 2 if align == "center" else 0
        for say, run, x in zip(line.says, runs, xs):
            if run.alpha.size:
                pieces.append(Piece(say, look, run, x + shift + run.offset_x, baseline + run.offset_y))
    return pieces


@dataclass
class Placed:
    """A piece on the image: rotated ink (and halo) alphas of its box, colours, frames it shows on."""

    say: Say
    look: TextLook
    angle: float
    placement: str
    left: int
    top: int
    ink: np.ndarray                      # uint8 alpha of the glyphs, box-sized
    halo: np.ndarray | None              # uint8 alpha of the outline, box-sized (None: no outline)
    block: int
    frames: tuple[int, ...] | None = None
    colour: Colour = 1.0
    halo_colour: Colour = 0.0
    plate: tuple[Box, Colour, float] | None = None
    item: int = -1

    @property
    def box(self) -> Box:
        height, width = self.ink.shape
        return Box(self.left, self.top, width, height)

    @property
    def mask(self) -> np.ndarray:
        """The pixels the glyphs ink at a quarter coverage or more. An outline is not ink: it is the
        glyphs' local background (wiping the text changes the glyphs, or makes the outline look like
        them); it is inside the box, which is the tight box of glyphs and outline together."""
        return self.ink >= INK_ALPHA

    def on_frame(self, frame: int) -> bool:
        return self.frames is None or frame in self.frames


Turned = tuple[Piece, np.ndarray, np.ndarray | None, int, int]


def turn(pieces: list[Piece], angle: float, halo_px: int) -> list[Turned]:
    """Each piece's rotated ink (and halo) and integer top-left in the block's turned frame."""
    turned = []
    for piece in pieces:
        alpha = rotate_alpha(piece.run.alpha, angle, smooth=piece.look.antialias)
        height, width = piece.run.alpha.shape
        cx, cy = rotate_point(piece.x + width / 2.0, piece.y + height / 2.0, angle)
        new_h, new_w = alpha.shape
        left, top = cx - new_w / 2.0, cy - new_h / 2.0
        halo = None
        if halo_px:
            halo = outline_of(alpha, halo_px)
            alpha = np.pad(alpha, halo_px)
            left, top = left - halo_px, top - halo_px
        cropped = tight(halo if halo is not None else alpha)
        if cropped is None:
            continue
        _, x0, y0 = cropped
        h, w = cropped[0].shape
        ink = alpha[y0:y0 + h, x0:x0 + w]
        halo = None if halo is None else halo[y0:y0 + h, x0:x0 + w]
        turned.append((piece, ink, halo, int(np.floor(left + x0 + 0.5)), int(np.floor(top + y0 + 0.5))))
    return turned


Where = Callable[[int, int], Iterable[tuple[int, int]]]


@dataclass
class BlockPlacer:
    """Places whole blocks on a canvas, all or nothing, never over another block."""

    canvas: Canvas
    blocks: int = 0
    placed: list[Placed] = field(default_factory=list)

    def place(self, pieces: list[Piece], angle: float, placement: str, where: Where, halo_px: int = 0,
              frames: tuple[int, ...] | None = None) -> list[Placed]:
        """`where(width, height)` yields candidate top-left corners of the block's bounding box."""
        turned = turn(pieces, angle, halo_px)
        if not turned:
            return []
        x0 = min(t[3] for t in turned)
        y0 = min(t[4] for t in turned)
        x1 = max(t[3] + t[1].shape[1] for t in turned)
        y1 = max(t[4] + t[1].shape[0] for t in turned)
        for left, top in where(x1 - x0, y1 - y0):
            boxes = [Box(left + t[3] - x0, top + t[4] - y0, t[1].shape[1], t[1].shape[0]) for t in turned]
            if all(self.canvas.fits(box) for box in boxes):
                for box in boxes:
                    self.canvas.take(box)
                self.blocks += 1
                placed = [Placed(t[0].say, t[0].look, angle, placement, box.left, box.top, t[1], t[2],
                                 self.blocks, frames) for t, box in zip(turned, boxes)]
                self.placed += placed
                return placed
        return []


def corner_spots(rows: int, columns: int, corner: str, margin: int) -> Where:
    def spots(width: int, height: int) -> Iterable[tuple[int, int]]:
        x = margin if corner[1] == "l" else columns - margin - width
        y = margin if corner[0] == "t" else rows - margin - height
        for step in range(6):                    # slide inwards when something holds the corner
            dy = step * max(2, height // 2) * (1 if corner[0] == "t" else -1)
            yield x, y + dy
    return spots


def edge_spots(rows: int, columns: int, edge: str, margin: int, rng: random.Random, attempts: int = 12) -> Where:
    """Along one edge: centred first, then anywhere along it."""
    def spots(width: int, height: int) -> Iterable[tuple[int, int]]:
        for k in range(attempts):
            if edge in ("top", "bottom"):
                x = (columns - width) // 2 if k == 0 else \
                    rng.randrange(margin, max(margin + 1, columns - width - margin))
                y = margin if edge == "top" else rows - margin - height
            else:
                y = (rows - height) // 2 if k == 0 else \
                    rng.randrange(margin, max(margin + 1, rows - height - margin))
                x = margin if edge == "left" else columns - margin - width
            yield x, y
    return spots


def area_spots(area: Box, rng: random.Random, attempts: int = 40) -> Where:
    """Anywhere whose box lies inside `area` (e.g. over the anatomy, inside an ultrasound region)."""
    def spots(width: int, height: int) -> Iterable[tuple[int, int]]:
        if width > area.width or height > area.height:
            return
        for _ in range(attempts):
            yield (area.left + rng.randrange(0, area.width - width + 1),
                   area.top + rng.randrange(0, area.height - height + 1))
    return spots


def paint(frame: np.ndarray, items: list[Placed], frame_index: int) -> None:
    """Draw the items shown on this frame into a display frame in place: every plate first (a plate
    reaches 2 px beyond its piece's box), then each item's halo and glyphs (alpha blending)."""
    shown = [item for item in items if item.on_frame(frame_index)]
    plates = [item.plate for item in shown if item.plate is not None]
    for plate, plate_colour, opacity in plates:
        region = frame[plate.top:plate.bottom, plate.left:plate.right]
        region[...] = region * (1.0 - opacity) + _as_ink(plate_colour, region) * opacity
    for item in shown:
        box = item.box
        region = frame[box.top:box.bottom, box.left:box.right]
        for alpha, colour in ((item.halo, item.halo_colour), (item.ink, item.colour)):
            if alpha is None:
                continue
            a = alpha.astype(np.float32) / 255.0
            if region.ndim == 3:
                a = a[:, :, None]
            region[...] = region * (1.0 - a) + _as_ink(colour, region) * a


def _as_ink(colour: Colour, region: np.ndarray) -> np.ndarray | np.float32:
    if region.ndim == 3:
        rgb = colour if isinstance(colour, tuple) else (colour,) * 3
        return np.asarray(rgb, np.float32)[None, None, :]
    return np.float32(colour if not isinstance(colour, tuple) else np.mean(colour))
