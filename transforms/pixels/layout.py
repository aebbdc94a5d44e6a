"""What a file states about the layout of its frames: where the clinical image is.

Ultrasound files describe their screen in SequenceOfUltrasoundRegions (PS3.3 C.8.5.5): each item is a
rectangle of the frame holding image data (2D tissue or flow, M-mode, spectral Doppler, waveforms) or
graphics. Text outside the image regions is the vendor's band (patient banner, probe, preset, depth,
MI/TI), where no anatomy can be damaged; text inside them is an annotation over the anatomy, judged like
any other, and there a detector's hit in speckle must show real evidence of text before it is filled.

A sequence that does not fit the frame (a region reaching past its rows or columns: files resized
after acquisition keep the original geometry, as two of pydicom's samples do) says nothing about this
pixel matrix and is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset

from transforms.text_types import Box

IMAGE_FORMATS = frozenset({1, 2, 3, 4})   # RegionSpatialFormat: 2D, M-mode, spectral, waveform (5: graphics)


def clinical_regions(header: Dataset | None, rows: int, columns: int) -> tuple[Box, ...] | None:
    """The frame's image regions, or None when the file states none that fit the frame (then every
    part of the frame may hold anatomy)."""
    if header is None or "SequenceOfUltrasoundRegions" not in header:
        return None
    regions = []
    try:
        for item in header.SequenceOfUltrasoundRegions:
            if int(item.get("RegionSpatialFormat", 0) or 0) not in IMAGE_FORMATS:
                continue
            left, top = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            right, bottom = int(item.RegionLocationMaxX1) + 1, int(item.RegionLocationMaxY1) + 1
            if not (0 <= left < right <= columns and 0 <= top < bottom <= rows):
                return None
            regions.append(Box(left, top, right - left, bottom - top))
    except (AttributeError, TypeError, ValueError):
        return None
    return tuple(regions) or None


def in_clinical_area(box: Box, regions: Sequence[Box] | None) -> bool:
    """At least half of the box lies inside an image region (anywhere, when the layout is unknown)."""
    if regions is None:
        return True
    area = max(box.width * box.height, 1)
    return any(_overlap(box, region) >= 0.5 * area for region in regions)


def _overlap(a: Box, b: Box) -> int:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    return max(width, 0) * max(height, 0)
