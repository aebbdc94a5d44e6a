"""The detection-then-OCR pass over the frames of one task, and what "remove all text" redacts.

A Spark frame task calls `find_text` once with all its frames: detection runs per frame (fast, numpy/
OpenCV), OCR runs over the candidate regions of all the frames in as few Tesseract calls as possible,
and the per-file `OcrCache` makes a cine overlay repeated on every frame cost one recognition.

Text in other orientations (`orient.py`) is read in a turned view of the frame: a rotated region in
both directions along it, once each, and the better reading is read again through the whole cascade; a
horizontal line whose reading stays weak is read once turned half way round, and kept that way when
it reads clearly better so (text upside down). Such lines are `TurnedLine`s: their words and regions
are in the turned view's coordinates, so the recognizer and the redaction policy judge them as they do
horizontal text, and what they fill is mapped back to the frame (`TurnedLine.to_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.detect import DEFAULT_SETTINGS, DetectorSettings
from transforms.pixels.frames import PixelInfo
from transforms.pixels.locate import locate_regions
from transforms.pixels.ocr import OcrCache, OcrSettings, ocr_frames, reading_score
from transforms.pixels.orient import Reading, TextRegion, readings_of, upside_down
from transforms.pixels.prepare import GreyView, grey_views
from transforms.text_types import Box, TextLine

FLIP_MIN_SCORE = 60.0     # a line read turned half way is kept so when it reads at least this well ...
FLIP_MARGIN = 15.0        # ... and this much better than upright (garbage of a turned line scores 25-62)
PROBE_BELOW = 80.0        # a line is read turned half way when it reads below this (`reading_score`) ...
UNREAD_WORD = 50.0        # ... with a word under this confidence, or nothing at all
MIN_FLIP_ASPECT = 2.0     # a line shorter than this many heights (one or two glyphs) has no telling direction


@dataclass(frozen=True)
class TurnedLine:
    """A line read in a turned view: where it lies in the frame, the view, and the line (region and
    words) in the view's coordinates (identified while it holds words: in memory)."""

    region: TextRegion
    reading: Reading
    line: TextLine

    def to_frame(self, boxes: Iterable[Box]) -> list[Box]:
        """Frame boxes covering boxes of the turned view."""
        return [part for box in boxes for part in self.reading.to_frame(box)]


@dataclass(frozen=True)
class FrameText:
    """Text found in one frame: detected horizontal regions and the lines read in them, and the lines
    read turned (identified: in memory)."""

    index: int
    regions: tuple[Box, ...]
    lines: tuple[TextLine, ...]
    turned: tuple[TurnedLine, ...] = ()
    glyphless: frozenset[Box] = frozenset()   # regions of `regions` only the learned detector found

    @property
    def read_lines(self) -> tuple[TextLine, ...]:
        """Every line read, upright and turned: the lines a PHI finder is asked about (`frame_task`
        judges each turned line in its upright view). An engine that annotates ahead needs them all."""
        return self.lines + tuple(turned.line for turned in self.turned)


def find_text(frames: Sequence[tuple[int, np.ndarray]], info: PixelInfo, header: Dataset | None = None,
              cache: OcrCache | None = None, ocr_settings: OcrSettings | None = OcrSettings(),
              detector: DetectorSettings = DEFAULT_SETTINGS) -> list[FrameText]:
    """Locate text regions in each (index, stored frame) and read them; OCR runs on the luminance or
    display view (the first view) and reads weakly read regions again in the other views; detection
    runs on every view. `ocr_settings=None` locates only (lines without words): "remove all text" fills
    every region without needing to read it."""
    located = []
    for index, frame in frames:
        views = grey_views(frame, info, header)
        located.append((index, views, locate_regions(frame, info, header, detector, views)))
    return read_located(located, ocr_settings, cache)


def read_located(located: Sequence[tuple[int, list[GreyView], list[TextRegion]]],
                 ocr_settings: OcrSettings | None = OcrSettings(), cache: OcrCache | None = None) -> list[FrameText]:
    """The OCR half of `find_text`, over (index, views, regions) of located frames."""
    cache = cache if cache is not None else OcrCache()
    upright = [[r for r in regions if not r.rotated] for _, _, regions in located]
    if ocr_settings is None:
        return [FrameText(index, tuple(r.box for r in straight), tuple(TextLine(r.box) for r in straight),
                          tuple(_unread(region, views) for region in regions if region.rotated),
                          frozenset(r.box for r in straight if not r.glyphs))
                for (index, views, regions), straight in zip(located, upright)]
    read = ocr_frames([(views[0].image, [r.box for r in straight]) for (_, views, _), straight in zip(located, upright)],
                      ocr_settings, cache, alternate_views=[[view.image for view in views[1:]] for _, views, _ in located])
    found = []
    for (index, views, regions), straight, lines in zip(located, upright, read):
        turned = [_read_turned(region, views, ocr_settings, cache) for region in regions if region.rotated]
        kept, kept_lines, flipped = _upside_down_lines(straight, lines, views, ocr_settings, cache)
        found.append(FrameText(index, tuple(r.box for r in kept), kept_lines, tuple(turned + flipped),
                               frozenset(r.box for r in kept if not r.glyphs)))
    return found


def _unread(region: TextRegion, views: list[GreyView]) -> TurnedLine:
    reading = readings_of(region, *views[0].image.shape)[0]
    return TurnedLine(region, reading, TextLine(reading.region_in_canvas(region)))


def _read_turned(region: TextRegion, views: list[GreyView], settings: OcrSettings, cache: OcrCache) -> TurnedLine:
    """A rotated region read in both directions along it (one reading each), then the better direction
    through the whole cascade."""
    rows, columns = views[0].image.shape
    first_only = replace(settings, retry_below=0)
    tries = []
    for reading in readings_of(region, rows, columns):
        box = reading.region_in_canvas(region)
        line = ocr_frames([(reading.canvas(views[0].image), [box])], first_only, cache)[0][0]
        tries.append((reading_score(line), reading, box))
    _, reading, box = max(tries, key=lambda t: t[0])
    line = ocr_frames([(reading.canvas(views[0].image), [box])], settings, cache,
                      alternate_views=[[reading.canvas(view.image) for view in views[1:]]])[0][0]
    return TurnedLine(region, reading, line)


def _upside_down_lines(regions: list[TextRegion], lines: list[TextLine], views: list[GreyView], settings: OcrSettings,
                       cache: OcrCache) -> tuple[list[TextRegion], tuple[TextLine, ...], list[TurnedLine]]:
    """Horizontal lines of a few glyphs at least, read weakly with a word that could not be read (or
    nothing), read once turned half way round; those that read clearly better so (`FLIP_MIN_SCORE`,
    `FLIP_MARGIN`) are read through the cascade turned and returned as turned lines, the rest stay as they
    were. Text upside down often reads as partly confident garbage ("ACC A99817" as "LT866V DOV", 90 and
    26: 63 as a line), so a weak word, not the line's score alone, asks for the second direction."""
    weak = [k for k, line in enumerate(lines)
            if line.region.width >= MIN_FLIP_ASPECT * line.region.height and reading_score(line) < PROBE_BELOW
            and (not line.words or min(w.confidence for w in line.words) < UNREAD_WORD)]
    if not weak:
        return regions, tuple(lines), []
    reading = upside_down(*views[0].image.shape)
    canvas = reading.canvas(views[0].image)
    turned_boxes = [reading.box_in_canvas(regions[k].box) for k in weak]
    probes = ocr_frames([(canvas, turned_boxes)], replace(settings, retry_below=0), cache)[0]
    better = [(k, box) for k, box, probe in zip(weak, turned_boxes, probes)
              if reading_score(probe) >= max(FLIP_MIN_SCORE, reading_score(lines[k]) + FLIP_MARGIN)]
    if not better:
        return regions, tuple(lines), []
    read = ocr_frames([(canvas, [box for _, box in better])], settings, cache,
                      alternate_views=[[reading.canvas(view.image) for view in views[1:]]])[0]
    flipped = [TurnedLine(regions[k], reading, line) for (k, _), line in zip(better, read)]
    moved = {k for k, _ in better}
    return ([r for k, r in enumerate(regions) if k not in moved],
            tuple(line for k, line in enumerate(lines) if k not in moved), flipped)


def regions_to_redact(found: FrameText, mode: str = "all_text", min_confidence: float = 0.0) -> list[Box]:
    """Boxes to fill in one frame (turned lines as frame boxes covering them).

    "all_text" fills every detected region, read or not: a region OCR cannot read may still be legible
    to a person, so recall comes first. "confirmed_text" fills only regions where OCR read at least
    one word of two or more letters or digits with `min_confidence` (fewer false fills on anatomy).
    """
    rows, columns = _frame_shape(found)
    if mode == "all_text":
        return list(found.regions) + [box for t in found.turned for box in t.region.cover(rows, columns)]
    if mode == "confirmed_text":
        return [line.region for line in found.lines if _confirmed(line, min_confidence)] + \
            [box for t in found.turned if _confirmed(t.line, min_confidence) for box in t.region.cover(rows, columns)]
    raise ValueError(f"unknown redaction mode {mode!r}")


def _frame_shape(found: FrameText) -> tuple[int, int]:
    if found.turned:
        return found.turned[0].reading.frame_shape
    return (1 << 30, 1 << 30)


def _confirmed(line: TextLine, min_confidence: float) -> bool:
    return any(sum(ch.isalnum() for ch in word.text) >= 2 and word.confidence >= min_confidence
               for word in line.words)


def all_words(found: Iterable[FrameText]):
    """Every OCR word of the given frames (for the PHI recognizer and the silver rows)."""
    return [word for frame in found for line in frame.lines for word in line.words] + \
        [word for frame in found for turned in frame.turned for word in turned.line.words]
