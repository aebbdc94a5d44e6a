"""Files/s of metadata-only de-identification, side by side in one run and on one core:

(a) bare pydicom: dcmread + save to BytesIO (the floor any header rewrite pays),
(b) deidlake: dcmread + deidentify_dataset + save to BytesIO,
(c) dicognito (a peer): dcmread + Anonymizer.anonymize + save to BytesIO.

Files are loaded into memory first, so disk speed does not enter. Each repeat runs the three back to
back on every file, timing this process's CPU time; the medians over repeats are reported.
Goal: (b) >= 0.8 x (a), (b) > (c).

    .venv/bin/python bench/metadata_deid.py [--repeats 7] [--corpus DIR ...] [--json-only]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DEIDLAKE_MODE", "demo")   # the bench never sees real data

import pydicom  # noqa: E402

from transforms.deid import DeidError, DeidOptions, deidentify_dataset, write_dataset  # noqa: E402
from transforms.keyring import Keyring  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / "tests" / "data" / "corpus"


def pydicom_test_files() -> list[Path]:
    """pydicom's bundled test files (listed from disk: the data manager would try to download)."""
    root = Path(pydicom.__file__).parent / "data"
    return sorted(p for sub in ("test_files", "charset_files") for p in (root / sub).glob("*.dcm"))


def corpus_files(dirs: list[Path]) -> list[Path]:
    return sorted(p for d in dirs if d.is_dir() for p in d.rglob("*") if p.is_file() and p.suffix in ("", ".dcm"))


def bare(data: bytes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def make_ours(options: DeidOptions, keyring: Keyring) -> Callable[[bytes], bytes]:
    def ours(data: bytes) -> bytes:
        ds = pydicom.dcmread(io.BytesIO(data))
        return write_dataset(deidentify_dataset(ds, options, keyring).dataset)
    return ours


def make_dicognito() -> Callable[[bytes], bytes] | None:
    try:
        from dicognito.anonymizer import Anonymizer
    except ImportError:
        return None
    anonymizer = Anonymizer(seed="deidlake-bench")

    def peer(data: bytes) -> bytes:
        ds = pydicom.dcmread(io.BytesIO(data))
        anonymizer.anonymize(ds)
        out = io.BytesIO()
        ds.save_as(out)
        return out.getvalue()
    return peer


def usable(blobs: dict[str, bytes], methods: dict[str, Callable[[bytes], bytes]]) -> dict[str, bytes]:
    """Only files every method handles: a rate over different file sets would compare nothing."""
    kept = {}
    for name, data in blobs.items():
        try:
            for method in methods.values():
                method(data)
        except (DeidError, Exception):  # noqa: BLE001 - a file one method rejects is left out
            continue
        kept[name] = data
    return kept


def measure(methods: dict[str, Callable[[bytes], bytes]], blobs: list[bytes], repeats: int) -> dict[str, list[float]]:
    """Files per CPU-second of each method, once per repeat.

    The methods run back to back on each file (not one method over all files, then the next), and
    CPU time of this process is what is timed: on a machine shared with other jobs, load that comes
    and goes then weighs on the three alike.
    """
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        spent = dict.fromkeys(methods, 0.0)
        for data in blobs:
            for name, method in methods.items():
                started = time.process_time()
                method(data)
                spent[name] += time.process_time() - started
        for name in methods:
            rates[name].append(len(blobs) / spent[name])
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--corpus", type=Path, action="append", default=None)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    paths = pydicom_test_files() + corpus_files(args.corpus or [DEFAULT_CORPUS])
    blobs = {str(p): p.read_bytes() for p in paths}
    methods: dict[str, Callable[[bytes], bytes]] = {
        "bare_pydicom": bare, "deidlake": make_ours(DeidOptions(), Keyring.from_env())}
    peer = make_dicognito()
    if peer is not None:
        methods["dicognito"] = peer
    files = usable(blobs, methods)
    data = list(files.values())

    samples = measure(methods, data, args.repeats)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    report = {
        "files": len(data),
        "files_skipped": len(blobs) - len(data),
        "corpus_files": sum(1 for name in files if not name.startswith(str(Path(pydicom.__file__).parent))),
        "file_bytes_median": int(statistics.median(len(b) for b in data)) if data else 0,
        "repeats": args.repeats,
        "cores": 1,
        "clock": "process CPU time",
        "files_per_s": {name: round(value, 1) for name, value in medians.items()},
        "ratio_deidlake_vs_bare": round(medians["deidlake"] / medians["bare_pydicom"], 3),
    }
    if "dicognito" in medians:
        report["ratio_deidlake_vs_dicognito"] = round(medians["deidlake"] / medians["dicognito"], 3)
    print(json.dumps(report, indent=2))
    if not args.json_only:
        print(f"\n{'method':<14}{'files/s':>10}{'vs bare':>10}")
        for name, value in medians.items():
            print(f"{name:<14}{value:>10.1f}{value / medians['bare_pydicom']:>10.2f}")
        if "dicognito" in medians:
            print(f"deidlake / dicognito = {report['ratio_deidlake_vs_dicognito']:.2f}")


if __name__ == "__main__":
    main()
