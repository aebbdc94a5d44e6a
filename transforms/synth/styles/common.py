"""What every realistic style shares: the file design it returns, the context its layout gets, and the
helpers that turn fields into placed, coloured blocks.

Sizes, fonts, edges, colours, outlines and plates are drawn per block, so one image mixes them as real
ones do (a scanner's corner table in one font, a technologist's note in another).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset

from transforms.synth.burn import Canvas
from transforms.synth.fields import Field, Identity
from transforms.synth.glyphs import TextLook, fonts_for
from transforms.synth.raster import PixelFormat, choose_ink, halo_for
from transforms.synth.textblocks import BlockPlacer, LineSpec, Placed, Where, layout_lines
from transforms.text_types import Box

FrameMaker = Callable[[int], np.ndarray]


@dataclass
class Design:
    """One realistic file before its text: what it is, how it stores pixels, what it shows."""

    style: str
    modality: str
    sop_class_uid: str
    kind_name: str                   # the classic kind whose header modules it borrows (CT, MR, ..., US, SC)
    rows: int
    columns: int
    frames: int
    pixel: PixelFormat
    syntax: str
    backdrop: FrameMaker             # frame index -> display image (rows, columns[, 3]) in [0, 1]
    layout: Callable[["LayoutContext"], None]
    header_extras: Callable[[Dataset], dict[str, Any]] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class LayoutContext:
    """What a style's layout needs: the random source, the identity, the first frame, the placer."""

    rng: random.Random
    who: Identity
    frame0: np.ndarray
    placer: BlockPlacer
    design: Design
    header_texts: set[str]
    outside_seed: int

    @property
    def rows(self) -> int:
        return self.design.rows

    @property
    def columns(self) -> int:
        return self.design.columns

    @property
    def canvas(self) -> Canvas:
        return self.placer.canvas


def capped(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """The size scaled down to fit `max_side` (quick corpora, tests); the aspect ratio kept."""
    rows, columns = size
    if not max_side or max(rows, columns) <= max_side:
        return rows, columns
    scale = max_side / max(rows, columns)
    return max(64, round(rows * scale)), max(64, round(columns * scale))


def glyph_height(rng: random.Random, rows: int, columns: int, low: int = 4, high: int = 30) -> int:
    """Text height grows with the image, with a long tail both ways (4 px text on a 256 image, 8 px on a
    2000 px one both occur)."""
    side = min(rows, columns)
    typical = side * rng.uniform(0.014, 0.034)
    if rng.random() < 0.15:
        typical *= rng.uniform(0.45, 0.8)
    return int(np.clip(round(typical), low, high))


def pick_look(rng: random.Random, glyph_px: int, texts: list[str], palette: bool = False) -> TextLook:
    fonts = fonts_for("".join(texts))
    font = fonts[rng.randrange(len(fonts))]
    antialias = not palette and rng.random() < 0.7
    blocky = 2 if glyph_px >= 12 and rng.random() < 0.1 else 1
    return TextLook(font, glyph_px, antialias, blocky)


def field_lines(fields: list[Field], rng: random.Random, stacked: bool) -> list[LineSpec]:
    """One line per field (label, gap, value), or label and value on lines of their own."""
    gap = rng.choice((1.0, 1.0, 1.5, 2.0, 3.0))
    lines: list[LineSpec] = []
    for f in fields:
        line = f.line(gap)
        if stacked and len(line.says) == 2:
            lines += [LineSpec((line.says[0],)), LineSpec((line.says[1],))]
        else:
            lines.append(line)
    return lines


def colour_block(ctx: LayoutContext, placed: list[Placed], halo_px: int = 0, plate: bool = False) -> None:
    """Ink that reads against everything the block landed on; an outline's colour; plates behind the
    pieces when asked, or when the background is too mixed for any ink (as viewers do)."""
    if not placed:
        return
    box = placed[0].box
    for item in placed[1:]:
        box = box.union(item.box)
    under = ctx.frame0[box.top:box.bottom, box.left:box.right]
    brightness = under.mean(axis=-1) if under.ndim == 3 else under
    dark, bright = (float(v) for v in np.percentile(brightness, (10, 90)))
    colour_frames = ctx.design.pixel.colour
    palette = ctx.design.pixel.photometric == "PALETTE COLOR"
    ink = None if plate else choose_ink(ctx.rng, dark, bright, colour_frames, palette)
    plate_spec = None
    if ink is None and halo_px:
        ink = choose_ink(ctx.rng, 0.0, 0.0, colour_frames, palette)       # the outline makes it readable
    elif ink is None:
        plate_value = 0.0 if (dark + bright) / 2 < 0.5 else 1.0
        plate_spec = ((plate_value,) * 3 if colour_frames else plate_value,
                      ctx.rng.choice((0.85, 1.0)) if not palette else 1.0)
        ink = choose_ink(ctx.rng, plate_value, plate_value, colour_frames, palette)
    for item in placed:                  # a plate per piece: a key box and a value box, as Pseudo-PHI draws them
        item.colour = ink
        if halo_px:
            item.halo_colour = halo_for(ink, colour_frames)
        item.plate = None if plate_spec is None else (item.box.padded(2, ctx.rows, ctx.columns), *plate_spec)


def place_lines(ctx: LayoutContext, lines: list[LineSpec], look: TextLook, angle: float, placement: str,
                where: Where, align: str = "left", columns: bool = False,
                frames: tuple[int, ...] | None = None, decorate: bool = True) -> list[Placed]:
    pieces = layout_lines(lines, look, align=align, columns=columns, leading=ctx.rng.uniform(1.35, 1.9))
    halo_px = 0
    plate = False
    if decorate:
        roll = ctx.rng.random()
        halo_px = 1 if roll < 0.12 else 0
        plate = 0.12 <= roll < 0.2
    placed = ctx.placer.place(pieces, angle, placement, where, halo_px=halo_px, frames=frames)
    colour_block(ctx, placed, halo_px, plate)
    return placed


def says_of(lines: list[LineSpec]) -> list[str]:
    return [say.text for line in lines for say in line.says]


def central_area(rows: int, columns: int, low: float = 0.15, high: float = 0.85) -> Box:
    return Box(int(columns * low), int(rows * low), int(columns * (high - low)), int(rows * (high - low)))


def frame_subset(rng: random.Random, frames: int, share_with_text: float = 0.6) -> tuple[int, ...] | None:
    """All frames, or a contiguous run of them (text that appears part-way through a cine)."""
    if frames <= 1 or rng.random() < share_with_text:
        return None
    length = rng.randrange(1, frames)
    start = rng.randrange(0, frames - length + 1)
    return tuple(range(start, start + length))


# ---------------------------------------------------------------- pixel formats and syntaxes

EIGHT_BIT_MODALITIES = ("CR", "DX", "XA")          # the IODs that allow BitsAllocated 8 (CT, MR, MG want 16)
BITS_STORED = {"XA": (10, 12), "MG": (12, 14, 16), "CT": (12, 16), "MR": (10, 12, 12, 16), "CR": (10, 12, 14, 16),
               "DX": (10, 12, 14, 16)}


def greyscale_format(rng: random.Random, modality: str) -> PixelFormat:
    """8-bit where the IOD allows it, 16-bit with the bits stored it allows, 16-bit holding only 0-255 (as
    converters write), signed CT; MONOCHROME1 radiographs; DX and MG state a window (their IODs require one)."""
    photometric = "MONOCHROME1" if modality in ("CR", "DX") and rng.random() < 0.45 else "MONOCHROME2"
    needs_window = modality in ("DX", "MG")
    roll = rng.random()
    if roll < 0.25 and modality in EIGHT_BIT_MODALITIES:
        return PixelFormat(photometric, 8, 8, low=0, high=255,
                           window=(127.5, 256.0) if needs_window or rng.random() < 0.5 else None)
    if roll < 0.45:
        bits = rng.choice(tuple(b for b in BITS_STORED.get(modality, (12, 16)) if b != 10) or (12,))
        return PixelFormat(photometric, 16, bits, low=0, high=255,
                           window=(127.5, 256.0) if needs_window or rng.random() < 0.6 else None)
    if modality == "CT":
        if rng.random() < 0.5:
            return PixelFormat("MONOCHROME2", 16, 16, signed=True, low=-1024, high=3071, rescale_intercept=0.0,
                               window=(40.0, 400.0) if rng.random() < 0.5 else (1023.5, 4096.0))
        return PixelFormat("MONOCHROME2", 16, 12, low=0, high=4095, rescale_intercept=-1024.0,
                           window=(40.0, 400.0) if rng.random() < 0.5 else (1023.5, 4096.0))
    bits = rng.choice(BITS_STORED.get(modality, (12, 16)))
    top = (1 << bits) - 1
    high = int(top * rng.uniform(0.35, 1.0)) if modality == "MR" else top
    low = 0 if rng.random() < 0.8 else int(high * 0.02)
    window = ((low + high) / 2.0, float(high - low)) if needs_window or rng.random() < 0.7 else None
    return PixelFormat(photometric, 16, bits, low=low, high=high, window=window)


LOSSLESS = (uid.ExplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRLittleEndian,
            uid.ExplicitVRLittleEndian, uid.ImplicitVRLittleEndian, uid.RLELossless, uid.JPEGLSLossless,
            uid.JPEG2000Lossless)


def pick_syntax(rng: random.Random, pixel: PixelFormat, pixels: int) -> str:
    """Mostly uncompressed (as most shared data sets are), then lossless, then lossy for 8-bit and RGB."""
    if pixel.photometric == "PALETTE COLOR":
        return rng.choice((uid.ExplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.RLELossless))
    if rng.random() < 0.12:
        if pixel.bits_allocated == 8:
            return uid.JPEGBaseline8Bit
        if pixels <= 1_100_000:
            return rng.choice((uid.JPEG2000, uid.JPEGLSNearLossless))
    choice = rng.choice(LOSSLESS)
    if choice == uid.JPEG2000Lossless and pixels > 2_500_000:
        return uid.JPEGLSLossless                                   # keep generation time reasonable
    return choice
