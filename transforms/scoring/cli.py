"""`deidlake score --truth DIR --deidentified DIR [--mapping CSV] [--no-ocr] [--no-dciodvfy] [--misses] [--json]`

Exit code 0 when the de-identification passed every goal, 1 when it did not, 2 on bad arguments.
`--misses` lists every PHI value not wiped, label or other text not kept, and file held, by file, box
index, role, category, orientation and share of ink changed (never the text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transforms.scoring.score import score_directories

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deidlake score",
                                     description="Score a de-identified copy of a synthetic corpus against its truth.")
    parser.add_argument("--truth", required=True, type=Path, help="the corpus written by `deidlake synth`")
    parser.add_argument("--deidentified", required=True, type=Path, help="the de-identified output (any tool)")
    parser.add_argument("--mapping", type=Path, help="CSV: truth file name,output path (optional)")
    parser.add_argument("--no-ocr", action="store_true", help="skip the independent Tesseract pass")
    parser.add_argument("--no-dciodvfy", action="store_true", help="skip dciodvfy validation")
    parser.add_argument("--misses", action="store_true",
                        help="list the boxes missed (values not wiped, labels not kept) and the files held")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_PASSED
    for label, directory in (("--truth", args.truth), ("--deidentified", args.deidentified)):
        if not directory.is_dir():
            print(f"deidlake score: {label} is not a directory", file=sys.stderr)
            return EXIT_USAGE
    if args.mapping is not None and not args.mapping.is_file():
        print("deidlake score: --mapping is not a file", file=sys.stderr)
        return EXIT_USAGE
    report = score_directories(args.truth, args.deidentified, run_ocr=not args.no_ocr,
                               run_dciodvfy=not args.no_dciodvfy, mapping_csv=args.mapping)
    if args.json:
        print(report.to_json(misses=args.misses))
    else:
        print(report.to_table())
        if args.misses:
            print("\nmisses (box = index in the truth's burned_in_text; texts are never printed):")
            print(report.misses_table())
    return EXIT_PASSED if report.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
