"""Text that does not run left to right: its geometry, the upright view it is read in, and its fill.

Burned-in text is mostly horizontal, but not all of it: a name may run along an image's edge (turned 90
or 270 degrees), a label of a flipped acquisition may stand upside down, and text typed over a secondary
capture may be skewed by a few degrees. Such text must be found, read and judged like horizontal text.

How, following the field's practice (PaddleOCR's pipeline: rotated detection boxes, crops rectified to
upright, a direction decision between the two readings of a line):
- the detector keeps each line's rotated rectangle (`TextRegion`): its baseline direction and its four
  corners (the learned detector's components give it; the morphological detector chains glyphs
  vertically as well as horizontally);
- a rotated line is read in a `Reading`: the frame turned so the line is upright. A quarter turn
  (skew under `SKEW_TOLERANCE`) is an exact `np.rot90` of the whole frame, so nothing is interpolated
  and every position maps back exactly; a skewed line is rectified by an affine warp of its
  neighbourhood. The OCR, the PHI recognizer and the redaction policy then work in the reading's
  coordinates exactly as they do on horizontal text;
- which of a line's two directions is upright (90 or 270, 0 or 180) is what reads better: Tesseract
  reads a line turned the wrong way as confident-looking garbage, but clearly less confident than the
  right way (measured: 84-95 against 25-62 on the same crops). Tesseract's own orientation detection
  (OSD, `osd.traineddata`) needs a page of text and returns nothing on a single line;
- what is filled is mapped back to the frame as boxes that follow the rotated rectangle (`cover`),
  strips a few pixels wide, so a skewed line is not filled as its whole bounding box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from transforms.text_types import Box

SKEW_TOLERANCE = 3.0          # degrees: a line this close to horizontal (or vertical) is read without a warp
MIN_ROTATED_ASPECT = 2.0      # a rotated rectangle shorter than this many thicknesses has no direction
                              # (one or two glyphs): it is treated as horizontal, as before
MIN_SKEWED_ASPECT = 3.0       # ... and a skewed one (not a quarter turn) needs this many for its angle
COVER_STEP = 4                # width of the strips that fill a skewed line, in pixels
WARP_MARGIN_RATIO = 0.6       # context around a rectified skewed line, in line thicknesses

Corners = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TextRegion:
    """A located text line: its axis-aligned bounds and, when it does not run horizontally, the
    direction of its baseline and the corners of its rotated rectangle (frame pixels, x right, y down)."""

    box: Box
    angle: float = 0.0        # baseline direction in degrees, in [-90, 90): 0 horizontal, -90 vertical
    corners: Corners = field(default=(), compare=False)
    glyphs: bool = True       # glyph-shaped components were found in it (a morphological glyph chain or a
                              # pen-value line), not only the learned detector's response

    @property
    def rotated(self) -> bool:
        """Not horizontal: read in a turned view."""
        return bool(self.corners) and abs(self.angle) >= SKEW_TOLERANCE

    @property
    def vertical(self) -> bool:
        return abs(self.angle) >= 45.0

    @property
    def skew(self) -> float:
        """Degrees off the nearest quarter turn."""
        if self.angle >= 45.0:
            return self.angle - 90.0
        return self.angle + 90.0 if self.angle < -45.0 else self.angle

    def cover(self, rows: int, columns: int, pad: int = 0) -> list[Box]:
        """Boxes that together cover the region grown by `pad`: one box for an axis-aligned region,
        strips along a skewed one."""
        if not self.rotated or abs(self.skew) < SKEW_TOLERANCE:
            return [self.box.padded(pad, rows, columns)] if self.box.width > 0 and self.box.height > 0 else []
        return quad_cover(grow_corners(self.corners, pad), rows, columns)


def region_from_corners(corners: Corners, rows: int, columns: int, glyphs: bool = True) -> TextRegion:
    """A `TextRegion` for a rotated rectangle's corners (any order along its outline): horizontal,
    with only its bounds, when it is too short to have a direction or lies within the tolerance."""
    points = np.asarray(corners, dtype=np.float64)
    box = _bounds(points, rows, columns)
    first, second = points[1] - points[0], points[2] - points[1]
    long_side, short_side = (first, second) if np.hypot(*first) >= np.hypot(*second) else (second, first)
    length, thickness = float(np.hypot(*long_side)), float(np.hypot(*short_side))
    angle = math.degrees(math.atan2(long_side[1], long_side[0]))
    angle = (angle + 90.0) % 180.0 - 90.0
    if thickness <= 0 or length < MIN_ROTATED_ASPECT * thickness or abs(angle) < SKEW_TOLERANCE:
        return TextRegion(box, glyphs=glyphs)
    region = TextRegion(box, angle, tuple((float(x), float(y)) for x, y in points), glyphs)
    if abs(region.skew) >= SKEW_TOLERANCE and (abs(region.skew) < _angle_uncertainty(length, thickness)
                                               or length < MIN_SKEWED_ASPECT * thickness):
        # a short line's rectangle tilts with its glyphs' heights (descenders, a digit beside a unit):
        # a skew smaller than that is no skew; a vertical line keeps its quarter turn
        if not region.vertical:
            return TextRegion(box, glyphs=glyphs)
        return replace(region, angle=-90.0)
    return region


def _angle_uncertainty(length: float, thickness: float) -> float:
    """Degrees a rectangle's direction may be off for text this long: half the angle its thickness
    subtends over its length (7 degrees at 4 thicknesses, 3 at 10)."""
    return 0.5 * math.degrees(math.atan2(thickness, length))


def rotated_rectangle(points: np.ndarray, grow: float = 0.0) -> Corners:
    """Corners of the minimum-area rectangle around (x, y) points, each side moved out by `grow`."""
    centre, (width, height), angle = cv2.minAreaRect(points.astype(np.float32))
    corners = cv2.boxPoints((centre, (width + 2 * grow, height + 2 * grow), angle))
    return tuple((float(x), float(y)) for x, y in corners)


def grow_corners(corners: Corners, pad: float) -> Corners:
    """The rectangle's corners moved out by `pad` along both of its axes."""
    if pad == 0:
        return corners
    points = np.asarray(corners, dtype=np.float64)
    centre = points.mean(axis=0)
    axes = [points[1] - points[0], points[2] - points[1]]
    units = [axis / max(np.hypot(*axis), 1e-9) for axis in axes]
    grown = []
    for point in points:
        offset = point - centre
        shift = sum(np.sign(offset @ unit) * pad * unit for unit in units)
        grown.append(tuple(point + shift))
    return tuple((float(x), float(y)) for x, y in grown)


def quad_cover(corners: Corners, rows: int, columns: int, step: int = COVER_STEP) -> list[Box]:
    """Axis-aligned strips covering a convex quadrilateral: column strips `step` wide when it runs
    more across than down, row strips otherwise, each as tall (wide) as the quadrilateral is there."""
    points = np.asarray(corners, dtype=np.float64)
    bounds = _bounds(points, rows, columns)
    if bounds.width <= 0 or bounds.height <= 0:
        return []
    mask = np.zeros((bounds.height, bounds.width), dtype=np.uint8)
    local = np.round((points - [bounds.left, bounds.top]) * 16).astype(np.int32)   # 4 fractional bits
    cv2.fillConvexPoly(mask, local, 1, lineType=cv2.LINE_8, shift=4)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))            # pixels the outline only touches
    across = bounds.width >= bounds.height
    strips = []
    extent = bounds.width if across else bounds.height
    for start in range(0, extent, step):
        stop = min(start + step, extent)
        part = mask[:, start:stop] if across else mask[start:stop, :]
        filled = np.flatnonzero(part.any(axis=1 if across else 0))
        if filled.size == 0:
            continue
        low, high = int(filled[0]), int(filled[-1]) + 1
        strips.append(Box(bounds.left + start, bounds.top + low, stop - start, high - low) if across
                      else Box(bounds.left + low, bounds.top + start, high - low, stop - start))
    return strips


def _bounds(points: np.ndarray, rows: int, columns: int) -> Box:
    left, top = max(int(np.floor(points[:, 0].min())), 0), max(int(np.floor(points[:, 1].min())), 0)
    right, bottom = min(int(np.ceil(points[:, 0].max())), columns), min(int(np.ceil(points[:, 1].max())), rows)
    return Box(left, top, max(right - left, 0), max(bottom - top, 0))


@dataclass(frozen=True)
class Reading:
    """An upright view of a turned line: the frame rotated so that one direction along the line runs
    left to right. `quarter_turns` (counter-clockwise as displayed, `np.rot90`'s sense) is exact and
    covers the whole frame; a skewed line adds `matrix`, an affine map from the frame to a local canvas
    of `shape` around the line (interpolated)."""

    quarter_turns: int
    frame_shape: tuple[int, int]                              # rows, columns of the frame
    matrix: tuple[tuple[float, ...], ...] | None = None       # 2x3, frame -> canvas (skewed lines)
    shape: tuple[int, int] | None = None                      # rows, columns of that canvas

    @property
    def canvas_shape(self) -> tuple[int, int]:
        if self.matrix is not None:
            return self.shape
        rows, columns = self.frame_shape
        return (columns, rows) if self.quarter_turns % 2 else (rows, columns)

    def canvas(self, image: np.ndarray) -> np.ndarray:
        """The upright view of an image of the frame's geometry (a grey view)."""
        if self.matrix is None:
            return np.ascontiguousarray(np.rot90(image, self.quarter_turns))
        rows, columns = self.shape
        return cv2.warpAffine(image, np.asarray(self.matrix, dtype=np.float64), (columns, rows),
                              flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

    def box_in_canvas(self, box: Box) -> Box:
        """An axis-aligned frame box in the canvas (its bounds there, for a skewed reading)."""
        return _bounds(self._to_canvas(_corners_of(box)), *self.canvas_shape)

    def region_in_canvas(self, region: TextRegion) -> Box:
        corners = np.asarray(region.corners, dtype=np.float64) if region.corners else _corners_of(region.box)
        return _bounds(self._to_canvas(corners), *self.canvas_shape)

    def to_frame(self, box: Box) -> list[Box]:
        """Frame boxes covering a canvas box: one box for a quarter turn, strips for a skewed reading."""
        rows, columns = self.frame_shape
        corners = self._to_frame(_corners_of(box))
        if self.matrix is None:
            bounds = _bounds(corners, rows, columns)
            return [bounds] if bounds.width > 0 and bounds.height > 0 else []
        return quad_cover(tuple(map(tuple, corners)), rows, columns)

    def bounds_in_frame(self, box: Box) -> Box:
        return _bounds(self._to_frame(_corners_of(box)), *self.frame_shape)

    def _to_canvas(self, points: np.ndarray) -> np.ndarray:
        if self.matrix is not None:
            matrix = np.asarray(self.matrix, dtype=np.float64)
            return points @ matrix[:, :2].T + matrix[:, 2]
        return _rot90_points(points, self.quarter_turns, self.frame_shape)

    def _to_frame(self, points: np.ndarray) -> np.ndarray:
        if self.matrix is not None:
            inverse = cv2.invertAffineTransform(np.asarray(self.matrix, dtype=np.float64))
            return points @ inverse[:, :2].T + inverse[:, 2]
        shape = self.canvas_shape
        return _rot90_points(points, (4 - self.quarter_turns) % 4, shape)


def readings_of(region: TextRegion, rows: int, columns: int) -> list[Reading]:
    """The two upright views of a rotated region, one per direction along its baseline: the likelier
    first (text runs bottom to top along a left edge, top to bottom along a right edge; of a skewed
    line, left to right)."""
    if abs(region.skew) < SKEW_TOLERANCE:       # a quarter turn: exact rotations of the whole frame
        first = 3 if region.box.left + region.box.width / 2 <= columns / 2 else 1
        return [Reading(first, (rows, columns)), Reading((first + 2) % 4, (rows, columns))]
    return [_warped(region, direction, rows, columns) for direction in (region.angle, region.angle + 180.0)]


def upside_down(rows: int, columns: int) -> Reading:
    """The frame turned half way round: the second reading of a horizontal line."""
    return Reading(2, (rows, columns))


def _warped(region: TextRegion, direction: float, rows: int, columns: int) -> Reading:
    """A canvas in which the line's `direction` (degrees, image coordinates) runs left to right."""
    points = np.asarray(region.corners, dtype=np.float64)
    centre = points.mean(axis=0)
    sides = [float(np.hypot(*(points[1] - points[0]))), float(np.hypot(*(points[2] - points[1])))]
    length, thickness = max(sides), min(sides)
    margin = max(4.0, WARP_MARGIN_RATIO * thickness)
    width, height = int(math.ceil(length + 2 * margin)), int(math.ceil(thickness + 2 * margin))
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), direction, 1.0)
    matrix[:, 2] += (width / 2.0 - centre[0], height / 2.0 - centre[1])
    return Reading(0, (rows, columns), tuple(tuple(float(v) for v in row) for row in matrix), (height, width))


def _corners_of(box: Box) -> np.ndarray:
    return np.array([[box.left, box.top], [box.right, box.top], [box.right, box.bottom], [box.left, box.bottom]],
                    dtype=np.float64)


def _rot90_points(points: np.ndarray, turns: int, shape: tuple[int, int]) -> np.ndarray:
    """Where points (x, y; pixel edges) of an image of `shape` land in `np.rot90(image, turns)`."""
    rows, columns = shape
    x, y = points[:, 0], points[:, 1]
    turns %= 4
    if turns == 0:
        return points.copy()
    if turns == 1:
        return np.stack([y, columns - x], axis=1)
    if turns == 2:
        return np.stack([columns - x, rows - y], axis=1)
    return np.stack([rows - y, x], axis=1)
