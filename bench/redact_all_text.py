"""Redact every detected text region of a corpus ("remove all text" mode), without Spark, for the scorer.

    .venv/bin/python bench/redact_all_text.py CORPUS_DIR OUT_DIR [--mode all_text|confirmed_text]
    .venv/bin/python -m transforms.scoring.cli --truth CORPUS_DIR --deidentified OUT_DIR --no-dciodvfy

Per file: every frame decoded with `FrameReader`, `find_text` over the frames (a batch at a time, as a
frame task would), `regions_to_redact`, `redact_regions`, and `write_deidentified_file` with the file's
own header (pixel data and overlay planes dropped). Headers are not de-identified here, so the scorer's header leaks are
expected: read its pixel PHI recall, non-PHI kept, integrity and non-text pixels changed.
Prints counts and timings only, never OCR text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from transforms.pixels.analyze import find_text, regions_to_redact
from transforms.pixels.assemble import write_deidentified_file
from transforms.pixels.frames import FrameReader
from transforms.pixels.ocr import OcrCache
from transforms.pixels.redact import redact_regions

FRAMES_PER_TASK = 8


def redact_file(path: Path, out_dir: Path, mode: str) -> tuple[int, int, float]:
    """(frames, regions filled, seconds) for one file."""
    start = time.perf_counter()
    filled = 0
    with FrameReader(path) as reader:
        cache = OcrCache()
        changed = {}
        for first in range(0, reader.frame_count, FRAMES_PER_TASK):
            frames = list(reader.iter_frames(first, min(first + FRAMES_PER_TASK, reader.frame_count)))
            for (index, frame), found in zip(frames, find_text(frames, reader.info, reader.header, cache)):
                boxes = regions_to_redact(found, mode)
                filled += len(boxes)
                if boxes:
                    changed[index] = redact_regions(frame, boxes, reader.info, header=reader.header)
        write_deidentified_file(header_without_pixels(path), reader, changed, out_dir / path.name)
        return reader.frame_count, filled, time.perf_counter() - start


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
    parser.add_argument("--mode", default="all_text", choices=("all_text", "confirmed_text"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total_frames, total_seconds = 0, 0.0
    for path in sorted(args.corpus.glob("*.dcm")):
        frames, filled, seconds = redact_file(path, args.out, args.mode)
        total_frames += frames
        total_seconds += seconds
        print(f"{path.name}: {frames} frames, {filled} regions filled, {seconds:.2f} s")
    print(f"{total_frames} frames in {total_seconds:.1f} s ({total_frames / total_seconds:.2f} frames/s)")


if __name__ == "__main__":
    main()
