"""Shared helpers of the benchmarks: medians, JSON + table output, a corpus of distinct DICOM files."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.uid import generate_uid

PYDICOM_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent
# Bundled files that ingest cleanly, across modalities and transfer syntaxes.
SEED_FILES = ("CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
              "JPEG2000.dcm", "SC_rgb_rle_2frame.dcm", "examples_ybr_color.dcm", "rtplan.dcm",
              "test-SR.dcm", "examples_overlay.dcm", "693_J2KI.dcm", "liver_1frame.dcm")


def distinct_copies(out: Path, count: int, seeds: tuple[str, ...] = SEED_FILES) -> list[Path]:
    """`count` files with distinct bytes (new SOP Instance UIDs), cycling through the seed files."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        seed = seeds[i % len(seeds)]
        ds = pydicom.dcmread(PYDICOM_FILES / seed)
        ds.SOPInstanceUID = generate_uid(entropy_srcs=[seed, str(i)])
        if "file_meta" in ds.__dict__ or hasattr(ds, "file_meta"):
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = out / f"{i:05d}_{seed}"
        ds.save_as(path)
        paths.append(path)
    return paths


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, figures: dict, rows: list[tuple], headers: tuple[str, ...]) -> None:
    """JSON for machines (one line), then a short table for people."""
    print(json.dumps({"benchmark": name, **figures}, default=str))
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def median(values: list[float]) -> float:
    return statistics.median(values)
