"""`deidlake synth --out DIR --n N --seed S [--style classic|overlay|rotated|ultrasound|sc|mixed]
[--max-side PX] [--large] [--full-size] [--json]`

Writes an identified synthetic corpus with its ground truth. Prints file names, kinds and syntaxes
(never a generated value), and the syntaxes it cannot produce, with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from transforms.synth.generator import STYLES, generate_corpus
from transforms.synth.kinds import UNPRODUCIBLE_SYNTAXES
from transforms.synth.truth import read_truth, truth_path_for


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deidlake synth",
                                     description="Write a synthetic identified DICOM corpus with ground truth.")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--n", required=True, type=int, help="number of files (16 or more covers every kind and syntax)")
    parser.add_argument("--seed", required=True, type=int, help="same seed, same bytes")
    parser.add_argument("--style", choices=STYLES, default="classic",
                        help="classic (default: every kind and syntax, the checked-in corpus), a realistic style "
                             "(overlay: label and value boxes on radiology images; rotated: turned and vertical "
                             "text; ultrasound: consoles, regions, cines; sc: secondary captures), or mixed")
    parser.add_argument("--max-side", type=int, default=None, metavar="PX",
                        help="realistic styles: scale images down to at most PX pixels a side (quick corpora)")
    parser.add_argument("--large", action="store_true", help="add one multi-frame file of >= 500 MB")
    parser.add_argument("--full-size", action="store_true",
                        help="real modality sizes (radiograph, mammography detector, 30-frame cine)")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.n < 0:
        parser.print_usage(sys.stderr)
        print("deidlake synth: --n must be >= 0", file=sys.stderr)
        return 2
    paths = generate_corpus(args.out, args.n, args.seed, large=args.large, full_size=args.full_size,
                            style=args.style, max_side=args.max_side)
    rows = [_summary(path) for path in paths]
    if args.json:
        print(json.dumps({"files": rows, "unproducible_syntaxes": {str(k): v for k, v in UNPRODUCIBLE_SYNTAXES.items()}},
                         indent=1))
        return 0
    for row in rows:
        print(f"{row['file']:<40} {row['kind']:<3} {row['transfer_syntax']:<52} frames={row['frames']:<4} "
              f"header_phi={row['header_phi']:<3} text_boxes={row['text_boxes']}")
    print(f"{len(rows)} files in {args.out}")
    print("not produced (reasons: --json, docs/corpus-and-scoring.md): "
          + ", ".join(k.name for k in UNPRODUCIBLE_SYNTAXES))
    return 0


def _summary(path: Path) -> dict:
    truth = read_truth(truth_path_for(path))
    return {"file": path.name, "kind": truth["kind"], "transfer_syntax": truth["transfer_syntax_name"],
            "frames": truth["frames"], "header_phi": len(truth.header_phi),
            "text_boxes": len(truth.burned_in_text), "bytes": path.stat().st_size}


if __name__ == "__main__":
    sys.exit(main())
