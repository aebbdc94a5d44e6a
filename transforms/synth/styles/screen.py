"""`sc`: secondary captures, screenshots of a viewer with text typed over the anatomy (issue 29).

One, two or four CT/MR panels on a black, grey or white screen; each panel with the viewer's corner text
(patient fields, study date, technique, window); text typed over the anatomy (a name or an ID typed
across the image, findings, measurements); arrows, lines and circles drawn as graphics. RGB or 8-bit
greyscale, Secondary Capture Image Storage, ConversionType WSD.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset

from transforms.synth.backdrops import make_backdrop
from transforms.synth.fields import anatomy_notes, draw_fields, technique_lines
from transforms.synth.raster import PixelFormat
from transforms.synth.styles.common import (Design, LayoutContext, capped, field_lines, glyph_height,
                                            pick_look, pick_syntax, place_lines, says_of)
from transforms.synth.textblocks import LineSpec, area_spots, corner_spots
from transforms.text_types import Box

SC_SIZES = ((512, 512), (600, 800), (768, 1024), (1024, 1280), (720, 1280), (1024, 1024), (480, 640))
PANEL_GRIDS = ((1, 1), (1, 1), (1, 1), (1, 2), (2, 2))


@dataclass
class Screenshot:
    rows: int
    columns: int
    panels: list[Box]
    images: list[np.ndarray]
    background: float
    graphics: list[tuple[str, tuple, tuple[float, float, float]]]
    colour: bool

    def frame(self, index: int) -> np.ndarray:
        image = np.full((self.rows, self.columns, 3), self.background, np.float32)
        for box, panel in zip(self.panels, self.images):
            image[box.top:box.bottom, box.left:box.right] = panel[:, :, None]
            cv2.rectangle(image, (box.left, box.top), (box.right - 1, box.bottom - 1), (0.45, 0.45, 0.45), 1)
        for shape, points, colour in self.graphics:
            if shape == "line":
                cv2.line(image, points[0], points[1], colour, 1)
            elif shape == "arrow":
                cv2.arrowedLine(image, points[0], points[1], colour, 1, tipLength=0.25)
            else:
                cv2.ellipse(image, points[0], points[1], 0, 0, 360, colour, 1)
        return image if self.colour else image.mean(axis=-1)


def _panels(rows: int, columns: int, grid: tuple[int, int], rng: random.Random) -> list[Box]:
    grid_rows, grid_columns = grid
    gap = 4
    height = (rows - gap * (grid_rows + 1)) // grid_rows
    width = (columns - gap * (grid_columns + 1)) // grid_columns
    side = min(height, width) if rng.random() < 0.7 else None
    boxes = []
    for r in range(grid_rows):
        for c in range(grid_columns):
            h, w = (side, side) if side else (height, width)
            top = gap + r * (height + gap) + (height - h) // 2
            left = gap + c * (width + gap) + (width - w) // 2
            boxes.append(Box(left, top, w, h))
    return boxes


def design_screen(rng: random.Random, max_side: int | None = None) -> Design:
    rows, columns = capped(rng.choice(SC_SIZES), max_side)
    colour = rng.random() < 0.65
    pixel = PixelFormat("RGB" if colour else "MONOCHROME2", 8, 8, low=0, high=255)
    panels = _panels(rows, columns, rng.choice(PANEL_GRIDS), rng)
    source = rng.choice(("CT", "CT", "MR", "BODY"))
    images = [make_backdrop(source, box.height, box.width, rng.randrange(2**31)).frame(0) for box in panels]
    roll = rng.random()
    background = 0.0 if roll < 0.7 else 0.12 if roll < 0.85 else 1.0
    graphics = []
    tint = (1.0, 1.0, 0.2) if colour else (1.0, 1.0, 1.0)
    for box in panels:
        for _ in range(rng.randint(0, 3)):
            x0 = box.left + int(box.width * rng.uniform(0.2, 0.8))
            y0 = box.top + int(box.height * rng.uniform(0.2, 0.8))
            x1, y1 = x0 + rng.randint(-60, 60), y0 + rng.randint(-60, 60)
            x1, y1 = int(np.clip(x1, box.left + 2, box.right - 3)), int(np.clip(y1, box.top + 2, box.bottom - 3))
            shape = rng.choice(("line", "arrow", "ellipse"))
            points = ((x0, y0), (rng.randint(5, 25), rng.randint(5, 25))) if shape == "ellipse" \
                else ((x0, y0), (x1, y1))
            graphics.append((shape, points, rng.choice((tint, (0.3, 1.0, 0.3), (0.3, 0.8, 1.0))) if colour else tint))
    shot = Screenshot(rows, columns, panels, [np.clip(i, 0, 1) for i in images], background, graphics, colour)
    modality = rng.choice(("OT", "CT", "MR"))
    design = Design("sc", modality, uid.SecondaryCaptureImageStorage, "SC", rows, columns, 1, pixel,
                    pick_syntax(rng, pixel, rows * columns), shot.frame, layout_screen, header_extras=_header_extras)
    design.notes["panels"] = panels
    return design


def layout_screen(ctx: LayoutContext) -> None:
    rng = ctx.rng
    panels: list[Box] = ctx.design.notes["panels"]
    count = rng.randint(4, 10)
    outside = rng.choice((1, 2)) if rng.random() < 0.4 else 0
    fields = draw_fields(rng, ctx.who, count, outside, ctx.outside_seed, ctx.header_texts, unlabelled_share=0.3)
    typed = fields[:rng.randint(1, min(3, len(fields)))]
    corner_fields = fields[len(typed):]
    for number, panel in enumerate(panels):
        _viewer_corners(ctx, panel, corner_fields if number == 0 else corner_fields[:2])
    for f in typed:                               # typed over the anatomy, often larger
        panel = rng.choice(panels)
        area = panel.padded(-int(min(panel.width, panel.height) * 0.12), ctx.rows, ctx.columns)
        look = pick_look(rng, glyph_height(rng, panel.height, panel.width, 6, 30),
                         [f.value] + ([f.label] if f.label else []))
        place_lines(ctx, [f.line(1.0)], look, rng.choice((0.0, 0.0, 0.0, rng.uniform(-8, 8))), "anatomy",
                    area_spots(area, rng))
    for note in anatomy_notes(rng)[:rng.randint(1, 3)]:
        panel = rng.choice(panels)
        look = pick_look(rng, glyph_height(rng, panel.height, panel.width, 6, 24), [note.text])
        place_lines(ctx, [LineSpec((note,))], look, 0.0, "anatomy",
                    area_spots(panel.padded(-int(panel.width * 0.1), ctx.rows, ctx.columns), rng))


def _viewer_corners(ctx: LayoutContext, panel: Box, fields) -> None:
    rng = ctx.rng
    glyph = glyph_height(rng, panel.height, panel.width, 5, 16)
    split = (len(fields) + 1) // 2
    blocks = [("tl", field_lines(fields[:split], rng, stacked=False)),
              ("tr", field_lines(fields[split:], rng, stacked=False))]
    modality = ctx.design.modality if ctx.design.modality != "OT" else "CT"
    technique = [LineSpec((say,)) for say in technique_lines(rng, modality)[:rng.randint(1, 4)]]
    blocks.append((rng.choice(("bl", "br")), technique))
    look = pick_look(rng, glyph, [t for _, lines in blocks for t in says_of(lines)])
    inner = panel.padded(-3, ctx.rows, ctx.columns)
    for corner, lines in blocks:
        if not lines:
            continue
        spots = corner_spots(inner.height, inner.width, corner, 2)
        place_lines(ctx, lines, look, 0.0, "corner", _offset(spots, inner),
                    align="right" if corner[1] == "r" else "left", decorate=rng.random() < 0.3)


def _offset(spots, box: Box):
    def moved(width: int, height: int):
        for x, y in spots(width, height):
            yield box.left + x, box.top + y
    return moved


def _header_extras(ds: Dataset) -> dict[str, Any]:
    ds.ConversionType = "WSD"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = ""
    return {}
