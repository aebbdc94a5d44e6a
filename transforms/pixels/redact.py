"""Filling text boxes in the *stored* values of one frame.

Why stored values: the prepared 8-bit copy used for OCR is thrown away; what is written back must be
in the file's own bit depth, signedness and colour space, so that every pixel outside the boxes stays
bit-identical and the file can be re-encoded without loss.

The default fill is the value that looks darkest on display: for MONOCHROME2 the lowest rescaled value
(the frame's own darkest value, or the bottom of the file's window if that is darker), for MONOCHROME1
the highest, black for RGB, Y=0 with neutral chroma for YBR, the darkest palette entry for PALETTE COLOR.
Using the frame's own extreme rather than the type's minimum keeps viewers' automatic windowing intact.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.frames import PixelInfo
from transforms.pixels.glyphs import FILL_GROWTH, Fill, tight_boxes
from transforms.text_types import Box

DEFAULT_PADDING = 3

FillValue = int | float | Sequence[int]


def redact_regions(frame: np.ndarray, boxes: Iterable[Box], info: PixelInfo,
                   fill: FillValue | None = None, padding: int = DEFAULT_PADDING,
                   header: Dataset | None = None) -> np.ndarray:
    """A copy of `frame` (stored values of one frame) with every box, padded, filled on all samples.

    `fill` overrides the dark-on-display default (one value, or one per sample). `header` is only
    needed for PALETTE COLOR (to find the darkest palette entry).
    """
    out = frame.copy()
    value = _as_sample_values(fill if fill is not None else dark_fill_value(frame, info, header), frame)
    for box in boxes:
        region = _aligned(box.padded(padding, info.rows, info.columns), info)
        if region.width <= 0 or region.height <= 0:
            continue
        out[region.top:region.bottom, region.left:region.right] = value
    return out


def redacted_mask(boxes: Iterable[Box], info: PixelInfo, padding: int = DEFAULT_PADDING) -> np.ndarray:
    """Boolean (rows, columns) mask of the pixels `redact_regions` fills (for checks and scoring)."""
    mask = np.zeros((info.rows, info.columns), dtype=bool)
    for box in boxes:
        region = _aligned(box.padded(padding, info.rows, info.columns), info)
        mask[region.top:region.bottom, region.left:region.right] = True
    return mask


def redact_tight(frame: np.ndarray, fills: Iterable[Fill], info: PixelInfo, header: Dataset | None = None,
                 growth: int = FILL_GROWTH) -> np.ndarray:
    """What the pipeline fills: the glyphs of each fill's pieces (`glyphs.tight_boxes`), each box grown
    by `growth`, with the dark-on-display value. One function, so the frame task and the benchmarks
    that score its output fill the same pixels."""
    boxes = [box for fill in fills for box in tight_boxes(frame, fill, growth)]
    return redact_regions(frame, boxes, info, padding=0, header=header)


def _aligned(box: Box, info: PixelInfo) -> Box:
    """Chroma-subsampled native data shares chroma between column pairs: fill whole pairs only,
    so re-subsampling on write is exact."""
    if info.photometric != "YBR_FULL_422":
        return box
    left = box.left - box.left % 2
    right = min(box.right + box.right % 2, info.columns)
    return Box(left, box.top, right - left, box.height)


def dark_fill_value(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None) -> FillValue:
    """The stored value (per sample for colour) that displays darkest."""
    photometric = info.decoded_photometric()
    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        return _dark_grey_value(frame, info, invert=photometric == "MONOCHROME1")
    if photometric.startswith("YBR"):
        return (0, 1 << (info.bits_stored - 1), 1 << (info.bits_stored - 1))
    if photometric == "PALETTE COLOR" and header is not None:
        return _darkest_palette_index(frame, header)
    return 0


def _dark_grey_value(frame: np.ndarray, info: PixelInfo, invert: bool) -> int:
    """Lowest display value for MONOCHROME2 (highest for MONOCHROME1), in stored units.

    Display order follows the rescale slope's sign, so "darkest" is computed on rescaled values and
    mapped back; the bottom (top) of the file's window is used when it is darker than the frame.
    """
    slope, intercept = info.rescale_slope or 1.0, info.rescale_intercept
    wants_high_display = invert
    stored_extreme = frame.max() if (wants_high_display == (slope > 0)) else frame.min()
    target = slope * float(stored_extreme) + intercept
    if info.window_center is not None and info.window_width is not None:
        edge = info.window_center + (info.window_width / 2 if wants_high_display else -info.window_width / 2)
        target = max(target, edge) if wants_high_display else min(target, edge)
    stored = (target - intercept) / slope
    stored = math.ceil(stored) if wants_high_display == (slope > 0) else math.floor(stored)
    low, high = info.stored_range
    return int(min(max(stored, low), high))


def _darkest_palette_index(frame: np.ndarray, header: Dataset) -> int:
    from pydicom.pixels import apply_color_lut

    try:
        candidates = np.arange(int(frame.max()) + 1, dtype=frame.dtype)
        colours = apply_color_lut(candidates, header).astype(np.float64)
    except Exception:  # noqa: BLE001 - a malformed palette: index 0 is the conventional black
        return 0
    luminance = colours @ np.array([0.299, 0.587, 0.114])
    return int(candidates[int(np.argmin(luminance))])


def _as_sample_values(fill: FillValue, frame: np.ndarray) -> np.ndarray | int | float:
    if frame.ndim == 3:
        values = np.broadcast_to(np.asarray(fill), (frame.shape[2],))
        return values.astype(frame.dtype)
    if isinstance(fill, (list, tuple, np.ndarray)):
        return np.asarray(fill).ravel()[0].astype(frame.dtype)
    return np.asarray(fill).astype(frame.dtype)
