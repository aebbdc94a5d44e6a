"""Per-file cost of the gate's header measures, with and without its dciodvfy structure check,
side by side in one run.

Every input is de-identified once (header step only: pixel data copied as read) into a temporary folder;
then each repeat measures every file twice back to back, `measure_candidate(..., dciodvfy="off")` and
`measure_candidate(..., dciodvfy="required")` (dciodvfy on the input and on the output), alternating
which goes first. Wall time per file (dciodvfy is a subprocess), medians over repeats, then the median
and the maximum over files. `--large-frames N` adds one native multi-frame XA of N 1024x1024 frames
(the generator's `--large` file, smaller) to see what dciodvfy pays for a big pixel payload.

    .venv/bin/python bench/gate_header.py [--repeats 5] [--corpus DIR ...] [--large-frames 64] [--json-only]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DEIDLAKE_MODE", "demo")   # the bench never sees real data

import pydicom  # noqa: E402

from bench.metadata_deid import DEFAULT_CORPUS, corpus_files, pydicom_test_files  # noqa: E402
from transforms.deid import DeidError, DeidOptions, deidentify_file  # noqa: E402
from transforms.keyring import Keyring  # noqa: E402
from transforms.leakage import Expected, header_promise, measure_candidate  # noqa: E402
from transforms.metadata import flatten_elements  # noqa: E402
from transforms.phi import PhiRecognizer  # noqa: E402


def prepare(paths: list[Path], out: Path, options: DeidOptions, keyring: Keyring) -> list[tuple]:
    """(input, output, promise, expected) of every file the header step de-identifies."""
    prepared = []
    for index, path in enumerate(paths):
        try:
            data, _ = deidentify_file(path, options, keyring)
            source = pydicom.dcmread(path, stop_before_pixels=True)
            frames = int(source.get("NumberOfFrames", 1) or 1) if "PixelData" in pydicom.dcmread(path) else 0
        except (DeidError, Exception):  # noqa: BLE001 - files the pipeline would quarantine
            continue
        output = out / f"{index:04d}.dcm"
        output.write_bytes(data)
        rows, _ = flatten_elements(copy.deepcopy(source))
        expected = Expected(source.get("Rows"), source.get("Columns"), frames, str(source.get("SOPClassUID", "")),
                            str(pydicom.dcmread(output, stop_before_pixels=True).file_meta.TransferSyntaxUID),
                            str(path))
        prepared.append((path, output, header_promise(rows, options), expected))
    return prepared


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", type=Path, nargs="*", default=[DEFAULT_CORPUS])
    parser.add_argument("--large-frames", type=int, default=0)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    options, keyring, recognizer = DeidOptions(), Keyring.from_env(), PhiRecognizer()
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        paths = pydicom_test_files() + corpus_files(args.corpus)
        if args.large_frames:
            from transforms.synth.large import write_large_file

            (Path(tmp) / "large").mkdir()
            paths.append(write_large_file(Path(tmp) / "large", seed=7, frames=args.large_frames))
        out = Path(tmp) / "out"
        out.mkdir()
        files = prepare(paths, out, options, keyring)
        per_file = {str(f[0]): {"off": [], "dciodvfy": [], "bytes": f[0].stat().st_size} for f in files}
        for repeat in range(args.repeats):
            for path, output, promise, expected in files:
                runs = {"off": lambda: measure_candidate(str(output), promise, expected, recognizer, "off"),
                        "dciodvfy": lambda: measure_candidate(str(output), promise, expected, recognizer, "required")}
                for name in (("off", "dciodvfy") if repeat % 2 == 0 else ("dciodvfy", "off")):
                    per_file[str(path)][name].append(timed(runs[name]))
    medians = {path: {name: statistics.median(v[name]) for name in ("off", "dciodvfy")} | {"bytes": v["bytes"]}
               for path, v in per_file.items()}
    off = [m["off"] for m in medians.values()]
    on = [m["dciodvfy"] for m in medians.values()]
    largest = max(medians.items(), key=lambda item: item[1]["bytes"])
    result = {"files": len(medians), "repeats": args.repeats,
              "median_ms_per_file": {"off": round(1000 * statistics.median(off), 1),
                                     "dciodvfy": round(1000 * statistics.median(on), 1)},
              "max_ms_per_file": {"off": round(1000 * max(off), 1), "dciodvfy": round(1000 * max(on), 1)},
              "total_s": {"off": round(sum(off), 2), "dciodvfy": round(sum(on), 2)},
              "largest_file": {"name": Path(largest[0]).name, "bytes": largest[1]["bytes"],
                               "ms_off": round(1000 * largest[1]["off"], 1),
                               "ms_dciodvfy": round(1000 * largest[1]["dciodvfy"], 1)}}
    print(json.dumps(result))
    if not args.json_only:
        print(f"\n{'gate header measures':<28} {'off':>10} {'dciodvfy':>10}")
        for key in ("median_ms_per_file", "max_ms_per_file"):
            print(f"{key:<28} {result[key]['off']:>10} {result[key]['dciodvfy']:>10}")
        print(f"{'total s over ' + str(len(medians)) + ' files':<28} {result['total_s']['off']:>10} "
              f"{result['total_s']['dciodvfy']:>10}")
        big = result["largest_file"]
        print(f"largest: {big['name']} ({big['bytes'] / 1e6:.1f} MB): {big['ms_off']} ms -> {big['ms_dciodvfy']} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
