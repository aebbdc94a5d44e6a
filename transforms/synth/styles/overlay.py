"""`overlay`: radiology images with Pseudo-PHI style burned-in fields (issue 22).

CT, MR, CR, DX, MG, XA and generic cross-sections, 256 to 3000 px, 8-bit, 16-bit (10-16 bits stored,
signed CT, or holding only 0-255), MONOCHROME1 and 2, single- and multi-frame. Each image gets 4-12 fields,
every one a label box and a value box (a few values stand alone), in corner tables, along an edge and
over the anatomy, plus the non-PHI text of real images: technique, window, series and image numbers,
orientation markers, a scale, measurements. Sizes run from 4 px glyphs up to 30 px.

The rotated style (`rotated.py`) uses the same layout with turned blocks.
"""

from __future__ import annotations

import random
from typing import Callable

import pydicom.uid as uid

from transforms.synth.backdrops import make_backdrop
from transforms.synth.fields import Field, anatomy_notes, draw_fields, marker, technique_lines
from transforms.synth.styles.common import (Design, LayoutContext, capped, central_area, field_lines,
                                            frame_subset, glyph_height, greyscale_format, pick_look, pick_syntax,
                                            place_lines, says_of)
from transforms.synth.textblocks import LineSpec, area_spots, corner_spots, edge_spots, other

ANATOMIES = ("CT", "CT", "CT", "MR", "MR", "MR", "CR", "CR", "DX", "DX", "MG", "XA", "BODY")
SIZES = {
    "CT": ((512, 512), (512, 512), (512, 512), (256, 256), (768, 768), (1024, 1024)),
    "MR": ((256, 256), (256, 256), (320, 320), (384, 384), (512, 512), (448, 512), (256, 320)),
    "CR": ((2048, 1680), (2500, 2048), (1760, 2140), (1024, 880), (1200, 1000)),
    "DX": ((3000, 3000), (2500, 2048), (2304, 1872), (1536, 1536), (1000, 800)),
    "MG": ((3000, 2400), (2294, 1914), (1024, 832), (1500, 1200)),
    "XA": ((512, 512), (1024, 1024), (768, 768)),
    "BODY": ((512, 512), (640, 640), (400, 400)),
}
SOP_CLASSES = {"CT": uid.CTImageStorage, "MR": uid.MRImageStorage, "CR": uid.ComputedRadiographyImageStorage,
               "DX": uid.DigitalXRayImageStorageForPresentation,
               "MG": uid.DigitalMammographyXRayImageStorageForPresentation, "XA": uid.XRayAngiographicImageStorage}
MF_GRAYSCALE_BYTE_SC = "1.2.840.10008.5.1.4.1.1.7.2"
MF_GRAYSCALE_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
CORNERS = ("tl", "tr", "bl", "br")

# (destination, angle) of a group of fields; the rotated style swaps in its own policy.
AnglePolicy = Callable[[random.Random, str], float]


def flat(rng: random.Random, destination: str) -> float:
    return 0.0


def design_overlay(rng: random.Random, max_side: int | None = None, style: str = "overlay",
                   layout: Callable[[LayoutContext], None] | None = None, multi_frame_share: float = 0.15) -> Design:
    anatomy_kind = rng.choice(ANATOMIES)
    modality = rng.choice(("CT", "MR")) if anatomy_kind == "BODY" else anatomy_kind
    rows, columns = capped(rng.choice(SIZES[anatomy_kind]), max_side)
    frames = 1
    kind_name, sop_class = modality, SOP_CLASSES[modality]
    pixel = greyscale_format(rng, modality)
    if modality == "XA" or (rng.random() < multi_frame_share and rows <= 1024):
        frames = rng.randrange(2, 7)
        if modality != "XA":
            kind_name = "SC"
            sop_class = MF_GRAYSCALE_BYTE_SC if pixel.bits_allocated == 8 else MF_GRAYSCALE_WORD_SC
            if pixel.signed or pixel.rescale_intercept is not None:
                pixel = greyscale_format(random.Random(rng.random()), "MR")
                sop_class = MF_GRAYSCALE_BYTE_SC if pixel.bits_allocated == 8 else MF_GRAYSCALE_WORD_SC
    levels = pixel.high - pixel.low + 1
    backdrop = make_backdrop(anatomy_kind, rows, columns, rng.randrange(2**31), noise_levels=levels)
    return Design(style, modality, sop_class, kind_name, rows, columns, frames, pixel,
                  pick_syntax(rng, pixel, rows * columns * frames), backdrop.frame,
                  layout or (lambda ctx: layout_radiology(ctx, flat)))


def layout_radiology(ctx: LayoutContext, angle_of: AnglePolicy, vertical_names: bool = False) -> None:
    """Fields in corner tables, along an edge and over the anatomy; then the non-PHI text."""
    rng = ctx.rng
    count = rng.randint(4, 12)
    outside = rng.choice((1, 1, 2)) if rng.random() < 0.35 else 0
    fields = draw_fields(rng, ctx.who, count, outside, ctx.outside_seed, ctx.header_texts)
    corners = rng.sample(CORNERS, k=rng.randint(1, 4))
    groups: dict[str, list[Field]] = {}
    if vertical_names:
        names = [f for f in fields if f.category == "NAME"] or fields[:1]
        groups[rng.choice(("left", "right"))] = names[:1]
        fields = [f for f in fields if f is not names[0]]
    for f in fields:
        roll = rng.random()
        destination = rng.choice(corners) if roll < 0.68 else rng.choice(("top", "bottom", "left", "right")) \
            if roll < 0.8 else "anatomy"
        if destination == "anatomy":
            groups.setdefault(f"anatomy{len(groups)}", []).append(f)
        else:
            groups.setdefault(destination, []).append(f)
    for destination, group in groups.items():
        _place_field_group(ctx, destination.rstrip("0123456789"), group, angle_of)
    _place_non_phi(ctx, angle_of)


def _place_field_group(ctx: LayoutContext, destination: str, group: list[Field], angle_of: AnglePolicy) -> None:
    rng = ctx.rng
    arrangement = rng.choice(("inline", "inline", "columns", "stacked"))
    lines = field_lines(group, rng, stacked=arrangement == "stacked")
    height = glyph_height(rng, ctx.rows, ctx.columns)
    frames = frame_subset(rng, ctx.design.frames)
    angle = angle_of(rng, destination)
    for attempt in range(3):
        look = pick_look(rng, max(4, int(height * (0.75 ** attempt))), says_of(lines),
                         palette=ctx.design.pixel.photometric == "PALETTE COLOR")
        align = "right" if destination in ("tr", "br") and arrangement != "columns" else "left"
        placed = place_lines(ctx, lines, look, angle, _placement_name(destination), _spots(ctx, destination),
                             align=align, columns=arrangement == "columns", frames=frames)
        if placed:
            return
    for f in group:                                    # did not fit as a group: each alone over the anatomy
        look = pick_look(rng, max(4, int(height * 0.6)), [f.value] + ([f.label] if f.label else []))
        place_lines(ctx, [f.line(1.0)], look, angle_of(rng, "anatomy"), "anatomy",
                    area_spots(central_area(ctx.rows, ctx.columns, 0.08, 0.92), rng), frames=frames)


def _placement_name(destination: str) -> str:
    return "corner" if destination in CORNERS else "anatomy" if destination == "anatomy" else "edge"


def _spots(ctx: LayoutContext, destination: str):
    margin = max(2, min(ctx.rows, ctx.columns) // rng_margin_divisor(ctx.rng))
    if destination in CORNERS:
        return corner_spots(ctx.rows, ctx.columns, destination, margin)
    if destination in ("top", "bottom", "left", "right"):
        return edge_spots(ctx.rows, ctx.columns, destination, margin, ctx.rng)
    return area_spots(central_area(ctx.rows, ctx.columns), ctx.rng)


def rng_margin_divisor(rng: random.Random) -> int:
    return rng.choice((30, 50, 80, 120))


def _place_non_phi(ctx: LayoutContext, angle_of: AnglePolicy) -> None:
    rng = ctx.rng
    modality = ctx.design.modality
    technique = technique_lines(rng, modality)
    rng.shuffle(technique)
    count = rng.randint(2, min(6, len(technique)))
    lines = [LineSpec((say,)) for say in technique[:count]]
    if rng.random() < 0.4 and count >= 2:                      # two values on one line, as consoles do
        lines = [LineSpec((lines[0].says[0], lines[1].says[0]), (2.0,))] + lines[2:]
    corner = rng.choice(CORNERS)
    look = pick_look(rng, glyph_height(rng, ctx.rows, ctx.columns), says_of(lines))
    place_lines(ctx, lines, look, angle_of(rng, corner), "corner", _spots(ctx, corner),
                align="right" if corner[1] == "r" else "left")
    _place_markers(ctx, angle_of)
    for note in anatomy_notes(rng)[:rng.randint(0, 2)]:
        look = pick_look(rng, glyph_height(rng, ctx.rows, ctx.columns), [note.text])
        place_lines(ctx, [LineSpec((note,))], look, angle_of(rng, "anatomy"), "anatomy",
                    area_spots(central_area(ctx.rows, ctx.columns, 0.2, 0.8), rng))
    if rng.random() < 0.5:
        scale = f"{rng.choice((1, 2, 5, 10))} cm"
        look = pick_look(rng, glyph_height(rng, ctx.rows, ctx.columns), [scale])
        place_lines(ctx, [LineSpec((other(scale, "SCALE"),))], look, 0.0, "edge",
                    edge_spots(ctx.rows, ctx.columns, "bottom", 4, rng))


def _place_markers(ctx: LayoutContext, angle_of: AnglePolicy) -> None:
    rng = ctx.rng
    height = max(6, int(glyph_height(rng, ctx.rows, ctx.columns) * rng.uniform(1.0, 1.8)))
    if ctx.design.modality in ("CT", "MR"):
        pairs = (("R", "left"), ("L", "right"), ("A", "top"), ("P", "bottom"))
        chosen = pairs[:2] if rng.random() < 0.5 else pairs
        if rng.random() < 0.3:
            chosen = ()
        for text, edge in chosen:
            look = pick_look(rng, height, [text])
            place_lines(ctx, [LineSpec((other(text, "MARKER"),))], look, 0.0, "edge",
                        edge_spots(ctx.rows, ctx.columns, edge, max(3, ctx.columns // 60), rng), decorate=False)
    elif rng.random() < 0.8:
        say = marker(rng)
        look = pick_look(rng, min(30, height * 2), [say.text])
        place_lines(ctx, [LineSpec((say,))], look, angle_of(rng, "anatomy"), "anatomy",
                    area_spots(central_area(ctx.rows, ctx.columns, 0.05, 0.95), rng))
