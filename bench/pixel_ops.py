"""Benchmark of the pixel path's domain functions on one core (no Spark), against Tesseract on every
full frame.

    .venv/bin/python bench/pixel_ops.py [--repeat N] [--wall] [--detector default|fast] [file.dcm | folder ...]

Default input: the checked-in generated corpus `tests/data/corpus/` (16 files, 48 frames). Per stage,
frames/s of decode, detection (`locate_regions`), OCR (`read_located`: `ocr_frames` on the detected
regions, in-process Tesseract, and the lines read turned), redaction, encode+write; end to end (their sum) with and without OCR ("remove all text" mode
does not need OCR to decide what to fill); and in the same run, per file, the baseline: Tesseract over
every full frame (`full_frame_ocr`, page segmentation 3) with both bindings, pytesseract (a Tesseract
process per frame, as a script would run it) and tesserocr (in process). Ratios are baseline seconds /
pipeline seconds. Seconds are CPU seconds of this process and its children (the pytesseract baseline
runs in child processes), one core: the machine is shared, and CPU time is what stays comparable
between runs (`--wall` for wall-clock seconds; `--repeat` keeps each file's fastest run).
Prints counts and timings only, never OCR text.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from transforms.pixels.assemble import write_deidentified_file
from transforms.pixels.frames import FrameReader
from transforms.pixels.detect import DEFAULT_SETTINGS, FAST_SETTINGS
from transforms.pixels.analyze import read_located
from transforms.pixels.locate import locate_regions
from transforms.pixels.ocr import OcrCache, full_frame_ocr
from transforms.pixels.prepare import grey_views
from transforms.pixels.redact import redact_tight
from transforms.redaction_policy import fills_to_make

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"
STAGES = ("decode", "detect", "ocr", "redact", "encode+write")
CLOCK = {"cpu": None}
DETECTOR = {"settings": DEFAULT_SETTINGS}


def clock() -> float:
    """CPU seconds of this process and its finished children (or wall seconds with --wall)."""
    if CLOCK["cpu"] is False:
        return time.perf_counter()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_file(path: Path, out_dir: Path) -> tuple[int, dict[str, float], dict[str, int]]:
    """Frames, seconds per stage and baselines, counts for one file (all its frames)."""
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    with FrameReader(path) as reader:
        info, header = reader.info, reader.header
        start = clock()
        frames = [(k, reader.decode_frame(k)) for k in range(reader.frame_count)]
        seconds["decode"] = clock() - start
        start = clock()
        views = [grey_views(frame, info, header) for _, frame in frames]
        located = [(k, v, locate_regions(frame, info, header, DETECTOR["settings"], v))
                   for (k, frame), v in zip(frames, views)]
        seconds["detect"] = clock() - start
        start = clock()
        cache = OcrCache()
        read_located(located, cache=cache)           # as `find_text` reads: lines, turned lines, upside down
        seconds["ocr"] = clock() - start
        start = clock()
        regions = [[box for region in found for box in region.cover(info.rows, info.columns)]
                   for _, _, found in located]
        changed = {k: redact_tight(frame, fills_to_make([], boxes, [], "all", info.rows, info.columns), info,
                                   header=header)
                   for (k, frame), boxes in zip(frames, regions) if boxes}
        seconds["redact"] = clock() - start
        start = clock()
        write_deidentified_file(header, reader, changed, out_dir / path.name)
        seconds["encode+write"] = clock() - start
        for engine in ("pytesseract", "tesserocr"):
            start = clock()
            for v in views:
                full_frame_ocr(v[0].image, engine=engine)
            seconds[f"full_frame_{engine}"] = clock() - start
    counts.update(regions=sum(len(r) for r in regions), crops_read=cache.misses, crops_from_cache=cache.hits,
                  tesseract_calls=cache.tesseract_calls)
    return len(frames), seconds, counts


def best_of(path: Path, out_dir: Path, repeat: int) -> tuple[int, dict[str, float], dict[str, int]]:
    runs = [bench_file(path, out_dir) for _ in range(repeat)]
    frames, _, counts = runs[0]
    return frames, {key: min(run[1][key] for run in runs) for key in runs[0][1]}, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[CORPUS])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU seconds")
    parser.add_argument("--detector", default="default", choices=("default", "fast"))
    args = parser.parse_args()
    CLOCK["cpu"] = not args.wall
    DETECTOR["settings"] = FAST_SETTINGS if args.detector == "fast" else DEFAULT_SETTINGS
    files = [f for p in args.paths for f in (sorted(p.glob("*.dcm")) if p.is_dir() else [p])]
    total: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    frames = 0
    with tempfile.TemporaryDirectory() as out:
        for path in files:
            n, seconds, file_counts = best_of(path, Path(out), args.repeat)
            pipeline = sum(seconds[s] for s in STAGES)
            print(f"{path.name}: {n} frames, {file_counts['regions']} regions, end to end {n / pipeline:.2f} f/s, "
                  f"full-frame pytesseract {n / seconds['full_frame_pytesseract']:.2f} f/s, "
                  f"tesserocr {n / seconds['full_frame_tesserocr']:.2f} f/s")
            frames += n
            for key, value in seconds.items():
                total[key] += value
            for key, value in file_counts.items():
                counts[key] += value
    report(frames, len(files), total, counts)


def report(frames: int, files: int, total: dict[str, float], counts: dict[str, int]) -> None:
    with_ocr = sum(total[s] for s in STAGES)
    without_ocr = with_ocr - total["ocr"]
    rows = [(stage, total[stage]) for stage in STAGES] + [
        ("end to end", with_ocr), ("end to end, no OCR", without_ocr),
        ("full-frame pytesseract", total["full_frame_pytesseract"]),
        ("full-frame tesserocr", total["full_frame_tesserocr"])]
    print(f"\n{frames} frames over {files} files ({'wall-clock' if CLOCK['cpu'] is False else 'CPU'} seconds, one core)")
    for name, seconds in rows:
        print(f"  {name:24s} {frames / seconds:8.2f} frames/s  ({seconds:.2f} s)")
    for baseline in ("pytesseract", "tesserocr"):
        base = total[f"full_frame_{baseline}"]
        print(f"  end to end vs full-frame {baseline}: {base / with_ocr:.2f}x "
              f"(without OCR {base / without_ocr:.2f}x)")
    print(f"  regions {counts['regions']}, crops read {counts['crops_read']}, from the cache "
          f"{counts['crops_from_cache']}, Tesseract calls {counts['tesseract_calls']}")


if __name__ == "__main__":
    main()
