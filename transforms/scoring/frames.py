"""Frames of a DICOM file, one at a time, as the stored values a viewer starts from.

Colour is converted to RGB (a YBR JPEG and its RGB source compare value for value); monochrome is
left as stored (no rescale or window), so equal stored values mean untouched pixels. Deflated
files cannot be streamed by pydicom (the whole dataset is inflated first), so they are decoded whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pydicom
import pydicom.uid as uid
from pydicom.dataset import Dataset
from pydicom.pixels import iter_pixels



class PixelReadError(Exception):
    """The pixels cannot be decoded; `reason` is machine-readable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PixelGeometry:
    rows: int
    columns: int
    frames: int
    samples_per_pixel: int
    bits_stored: int
    sop_class_uid: str
    transfer_syntax_uid: str


def geometry_of(ds: Dataset) -> PixelGeometry:
    meta = getattr(ds, "file_meta", None)
    return PixelGeometry(
        rows=int(ds.get("Rows", 0) or 0), columns=int(ds.get("Columns", 0) or 0),
        frames=int(ds.get("NumberOfFrames", 1) or 1), samples_per_pixel=int(ds.get("SamplesPerPixel", 1) or 1),
        bits_stored=int(ds.get("BitsStored", 0) or 0), sop_class_uid=str(ds.get("SOPClassUID", "")),
        transfer_syntax_uid=str(meta.get("TransferSyntaxUID", "")) if meta is not None else "",
    )


def iter_frames(path: str | os.PathLike, geometry: PixelGeometry) -> Iterator[np.ndarray]:
    """Yield each frame in native byte order; raises PixelReadError when it cannot be decoded."""
    try:
        if geometry.transfer_syntax_uid == uid.DeflatedExplicitVRLittleEndian:
            yield from _whole_file_frames(path, geometry)
            return
        for frame in iter_pixels(path):
            yield _native(frame)
    except PixelReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure: the file is scored unreadable
        raise PixelReadError(f"pixel_decode_failed:{type(exc).__name__}") from exc


def _whole_file_frames(path: str | os.PathLike, geometry: PixelGeometry) -> Iterator[np.ndarray]:
    array = pydicom.dcmread(path).pixel_array
    if geometry.frames == 1:
        array = array[None]
    for frame in array:
        yield _native(frame)


def _native(frame: np.ndarray) -> np.ndarray:
    return frame if frame.dtype.isnative else frame.astype(frame.dtype.newbyteorder("="))


def overlay_plane(ds: Dataset, group: int) -> np.ndarray | None:
    """The overlay bitmap (0/1) of a group, or None when the output has no such overlay."""
    if (group << 16 | 0x3000) not in ds:
        return None
    try:
        return ds.overlay_array(group).astype(np.uint8)
    except Exception:  # noqa: BLE001 - a broken overlay counts as absent
        return None
