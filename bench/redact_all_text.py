"""Redact every detected text region of a corpus ("remove all text" mode), without Spark, for the scorer.

    .venv/bin/python bench/redact_all_text.py CORPUS_DIR OUT_DIR [--mode all_text|confirmed_text]
    .venv/bin/python -m transforms.scoring.cli --truth CORPUS_DIR --deidentified OUT_DIR --no-dciodvfy

Per file: every frame decoded with `FrameReader`, `find_text` over the frames (a batch at a time, as a
frame task would), `regions_to_redact` as the redaction policy's fills, `redact_tight` (the frame
task's fill: the glyphs of each region, grown by 2 px), and `write_deidentified_file` with the
file's own header (pixel data and overlay planes dropped). Headers are not de-identified here, so the
scorer's header leaks are expected: read its pixel PHI recall, non-PHI kept, integrity and non-text
pixels changed.
Prints counts and timings only, never OCR text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from transforms.pixels.analyze import FrameText, find_text, regions_to_redact
from transforms.pixels.detect import DEFAULT_SETTINGS, FAST_SETTINGS, DetectorSettings
from transforms.pixels.assemble import write_deidentified_file
from transforms.pixels.frames import FrameReader
from transforms.pixels.ocr import OcrCache, OcrSettings, full_frame_ocr
from transforms.pixels.prepare import grey_views
from transforms.pixels.redact import redact_tight
from transforms.redaction_policy import fills_to_make

FRAMES_PER_TASK = 8


def redact_file(path: Path, out_dir: Path, mode: str, detector: DetectorSettings = DEFAULT_SETTINGS,
                read: bool = True) -> tuple[int, int, float]:
    """(frames, regions filled, seconds) for one file."""
    start = time.perf_counter()
    filled = 0
    with FrameReader(path) as reader:
        info = reader.info
        cache = OcrCache()
        changed = {}
        for first in range(0, reader.frame_count, FRAMES_PER_TASK):
            frames = list(reader.iter_frames(first, min(first + FRAMES_PER_TASK, reader.frame_count)))
            if mode == "full_frame_tesseract":
                found_text = [_full_frame_words(index, frame, reader) for index, frame in frames]
                mode_of_regions = "all_text"
            else:
                found_text = find_text(frames, info, reader.header, cache,
                                       OcrSettings() if read else None, detector)
                mode_of_regions = mode
            for (index, frame), found in zip(frames, found_text):
                fills = fills_to_make([], regions_to_redact(found, mode_of_regions), [], "all", info.rows,
                                      info.columns)
                filled += len(fills)
                if fills:
                    changed[index] = redact_tight(frame, fills, info, header=reader.header)
        write_deidentified_file(header_without_pixels(path), reader, changed, out_dir / path.name)
        return reader.frame_count, filled, time.perf_counter() - start


def _full_frame_words(index: int, frame, reader: FrameReader) -> FrameText:
    """The baseline as a redactor: every word box Tesseract reads on the whole display view."""
    lines = full_frame_ocr(grey_views(frame, reader.info, reader.header)[0].image, engine="tesserocr")
    return FrameText(index, tuple(w.box for line in lines for w in line.words), ())


def header_without_pixels(path: Path) -> Dataset:
    """The file's own header, read in full (the reader's header defers large values), with the overlay
    groups dropped as the header de-identification does: overlay text is not the pixel path's job."""
    header = pydicom.dcmread(path, stop_before_pixels=True)
    for tag in [tag for tag in header.keys() if 0x6000 <= tag.group <= 0x601E and tag.group % 2 == 0]:
        del header[tag]
    return header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", default="all_text", choices=("all_text", "confirmed_text", "full_frame_tesseract"),
                        help="full_frame_tesseract: fill the word boxes Tesseract reads on each whole frame")
    parser.add_argument("--detector", default="default", choices=("default", "fast"))
    parser.add_argument("--no-ocr", action="store_true", help="locate only (all-text mode needs no OCR)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total_frames, total_seconds = 0, 0.0
    for path in sorted(args.corpus.glob("*.dcm")):
        detector = FAST_SETTINGS if args.detector == "fast" else DEFAULT_SETTINGS
        frames, filled, seconds = redact_file(path, args.out, args.mode, detector, not args.no_ocr)
        total_frames += frames
        total_seconds += seconds
        print(f"{path.name}: {frames} frames, {filled} regions filled, {seconds:.2f} s")
    print(f"{total_frames} frames in {total_seconds:.1f} s ({total_frames / total_seconds:.2f} frames/s)")


if __name__ == "__main__":
    main()
