"""PHI recognizer benchmark: the recognizer alone, in text lines/s, on one core (no Spark, no OCR).

    .venv/bin/python bench/ner.py [--corpus tests/data/corpus] [--repeats 3] [--no-quality]

Measures, over the corpus's burned-in truth texts grouped into detector-like lines (each frame of each
file, with that file's header dictionary built once, as a Spark task does):
  * lines/s of `find_phi_in_lines` (dictionary matching, patterns, rules, merge, boxes, hashes);
  * the same without a dictionary (patterns and rules alone);
  * dictionary build time per file (from the parsed header, as from bronze rows);
  * `clean_text` values/s (the header's Clean Descriptors path);
  * 10,000-character lines/s (the bound for pathological OCR output).
and, unless --no-quality, the recall/kept table of the truth texts. Prints counts and timings only.
(The pixel-path comparison, selective vs all-text frames/s on Spark, is added by the orchestration.)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEIDLAKE_MODE", "test")

from bench.common import median, report, timed  # noqa: E402
from transforms.dicom_io import read_header  # noqa: E402
from transforms.keyring import Keyring  # noqa: E402
from transforms.phi import PhiDictionary, PhiRecognizer  # noqa: E402
from transforms.phi.evaluation import evaluate_corpus, truth_lines  # noqa: E402
from transforms.synth.truth import FileTruth, load_truth_dir  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"


def frame_work(truths: list[FileTruth]) -> tuple[list[tuple[PhiDictionary, list]], float]:
    """(dictionary, lines) per frame, and the median dictionary build time per file in seconds."""
    work, build_times = [], []
    for truth in truths:
        header = read_header(truth.path)
        started = time.perf_counter()
        dictionary = PhiDictionary.from_dataset(header)
        build_times.append(time.perf_counter() - started)
        frames: dict[tuple[int, str], list] = {}
        for item in truth.burned_in_text:
            frames.setdefault((item.frame, item.plane), []).append(item)
        work += [(dictionary, [line for line, _ in truth_lines(items)]) for items in frames.values()]
    return work, median(build_times) if build_times else 0.0


def descriptor_values(truths: list[FileTruth]) -> list[tuple[PhiDictionary, str]]:
    """Header free text a Clean Descriptors pass would see: each file's descriptor-like values."""
    values = []
    for truth in truths:
        header = read_header(truth.path)
        dictionary = PhiDictionary.from_dataset(header)
        for keyword in ("StudyDescription", "SeriesDescription", "ImageComments", "ProtocolName",
                        "RequestedProcedureDescription"):
            value = header.get(keyword)
            if value:
                values.append((dictionary, str(value)))
    return values


def long_lines(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    words = ["kVp", "120", "Se", "2", "Im", "14", "W:400", "L:40", "AX", "T2", "5.0", "mm", "DOB:", "1970-01-02"]
    return [" ".join(rng.choice(words) for _ in range(2000))[:10_000] for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args(argv)
    truths = load_truth_dir(args.corpus)
    if not truths:
        print(f"no truth files under {args.corpus}: generate a corpus first (deidlake synth)", file=sys.stderr)
        return 2
    recognizer = PhiRecognizer(keyring=Keyring.from_env())
    work, build_seconds = frame_work(truths)
    lines = sum(len(frame_lines) for _, frame_lines in work)
    empty = PhiDictionary.empty()
    values = descriptor_values(truths)
    long = long_lines(5)

    with_dictionary = median(timed(lambda: [recognizer.find_phi_in_lines(ls, d) for d, ls in work], args.repeats))
    without = median(timed(lambda: [recognizer.find_phi_in_lines(ls, empty) for _, ls in work], args.repeats))
    cleaning = median(timed(lambda: [recognizer.clean_text(v, d) for d, v in values], args.repeats))
    long_seconds = median(timed(lambda: [recognizer.find_phi_in_text(t, empty) for t in long], args.repeats))

    figures = {"files": len(truths), "frames": len(work), "lines": lines,
               "lines_per_s": round(lines / with_dictionary), "lines_per_s_no_dictionary": round(lines / without),
               "dictionary_build_ms_per_file": round(build_seconds * 1000, 2),
               "clean_text_values_per_s": round(len(values) / cleaning) if values else None,
               "long_lines_10k_chars_per_s": round(len(long) / long_seconds, 1)}
    rows = [("find_phi_in_lines, file dictionary", lines, f"{with_dictionary:.3f}", figures["lines_per_s"]),
            ("find_phi_in_lines, no dictionary", lines, f"{without:.3f}", figures["lines_per_s_no_dictionary"]),
            ("clean_text (descriptor values)", len(values), f"{cleaning:.3f}", figures["clean_text_values_per_s"]),
            ("10,000-character lines", len(long), f"{long_seconds:.3f}", figures["long_lines_10k_chars_per_s"])]
    report("ner_recognizer", figures, rows, ("what", "items", "seconds", "items/s"))
    print(f"dictionary build: {figures['dictionary_build_ms_per_file']} ms per file (median)")
    if not args.no_quality:
        print("\nTruth texts of the corpus (recall per category, non-PHI kept):")
        print(evaluate_corpus(recognizer, truths).table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
