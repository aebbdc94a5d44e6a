"""`ultrasound`: vendor ultrasound stills and cines (issue 29).

A console's screen: a header band with the patient's name, ID, dates, the institution and the device;
a side panel of settings (probe, preset, MI/TI, gain, depth, frame rate); a greyscale speckle image
(Rayleigh) in a curved, phased or linear field, sometimes with colour Doppler in a box, a colour bar, a
depth scale, calipers and a focus marker drawn as graphics. Stored as RGB, MONOCHROME2 or PALETTE COLOR,
as a still or a cine whose band is the same on every frame. SequenceOfUltrasoundRegions states the
clinical regions; inside them the only text is clinical annotation (organ labels, caliper readings:
not PHI), and on many frames there is none at all (the truth then has no box there, and a de-identifier
must change nothing there).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from transforms.synth.anatomy import smooth_noise
from transforms.synth.fields import Field, caliper_note, field_value, organ_label, spell_label, technique_lines
from transforms.synth.raster import Palette, PixelFormat
from transforms.synth.styles.common import (Design, LayoutContext, capped, glyph_height, pick_look,
                                            pick_syntax, place_lines, says_of)
from transforms.synth.textblocks import LineSpec, area_spots, other, value_of
from transforms.synth.truth import box_json
from transforms.text_types import Box

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
SCREENS = ((480, 640), (600, 800), (768, 1024), (720, 960), (576, 720), (434, 636))
REGION_TISSUE, REGION_COLOUR_FLOW = 1, 2


@dataclass(frozen=True)
class Screen:
    """Where things are on the console's screen."""

    rows: int
    columns: int
    band: Box                 # the header band (PHI lives here)
    panel: Box                # the settings panel
    region: Box               # the clinical region (its bounding box)
    probe: str                # curved | phased | linear
    colour_box: Box | None    # colour Doppler box inside the region


def _screen(rng: random.Random, rows: int, columns: int, doppler: bool) -> Screen:
    band_h = int(rows * rng.uniform(0.07, 0.12))
    panel_w = int(columns * rng.uniform(0.14, 0.2))
    left = panel_w + int(columns * 0.02)
    right = columns - int(columns * rng.uniform(0.06, 0.1))
    top = band_h + int(rows * 0.02)
    bottom = rows - int(rows * rng.uniform(0.04, 0.08))
    region = Box(left, top, right - left, bottom - top)
    probe = rng.choice(("curved", "curved", "phased", "linear"))
    colour_box = None
    if doppler:
        w, h = int(region.width * rng.uniform(0.3, 0.5)), int(region.height * rng.uniform(0.25, 0.4))
        colour_box = Box(region.left + (region.width - w) // 2 + rng.randrange(-w // 4, w // 4 + 1),
                         region.top + int(region.height * rng.uniform(0.2, 0.45)), w, h)
    return Screen(rows, columns, Box(0, 0, columns, band_h), Box(0, band_h, panel_w, rows - band_h), region,
                  probe, colour_box)


def _field_mask(screen: Screen) -> np.ndarray:
    """The imaged field inside the region: a fan (curved, phased) or the whole rectangle (linear)."""
    r = screen.region
    yy, xx = np.mgrid[0:r.height, 0:r.width].astype(np.float32)
    if screen.probe == "linear":
        return np.ones((r.height, r.width), bool)
    spread = 0.62 if screen.probe == "curved" else 0.75
    apex_y = -r.height * (0.18 if screen.probe == "curved" else 0.02)
    radius = np.hypot(xx - r.width / 2.0, yy - apex_y)
    angle = np.arctan2(xx - r.width / 2.0, yy - apex_y)
    inner = r.height * (0.2 if screen.probe == "curved" else 0.02)
    return (np.abs(angle) < spread) & (radius > inner) & (radius < r.height - apex_y - 1)


@dataclass
class Console:
    """Makes the frames: background, band, panel, speckle field, Doppler, graphics."""

    screen: Screen
    seed: int
    colour: bool
    band_colour: tuple[float, float, float]
    panel_colour: tuple[float, float, float]
    calipers: tuple[tuple[int, int], ...]
    caliper_frames: tuple[int, ...] | None

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 0x05])
        r = self.screen.region
        self.field = _field_mask(self.screen)
        tissue = 0.35 + 0.18 * smooth_noise(rng, (r.height, r.width), 10)
        depth = np.linspace(1.0, 0.55, r.height, dtype=np.float32)[:, None]
        yy, xx = np.mgrid[0:r.height, 0:r.width].astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):                   # cysts, vessels: dark
            cy, cx = rng.uniform(0.25, 0.85) * r.height, rng.uniform(0.2, 0.8) * r.width
            ry, rx = rng.uniform(0.04, 0.12) * r.height, rng.uniform(0.05, 0.15) * r.width
            tissue[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = 0.04
        for _ in range(int(rng.integers(1, 3))):                   # bright interfaces
            y0, slope = rng.uniform(0.3, 0.9) * r.height, rng.uniform(-0.2, 0.2)
            tissue[np.abs(yy - y0 - slope * (xx - r.width / 2)) < 2.0] = 0.95
        self.tissue = (tissue * depth).astype(np.float32)
        self.vessel = None
        if self.screen.colour_box is not None:
            c = self.screen.colour_box
            cyy, cxx = np.mgrid[0:c.height, 0:c.width].astype(np.float32)
            self.vessel = np.abs(cyy - c.height / 2 - 0.15 * (cxx - c.width / 2)) < c.height * 0.18
            lumen = self.tissue[c.top - r.top:c.bottom - r.top, c.left - r.left:c.right - r.left]
            lumen[self.vessel] = 0.03                              # the vessel's lumen is dark in B-mode

    def frame(self, index: int) -> np.ndarray:
        s = self.screen
        rng = np.random.default_rng([self.seed, index, 0x0F])
        image = np.zeros((s.rows, s.columns, 3), np.float32)
        image[s.band.top:s.band.bottom, s.band.left:s.band.right] = self.band_colour
        image[s.panel.top:s.panel.bottom, s.panel.left:s.panel.right] = self.panel_colour
        r = s.region
        shift = int(round(2 * np.sin(2 * np.pi * index / 9.0)))
        speckle = rng.rayleigh(1.0, (r.height, r.width)).astype(np.float32) / 1.25
        grey = np.clip(np.roll(self.tissue, shift, axis=0) * speckle, 0.0, 1.0) * self.field
        image[r.top:r.bottom, r.left:r.right] = grey[:, :, None]
        if self.vessel is not None:
            self._doppler(image, index, rng)
        self._graphics(image, index)
        image += rng.normal(0.0, 0.004, image.shape).astype(np.float32) * (image > 0)
        image = np.clip(image, 0.0, 1.0)
        return image if self.colour else image.mean(axis=-1)

    def _doppler(self, image: np.ndarray, index: int, rng: np.random.Generator) -> None:
        c = self.screen.colour_box
        pulse = 0.55 + 0.45 * np.sin(2 * np.pi * index / 6.0)
        flow = self.vessel & (rng.random(self.vessel.shape) < 0.9)
        yy, xx = np.nonzero(flow)
        towards = (xx > c.width / 2)
        speed = np.clip(pulse * (1.0 - np.abs(yy - c.height / 2) / (c.height * 0.2)), 0.2, 1.0)
        red = np.stack([0.4 + 0.6 * speed, 0.6 * speed ** 2, np.zeros_like(speed)], axis=1)
        blue = np.stack([np.zeros_like(speed), 0.5 * speed ** 2, 0.4 + 0.6 * speed], axis=1)
        colours = np.where(towards[:, None], red, blue).astype(np.float32)
        image[c.top + yy, c.left + xx] = colours
        outline = (0.7, 0.7, 0.7)
        cv2.rectangle(image, (c.left, c.top), (c.right - 1, c.bottom - 1), outline, 1)
        bar_x = self.screen.region.right + 4
        ramp = np.linspace(1.0, -1.0, c.height, dtype=np.float32)
        bar = np.where(ramp[:, None] > 0, [[0.4, 0.0, 0.0]] + ramp[:, None] * [[0.6, 0.6, 0.0]],
                       [[0.0, 0.0, 0.4]] - ramp[:, None] * [[0.0, 0.5, 0.6]])
        if bar_x + 6 < self.screen.columns:
            image[c.top:c.bottom, bar_x:bar_x + 6] = bar[:, None, :]

    def _graphics(self, image: np.ndarray, index: int) -> None:
        """Depth ticks, a focus marker, a probe logo and calipers: drawn lines, never text."""
        s, r = self.screen, self.screen.region
        tick = (0.8, 0.8, 0.8)
        x = min(s.columns - 3, r.right + 1)
        for k in range(0, 11):
            y = r.top + int(r.height * k / 10)
            cv2.line(image, (x, y), (x + (5 if k % 5 == 0 else 2), y), tick, 1)
        focus_y = r.top + int(r.height * 0.45)
        cv2.fillPoly(image, [np.array([[x + 7, focus_y - 4], [x + 7, focus_y + 4], [x + 2, focus_y]], np.int32)], tick)
        cv2.circle(image, (r.left + 8, r.top + 8), 4, (0.2, 0.6, 1.0), -1)
        if self.caliper_frames is None or index in self.caliper_frames:
            for cx, cy in self.calipers:
                cv2.line(image, (cx - 4, cy), (cx + 4, cy), (1.0, 1.0, 0.3), 1)
                cv2.line(image, (cx, cy - 4), (cx, cy + 4), (1.0, 1.0, 0.3), 1)
            if len(self.calipers) == 2:
                (x0, y0), (x1, y1) = self.calipers
                for t in np.linspace(0.1, 0.9, 9):
                    px, py = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                    image[py, px] = (1.0, 1.0, 0.3)


def design_ultrasound(rng: random.Random, max_side: int | None = None) -> Design:
    rows, columns = capped(rng.choice(SCREENS), max_side)
    frames = 1 if rng.random() < 0.55 else rng.randrange(6, 13)
    roll = rng.random()
    photometric = "RGB" if roll < 0.5 else "MONOCHROME2" if roll < 0.8 else "PALETTE COLOR"
    doppler = photometric != "MONOCHROME2" and rng.random() < 0.45
    pixel = PixelFormat(photometric, 8, 8, low=0, high=255,
                        palette=Palette() if photometric == "PALETTE COLOR" else None)
    screen = _screen(rng, rows, columns, doppler)
    annotated = frames > 1 or rng.random() < 0.55
    caliper_frames = _annotation_frames(rng, frames) if annotated else ()
    calipers = _calipers(rng, screen) if annotated and rng.random() < 0.7 else ()
    band = rng.choice(((0.0, 0.0, 0.0), (0.08, 0.08, 0.1), (0.1, 0.12, 0.3), (0.2, 0.2, 0.2)))
    console = Console(screen, rng.randrange(2**31), pixel.colour, band,
                      rng.choice(((0.0, 0.0, 0.0), (0.06, 0.06, 0.06), (0.12, 0.12, 0.14))), calipers,
                      caliper_frames)
    sop_class = US_IMAGE_STORAGE if frames == 1 else US_MULTIFRAME_STORAGE
    design = Design("ultrasound", "US", sop_class, "US", rows, columns, frames, pixel,
                    pick_syntax(rng, pixel, rows * columns * frames), console.frame, layout_ultrasound,
                    header_extras=lambda ds: _header_extras(ds, screen, pixel))
    design.notes.update(screen=screen, annotated=annotated, annotation_frames=caliper_frames)
    return design


def _annotation_frames(rng: random.Random, frames: int) -> tuple[int, ...] | None:
    """Stills: all (None). Cines: a contiguous run covering at most two thirds of the frames."""
    if frames <= 1:
        return None
    length = rng.randrange(1, max(2, (2 * frames) // 3) + 1)
    start = rng.randrange(0, frames - length + 1)
    return tuple(range(start, start + length))


def _calipers(rng: random.Random, screen: Screen) -> tuple[tuple[int, int], ...]:
    r = screen.region
    points = []
    for _ in range(2):
        points.append((r.left + int(r.width * rng.uniform(0.3, 0.7)), r.top + int(r.height * rng.uniform(0.3, 0.8))))
    return tuple(points)


def layout_ultrasound(ctx: LayoutContext) -> None:
    rng, screen = ctx.rng, ctx.design.notes["screen"]
    palette = ctx.design.pixel.photometric == "PALETTE COLOR"
    _band(ctx, screen, palette)
    _panel(ctx, screen, palette)
    _depth_scale(ctx, screen, palette)
    if ctx.design.notes["annotated"]:
        frames = ctx.design.notes["annotation_frames"]
        says = [organ_label(rng)] + ([organ_label(rng)] if rng.random() < 0.2 else []) \
            + [caliper_note(rng) for _ in range(rng.randint(0, 2))]
        for say in says:
            look = pick_look(rng, glyph_height(rng, ctx.rows, ctx.columns, 6, 16), [say.text], palette)
            place_lines(ctx, [LineSpec((say,))], look, 0.0, "region",
                        area_spots(screen.region.padded(-6, ctx.rows, ctx.columns), rng), frames=frames)


def _band(ctx: LayoutContext, screen: Screen, palette: bool) -> None:
    """The header band: patient fields on the left, the institution in the middle, date and device right;
    what does not fit in the band goes to the footer line under the image, smaller, as consoles do."""
    rng, who = ctx.rng, ctx.who
    band = screen.band
    glyph = int(np.clip(band.height * rng.uniform(0.22, 0.34), 5, 22))
    inner = band.padded(-2, ctx.rows, ctx.columns)
    footer = Box(screen.panel.right + 2, screen.region.bottom + 1, ctx.columns - screen.panel.right - 4,
                 max(1, ctx.rows - screen.region.bottom - 2))
    left_keys = ["name", "id"] + (["birth_date"] if rng.random() < 0.4 else [])
    fields = []
    for key in left_keys:
        value, in_header = field_value(rng, key, who, ctx.outside_seed)
        fields.append(Field(key, spell_label(rng, key) if rng.random() < 0.75 else None, value, in_header))
    lines = [f.line(1.0) for f in fields]
    _place_fitting(ctx, lines[:2], glyph, palette, [_in_box(inner, "left"), _in_box(footer, "left")])
    if len(lines) > 2:
        _place_fitting(ctx, lines[2:], glyph, palette, [_in_box(inner, "centre-left"), _in_box(footer, "centre")])
    institution, in_header = field_value(rng, "institution", who, ctx.outside_seed)
    middle = [Field("institution", None, institution, in_header).line(1.0)]
    if rng.random() < 0.25:
        value, held = field_value(rng, "outside_person", who, ctx.outside_seed + 1)
        middle.append(Field("outside_person", spell_label(rng, "outside_person"), value, held).line(1.0))
    _place_fitting(ctx, middle, glyph, palette, [_in_box(inner, "centre"), _in_box(footer, "left")])
    date, _ = field_value(rng, "study_date", who, ctx.outside_seed)
    time, _ = field_value(rng, "study_time", who, ctx.outside_seed)
    right = [LineSpec((value_of(date, "DATE", True), value_of(time, "TIME", True)), (1.5,))]
    device = rng.choice(("ACME Sonix 500", "EPIQ 7G", "LOGIQ E9", "ACUSON S2000", "Aplio i800", "ARIETTA 850"))
    mi = technique_lines(rng, "US")[:2]
    right.append(LineSpec((other(device, "DEVICE"),) + tuple(mi), (2.0, 1.0)))
    _place_fitting(ctx, right, glyph, palette, [_in_box(inner, "right"), _in_box(footer, "right")], align="right")


def _place_fitting(ctx: LayoutContext, lines: list[LineSpec], glyph: int, palette: bool, wheres: list,
                   align: str = "left") -> None:
    """The first place where the block fits, at full size, then at 70% and 50% of it."""
    for where in wheres:
        for factor in (1.0, 0.7, 0.5):
            look = pick_look(ctx.rng, max(5, int(glyph * factor)), says_of(lines), palette)
            if place_lines(ctx, lines, look, 0.0, "band", where, align=align, decorate=False):
                return


def _panel(ctx: LayoutContext, screen: Screen, palette: bool) -> None:
    rng = ctx.rng
    settings = technique_lines(rng, "US")[2:]
    rng.shuffle(settings)
    lines = [LineSpec((say,)) for say in settings[:rng.randint(4, 9)]]
    glyph = glyph_height(rng, ctx.rows, ctx.columns, 5, 14)
    look = pick_look(rng, glyph, says_of(lines), palette)
    inner = screen.panel.padded(-3, ctx.rows, ctx.columns)
    placed = place_lines(ctx, lines, look, 0.0, "panel", _in_box(inner, "left"), decorate=False)
    if not placed:
        place_lines(ctx, lines[:3], pick_look(rng, max(4, glyph - 3), says_of(lines), palette), 0.0, "panel",
                    _in_box(inner, "left"), decorate=False)


def _depth_scale(ctx: LayoutContext, screen: Screen, palette: bool) -> None:
    """Depth numbers right of the field (cm), next to the drawn ticks."""
    rng, r = ctx.rng, screen.region
    depth = rng.choice((4, 6, 8, 10, 12, 16, 20))
    step = depth // 2 if depth <= 8 else 5
    glyph = glyph_height(rng, ctx.rows, ctx.columns, 5, 12)
    look = pick_look(rng, glyph, ["0123456789"], palette)
    for cm in range(0, depth + 1, step):
        y = r.top + int(r.height * cm / depth)
        x = min(ctx.columns - 2, r.right + 9)
        spot = Box(x, max(0, y - glyph), max(1, ctx.columns - x - 1), 2 * glyph + 2)
        place_lines(ctx, [LineSpec((other(str(cm), "SCALE"),))], look, 0.0, "edge", _in_box(spot, "left"),
                    decorate=False)


def _in_box(box: Box, side: str):
    """Candidate corners for a block inside `box`: against one side, or centred."""
    def spots(width: int, height: int):
        if width > box.width or height > box.height:
            return
        y = box.top + (box.height - height) // 2
        x = {"left": box.left, "right": box.right - width, "centre": box.left + (box.width - width) // 2,
             "centre-left": box.left + (box.width - width) // 3}[side]
        yield x, y
        yield x, box.top
    return spots


def _header_extras(ds: Dataset, screen: Screen, pixel: PixelFormat) -> dict[str, Any]:
    """SequenceOfUltrasoundRegions (tissue, and colour flow where there is Doppler); the palette."""
    regions = []
    items = [(screen.region, REGION_TISSUE)] + ([(screen.colour_box, REGION_COLOUR_FLOW)] if screen.colour_box else [])
    sequence = []
    for box, data_type in items:
        item = Dataset()
        item.RegionSpatialFormat = 1                       # 2D
        item.RegionDataType = data_type
        item.RegionFlags = 0
        item.RegionLocationMinX0, item.RegionLocationMinY0 = box.left, box.top
        item.RegionLocationMaxX1, item.RegionLocationMaxY1 = box.right - 1, box.bottom - 1
        item.PhysicalUnitsXDirection = item.PhysicalUnitsYDirection = 3        # cm
        item.PhysicalDeltaX = item.PhysicalDeltaY = round(16.0 / max(1, screen.region.height), 6)
        item.ReferencePixelX0, item.ReferencePixelY0 = box.width // 2, 0
        sequence.append(item)
        regions.append({"box": box_json(box), "data_type": "tissue" if data_type == REGION_TISSUE else "color_flow"})
    ds.SequenceOfUltrasoundRegions = Sequence(sequence)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    if pixel.photometric == "PALETTE COLOR":
        lut = pixel.palette.lut()
        descriptor = [pixel.palette.size, 0, 16]
        for colour, channel in (("Red", 0), ("Green", 1), ("Blue", 2)):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", descriptor)
            setattr(ds, f"{colour}PaletteColorLookupTableData", lut[:, channel].astype("<u2").tobytes())
    return {"ultrasound_regions": regions}

