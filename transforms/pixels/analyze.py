"""The detection-then-OCR pass over the frames of one task, and what "remove all text" redacts.

A Spark frame task calls `find_text` once with all its frames: detection runs per frame (fast, numpy/
OpenCV), OCR runs over the candidate regions of all the frames in as few Tesseract calls as possible,
and the per-file `OcrCache` makes a cine overlay repeated on every frame cost one recognition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.detect import DEFAULT_SETTINGS, DetectorSettings
from transforms.pixels.locate import locate_text
from transforms.pixels.frames import PixelInfo
from transforms.pixels.ocr import OcrCache, OcrSettings, ocr_frames
from transforms.pixels.prepare import grey_views
from transforms.text_types import Box, TextLine


@dataclass(frozen=True)
class FrameText:
    """Text found in one frame: detected regions and the lines read in them (identified: in memory)."""

    index: int
    regions: tuple[Box, ...]
    lines: tuple[TextLine, ...]


def find_text(frames: Sequence[tuple[int, np.ndarray]], info: PixelInfo, header: Dataset | None = None,
              cache: OcrCache | None = None, ocr_settings: OcrSettings | None = OcrSettings(),
              detector: DetectorSettings = DEFAULT_SETTINGS) -> list[FrameText]:
    """Locate text regions in each (index, stored frame) and read them; OCR runs on the luminance or
    display view (the first view) and reads weakly read regions again in the other views; detection
    runs on every view. `ocr_settings=None` locates only (lines without words): "remove all text" fills
    every region without needing to read it."""
    prepared = []
    for index, frame in frames:
        views = grey_views(frame, info, header)
        prepared.append((index, views, tuple(locate_text(frame, info, header, detector, views))))
    if ocr_settings is None:
        read = [[TextLine(region) for region in regions] for _, _, regions in prepared]
    else:
        read = ocr_frames([(views[0].image, regions) for _, views, regions in prepared], ocr_settings, cache,
                          alternate_views=[[view.image for view in views[1:]] for _, views, _ in prepared])
    return [FrameText(index, regions, tuple(lines)) for (index, _, regions), lines in zip(prepared, read)]


def regions_to_redact(found: FrameText, mode: str = "all_text", min_confidence: float = 0.0) -> list[Box]:
    """Boxes to fill in one frame.

    "all_text" fills every detected region, read or not: a region OCR cannot read may still be legible
    to a person, so recall comes first. "confirmed_text" fills only regions where OCR read at least
    one word of two or more letters or digits with `min_confidence` (fewer false fills on anatomy).
    """
    if mode == "all_text":
        return list(found.regions)
    if mode == "confirmed_text":
        return [line.region for line in found.lines if _confirmed(line, min_confidence)]
    raise ValueError(f"unknown redaction mode {mode!r}")


def _confirmed(line: TextLine, min_confidence: float) -> bool:
    return any(sum(ch.isalnum() for ch in word.text) >= 2 and word.confidence >= min_confidence
               for word in line.words)


def all_words(found: Iterable[FrameText]):
    """Every OCR word of the given frames (for the PHI recognizer and the silver rows)."""
    return [word for frame in found for line in frame.lines for word in line.words]
