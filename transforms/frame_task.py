"""One frame task: a run of frames of one file, from stored pixels to redacted, re-encoded frames.

This is the unit the Spark pixel step distributes (`transforms/spark/pixels.py`): decode the frames one
at a time from the raw store, find text (detection, then OCR on candidates only), decide which boxes to
fill (every text region, or all but the text known to be safe: `transforms.redaction_policy`), fill them
on the stored values, and encode each changed frame in the file's planned output syntax into a staging
file. It returns only PHI-free records: box geometry, confidences, categories and keyed hashes of the
text.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transforms.keyring import Keyring
from transforms.modes import RedactMode, choices
from transforms.phi.errors import RecognizerError
from transforms.pixels.analyze import FrameText, TurnedLine, find_text
from transforms.pixels.encode import encode_frame, plan_encoding
from transforms.pixels.frames import FrameReader, UndecodableFrameError
from transforms.pixels.ocr import OCR_TEXT_PURPOSE, OcrCache, OcrSettings
from transforms.pixels.glyphs import Fill, tight_boxes
from transforms.pixels.layout import clinical_regions, in_clinical_area
from transforms.pixels.redact import redact_regions, redact_tight
from transforms.redaction_policy import fills_to_make, reads_as_nothing
from transforms.text_types import Box, PhiSpan, TextLine

REDACT_MODES = choices(RedactMode)

PhiFinder = Callable[[Sequence[TextLine]], list[PhiSpan]]


class FrameTaskError(Exception):
    """A frame could not be processed: the whole file is quarantined with `reason` (no values)."""

    def __init__(self, reason: str, frame: int | None = None):
        super().__init__(reason if frame is None else f"{reason} (frame {frame})")
        self.reason = reason
        self.frame = frame


@dataclass(frozen=True)
class BoxRecord:
    """A text box of one frame, as silver may store it (no text)."""

    frame: int
    box: Box
    confidence: float | None       # None: the region was not read ("all" mode)
    text_hash: str | None
    is_phi: bool
    category: str | None
    source: str | None
    redacted: bool


@dataclass
class FrameTaskResult:
    first_frame: int
    stop_frame: int
    changed_frames: list[int] = field(default_factory=list)
    boxes: list[BoxRecord] = field(default_factory=list)
    ocr_hits: int = 0
    ocr_misses: int = 0
    tesseract_calls: int = 0
    seconds: float = 0.0


def frame_staging_path(staging_dir: str | os.PathLike, index: int) -> Path:
    return Path(staging_dir) / f"{index:06d}.frame"


def process_frames(raw_path: str, first: int, stop: int, mode: str, keyring: Keyring, staging_dir: str,
                   find_phi: PhiFinder | None = None, lossy_jpeg_policy: str = "same_syntax",
                   cache: OcrCache | None = None, read: Sequence[FrameText] | None = None) -> FrameTaskResult:
    """Redact frames [first, stop) of `raw_path`; changed frames go to `staging_dir` already encoded.
    `read`: the text of these frames as `read_frame_texts` found it (the Spark NLP engine reads first and
    recognises in between); only the frames that change are decoded again then."""
    if mode not in REDACT_MODES:
        raise ValueError(f"redaction mode must be one of {REDACT_MODES}")
    if mode == "phi" and find_phi is None:
        raise ValueError("phi mode needs a PHI finder")
    started = time.perf_counter()
    cache = cache if cache is not None else OcrCache()
    known = {found.index: found for found in read} if read is not None else None
    result = FrameTaskResult(first, stop)
    try:
        with FrameReader(raw_path) as reader:
            info, header = reader.info, reader.header
            plan = plan_encoding(info, True, lossy_jpeg_policy)   # what a changed frame is written as
            clinical = clinical_regions(header, info.rows, info.columns)
            for index in range(first, stop):
                if known is None:
                    frame = reader.decode_frame(index)            # one frame in memory at a time
                    found = _frame_text(index, frame, info, header, cache, mode)
                else:
                    frame, found = None, known[index]
                fills, turned, records = _choose_fills(found, mode, keyring, find_phi, info.rows, info.columns,
                                                       clinical)
                result.boxes.extend(records)
                if fills or turned:
                    frame = frame if frame is not None else reader.decode_frame(index)
                    redacted = redact_tight(frame, fills, info, header=header)
                    if turned:
                        redacted = redact_regions(redacted, _turned_glyph_boxes(frame, turned), info, padding=0,
                                                  header=header)
                    _write_frame(staging_dir, index, encode_frame(redacted, info, plan, reader, index))
                    result.changed_frames.append(index)
    except UndecodableFrameError as exc:
        raise FrameTaskError(exc.reason, getattr(exc, "frame", None)) from exc
    except RecognizerError as exc:
        raise FrameTaskError(f"recognizer:{exc.reason}") from exc
    result.ocr_hits, result.ocr_misses, result.tesseract_calls = cache.hits, cache.misses, cache.tesseract_calls
    result.seconds = time.perf_counter() - started
    return result


def read_frame_texts(raw_path: str, first: int, stop: int, cache: OcrCache | None = None) -> list[FrameText]:
    """The text found and read in frames [first, stop) ("phi" mode's reading), nothing changed: the
    first half of a frame task when the recognizer runs elsewhere (the Spark NLP engine's JVM stage)."""
    cache = cache if cache is not None else OcrCache()
    found = []
    try:
        with FrameReader(raw_path) as reader:
            for index in range(first, stop):
                found.append(_frame_text(index, reader.decode_frame(index), reader.info, reader.header, cache, "phi"))
    except UndecodableFrameError as exc:
        raise FrameTaskError(exc.reason, getattr(exc, "frame", None)) from exc
    return found


def _frame_text(index: int, frame, info, header, cache: OcrCache, mode: str) -> FrameText:
    # "all" mode fills every region without reading it: no OCR (its records carry geometry only).
    return find_text([(index, frame)], info, header, cache, ocr_settings=OcrSettings() if mode == "phi" else None)[0]


def _choose_fills(found: FrameText, mode: str, keyring: Keyring, find_phi: PhiFinder | None, rows: int,
                  columns: int, clinical: tuple[Box, ...] | None = None
                  ) -> tuple[list[Fill], list[tuple[TurnedLine, list[Fill]]], list[BoxRecord]]:
    """What to fill (frame `Fill`s of upright lines; turned lines' `Fill`s in their upright view) and
    the records of every line. In "phi" mode a line that reads as nothing is left alone where only the
    learned detector saw text in it and it may lie over anatomy (`clinical`: the file's image regions,
    None when it states none): texture, not text."""
    lines = found.lines
    if mode == "phi":
        lines = tuple(line for line in found.lines
                      if not _texture(line, line.region not in found.glyphless, line.region, clinical))
    phi_spans = find_phi(lines) if mode == "phi" else []
    read = {line.region for line in found.lines}
    unread = [region for region in found.regions if region not in read]
    fills = fills_to_make(lines, unread, phi_spans, mode, rows, columns)
    pieces = [piece for fill in fills for piece in fill.pieces]
    records = [_line_record(found.index, line, phi_spans, keyring, pieces) for line in found.lines]
    turned_fills: list[tuple[TurnedLine, list[Fill]]] = []
    for turned in found.turned:          # judged and filled in its upright view, mapped back to the frame
        if mode == "phi" and _texture(turned.line, turned.region.glyphs, turned.region.box, clinical):
            records.append(_line_record(found.index, turned.line, [], keyring, [], turned.region.box))
            continue
        spans = find_phi([turned.line]) if mode == "phi" else []
        upright = fills_to_make([turned.line], [], spans, mode, *turned.reading.canvas_shape)
        if upright:
            turned_fills.append((turned, upright))
        records.append(_line_record(found.index, turned.line, spans, keyring,
                                    [piece for fill in upright for piece in fill.pieces], turned.region.box))
    return fills, turned_fills, records


def _turned_glyph_boxes(frame: np.ndarray, turned: list[tuple[TurnedLine, list[Fill]]]) -> list[Box]:
    """Frame boxes over the glyphs of turned lines' fills: brought down to the glyphs in the upright view
    (where `tight_boxes` sees lines and words as it does in upright text), then mapped back."""
    boxes: list[Box] = []
    for line, fills in turned:
        canvas = line.reading.canvas(frame)
        boxes += line.to_frame([box for fill in fills for box in tight_boxes(canvas, fill)])
    return boxes


def _texture(line: TextLine, glyphs: bool, where: Box, clinical: tuple[Box, ...] | None) -> bool:
    return reads_as_nothing(line) and not glyphs and in_clinical_area(where, clinical)


def _line_record(frame: int, line: TextLine, spans: list[PhiSpan], keyring: Keyring,
                 filled: list[Box], frame_box: Box | None = None) -> BoxRecord:
    # A span belongs to the line whose words it covers (line regions are padded and may touch the
    # neighbouring line; word boxes do not). `frame_box`: where a turned line lies in the frame.
    hits = [s for s in spans if any(b.overlaps(w.box) for b in s.boxes for w in line.words)]
    confidences = [w.confidence for w in line.words]
    return BoxRecord(
        frame=frame, box=frame_box or line.region,
        confidence=float(sum(confidences) / len(confidences)) if confidences else None,
        text_hash=keyring.hexdigest(OCR_TEXT_PURPOSE, line.text) if line.words else None,
        is_phi=bool(hits), category=hits[0].category if hits else None,
        source=hits[0].source if hits else None,
        redacted=any(b.overlaps(line.region) for b in filled),
    )


def _write_frame(staging_dir: str, index: int, data: bytes) -> None:
    path = frame_staging_path(staging_dir, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
