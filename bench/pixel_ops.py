"""Micro-benchmark of the pixel path's domain functions on one core (no Spark).

    .venv/bin/python bench/pixel_ops.py [file.dcm ...]

Per stage frames/s (decode, detect, OCR, redact, encode+write), end to end, and the baseline of
Tesseract on every full frame, over the given files (default: the real samples with burned-in text).
Prints counts and timings only, never OCR text.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from pydicom.data import get_testdata_file

from transforms.pixels.analyze import find_text, regions_to_redact
from transforms.pixels.assemble import write_deidentified_file
from transforms.pixels.frames import FrameReader
from transforms.pixels.ocr import OcrCache, full_frame_ocr
from transforms.pixels.prepare import grey_views
from transforms.pixels.redact import redact_regions

PRESIDIO = "/work/shared/reference/dicom-samples/presidio/"
DEFAULT_FILES = [PRESIDIO + "0_ORIGINAL_compressed.dcm", PRESIDIO + "2_ORIGINAL.dcm",
                 get_testdata_file("examples_ybr_color.dcm"), get_testdata_file("examples_palette.dcm"),
                 get_testdata_file("examples_jpeg2k.dcm"), get_testdata_file("examples_rgb_color.dcm")]


def bench_file(path: str, out_dir: Path, seconds: dict, counts: dict) -> None:
    with FrameReader(path) as reader:
        t0 = time.perf_counter()
        frames = [(k, reader.decode_frame(k)) for k in range(reader.frame_count)]
        t1 = time.perf_counter()
        cache = OcrCache()
        found = find_text(frames, reader.info, reader.header, cache)        # detection + OCR
        t2 = time.perf_counter()
        changed = {}
        for (k, frame), text in zip(frames, found):
            boxes = regions_to_redact(text)
            if boxes:
                changed[k] = redact_regions(frame, boxes, reader.info, header=reader.header)
        t3 = time.perf_counter()
        decision = write_deidentified_file(reader.header, reader, changed, out_dir / Path(path).name)
        t4 = time.perf_counter()
        for k, frame in frames:
            full_frame_ocr(grey_views(frame, reader.info, reader.header)[0].image)
        t5 = time.perf_counter()
    n = len(frames)
    for stage, dt in (("decode", t1 - t0), ("detect+ocr", t2 - t1), ("redact", t3 - t2),
                      ("encode+write", t4 - t3), ("end_to_end", t4 - t0), ("full_frame_tesseract", t5 - t4)):
        seconds[stage] += dt
    counts["frames"] += n
    counts["ocr_cache_hits"] += cache.hits
    counts["ocr_cache_misses"] += cache.misses
    counts["tesseract_calls"] += cache.tesseract_calls
    print(f"{Path(path).name}: {n} frames, {sum(len(f.regions) for f in found)} regions, "
          f"cache {cache.hits}/{cache.hits + cache.misses} hits, {cache.tesseract_calls} calls, "
          f"end to end {n / (t4 - t0):.2f} f/s vs full-frame OCR {n / (t5 - t4):.2f} f/s, {decision.reason}")


def main(argv: list[str]) -> None:
    files = argv or DEFAULT_FILES
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory() as out:
        for path in files:
            bench_file(path, Path(out), seconds, counts)
    frames = counts["frames"]
    print(f"\n{frames} frames over {len(files)} files")
    for stage, dt in seconds.items():
        print(f"  {stage:22s} {frames / dt:8.2f} frames/s  ({dt:.2f} s)")
    print(f"  end to end / full-frame baseline: {seconds['full_frame_tesseract'] / seconds['end_to_end']:.2f}x")
    print(f"  OCR cache hits {counts['ocr_cache_hits']}, misses {counts['ocr_cache_misses']}, "
          f"Tesseract calls {counts['tesseract_calls']}")


if __name__ == "__main__":
    main(sys.argv[1:])
