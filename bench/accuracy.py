"""Accuracy on fresh realistic corpora: `deidlake run` in both redaction modes, scored against the truth.

    .venv/bin/python bench/accuracy.py [--n 50] [--seed S] [--styles overlay,rotated,ultrasound,sc]
                                       [--modes phi,all] [--phi-engines python,sparknlp] [--max-side PX]
                                       [--work DIR] [--ocr] [--dciodvfy]

For each style, writes a fresh corpus (`deidlake synth --style STYLE`, its seed derived from the bench's
seed and the style, so that the styles hold different patients and UIDs; the bench's seed is today's
date unless --seed, printed), stages the DICOM files (not the truth) in one input folder, runs `deidlake run` once per
mode (`--redact phi`, `--redact all`; phi mode once per `--phi-engines` engine, named "phi+sparknlp"
for an engine other than python) into a fresh warehouse and output folder each, and scores every
style's files in each output (`deidlake score`; held files are read from the run's quarantine.json).
The same files are also scored as the redaction left them before the gate (the run's staged candidates,
`silver/staging/candidates/<run key>/<input sha256>.dcm`), so pixel and header figures exist for held
files too. Prints one JSON line, then the table of issue 22 (files published, PHI value boxes wiped,
labels kept, header PHI left / original UIDs kept) per style and mode, with issue 29's collateral, recall
per orientation and the ultrasound figures. Figures are counts and shares only (no value is printed).

Evaluate on seeds not used while developing (docs/corpus-and-scoring.md lists those).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from transforms.scoring import score_directories  # noqa: E402
from transforms.synth import generate_corpus  # noqa: E402
from transforms.synth.identities import derive_seed  # noqa: E402
from transforms.synth.styles import REALISTIC_STYLES  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODES = ("phi", "all")
PHI_ENGINES = ("python", "sparknlp")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="files per style (default 50)")
    parser.add_argument("--seed", type=int, default=None, help="corpus seed (default: today's date as YYYYMMDD)")
    parser.add_argument("--styles", default=",".join(REALISTIC_STYLES), help="comma-separated styles")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: phi, all")
    parser.add_argument("--phi-engines", default="python",
                        help="comma-separated PHI engines for phi mode: python, sparknlp (default python)")
    parser.add_argument("--max-side", type=int, default=None, metavar="PX", help="scale images down (quick runs)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (corpora, outputs, warehouses)")
    parser.add_argument("--ocr", action="store_true", help="also run the scorer's OCR pass (slower)")
    parser.add_argument("--dciodvfy", action="store_true", help="also validate every output with dciodvfy")
    return parser.parse_args(argv)


def style_seed(seed: int, style: str) -> int:
    """Each style's corpus seed. One seed for every style would give every style the same patients and
    UIDs (the generator's world depends on the seed only): staged together they would be one archive
    holding different files under one SOP Instance UID, which gold rightly refuses (`gold_path_conflict`)."""
    return derive_seed(seed, "bench-accuracy", style) % 2**31


def write_corpora(work: Path, styles: list[str], n: int, seed: int, max_side: int | None) -> dict[str, float]:
    """One corpus per style under work/corpus/STYLE (seed: `style_seed`); its DICOM files (hard links)
    under work/input/STYLE."""
    seconds = {}
    for style in styles:
        corpus, staged = work / "corpus" / style, work / "input" / style
        started = time.perf_counter()
        paths = generate_corpus(corpus, n, style_seed(seed, style), style=style, max_side=max_side)
        seconds[style] = time.perf_counter() - started
        staged.mkdir(parents=True, exist_ok=True)
        for path in paths:
            try:
                os.link(path, staged / path.name)
            except OSError:
                shutil.copyfile(path, staged / path.name)
    return seconds


def run_name(mode: str, engine: str) -> str:
    return mode if engine == "python" else f"{mode}+{engine}"


def run_mode(work: Path, mode: str, engine: str = "python") -> dict:
    """`deidlake run` over every staged style into a fresh warehouse; its summary and wall time."""
    name = run_name(mode, engine)
    warehouse, output = work / f"warehouse-{name}", work / f"output-{name}"
    for folder in (warehouse, output):
        shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ)
    if not env.get("DEIDLAKE_SECRET"):
        env["DEIDLAKE_MODE"] = "demo"                  # the demo key: fine for a benchmark of accuracy
    command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(warehouse), "run",
               "--input", str(work / "input"), "--output", str(output), "--redact", mode, "--phi-engine", engine, "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    summary = _last_json_line(done.stdout)
    return {"mode": mode, "phi_engine": engine, "exit_code": done.returncode, "seconds": round(seconds, 1), "output": output,
            "candidates": _candidates(warehouse, output),
            "frames": summary.get("frames"), "published": summary.get("published"),
            "quarantined": summary.get("quarantined_by_stage_reason"),
            "error": None if summary else (done.stderr.strip().splitlines() or ["no summary"])[-1][:300]}


def _candidates(warehouse: Path, output: Path) -> Path | None:
    """The run's staged candidates (every redacted file, published or held), named by input SHA-256."""
    try:
        run_key = json.loads((output / "manifest.json").read_text())["run_key"]
    except (OSError, ValueError, KeyError):
        return None
    folder = warehouse / "silver" / "staging" / "candidates" / run_key
    return folder if folder.is_dir() else None


def candidate_figures(corpus: Path, candidates: Path | None, work: Path, ocr: bool, dciodvfy: bool) -> dict | None:
    """The figures of the redaction before the gate: each truth file paired with its candidate by SHA-256."""
    if candidates is None:
        return None
    rows = []
    for truth_file in sorted(corpus.glob("*.truth.json")):
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        candidate = candidates / f"{truth['sha256']}.dcm"
        if candidate.is_file():
            rows.append(f"{truth['file']},{candidate}")
    mapping = work / f"candidates-{corpus.name}-{candidates.name}.csv"
    mapping.write_text("\n".join(rows) + "\n")
    return figures(corpus, candidates, ocr, dciodvfy, mapping)


def _last_json_line(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return {}


def figures(corpus: Path, output: Path, ocr: bool, dciodvfy: bool, mapping: Path | None = None) -> dict:
    """The issue 22 / 29 figures of one style's files in one run's output."""
    scored = score_directories(corpus, output, run_ocr=ocr, run_dciodvfy=dciodvfy, mapping_csv=mapping)
    t = scored.totals
    files, fields, header = t["files"], t["fields"], t["header"]
    return {
        "files": files["truth"], "published": files["matched"], "held": files["held"], "missing": files["missing"],
        "held_by_reason": files["held_by_reason"],
        "values_wiped": fields["values_wiped"], "value_boxes": fields["value_boxes"],
        "values_wiped_share": fields["values_wiped_share"],
        "values_wiped_fully_share": fields["values_wiped_fully_share"],
        "labels_kept": fields["labels_kept"], "label_boxes": fields["label_boxes"],
        "labels_kept_share": fields["labels_kept_share"], "other_kept_share": fields["other_kept_share"],
        "outside_header_values_wiped": fields["outside_header_values_wiped"],
        "outside_header_values": fields["outside_header_values"],
        "outside_header_by_category": {k: [v["wiped"], v["boxes"]] for k, v in fields["outside_header_by_category"].items()},
        "recall_by_orientation": {k: v["recall"] for k, v in fields["recall_by_orientation"].items()},
        "recall_by_category": {k: v["recall"] for k, v in fields["recall_by_category"].items()},
        "header_phi_left": header["leaked"], "header_phi_items": header["items"],
        "original_uids_kept": header["by_category"].get("UID", {}).get("leaked", 0),
        "collateral_share": t["collateral"]["share"], "collateral_max_file_share": t["collateral"]["max_file_share"],
        "collateral_files_over_0_05_percent": t["collateral"]["files_over_0_05_percent"],
        "us_region_changed_share": t["ultrasound_regions"]["region_changed_share"],
        "us_text_free_frames": t["ultrasound_regions"]["text_free_frames"],
        "us_text_free_frames_touched": t["ultrasound_regions"]["text_free_frames_touched"],
        "validity_added_errors": t["validity"]["added_errors"] if dciodvfy else None,
    }


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def table_rows(results: dict[str, dict[str, dict]]) -> list[tuple]:
    """One row per style, mode and scope: the published output, then every candidate before the gate."""
    rows = []
    for style, by_mode in results.items():
        for mode, published in by_mode.items():
            for scope, f in (("published", published), ("before gate", published.get("before_gate"))):
                if f is None:
                    continue
                orientation = " ".join(f"{k}:{_pct(v, 0)}" for k, v in f["recall_by_orientation"].items())
                outside = " ".join(f"{k}:{w}/{n}" for k, (w, n) in f.get("outside_header_by_category", {}).items())
                files = f"{f['published']}/{f['files']}" if scope == "published" else f"({f['published']} scored)"
                rows.append((style, mode, scope, files,
                             f"{_pct(f['values_wiped_share'])} ({f['values_wiped']}/{f['value_boxes']})",
                             f"{_pct(f['labels_kept_share'])} ({f['labels_kept']}/{f['label_boxes']})",
                             f"{f['header_phi_left']} / {f['original_uids_kept']}",
                             f"{f['outside_header_values_wiped']}/{f['outside_header_values']} {outside}".strip(),
                             f"{_pct(f['collateral_share'], 3)} max {_pct(f['collateral_max_file_share'], 3)}",
                             orientation or "-",
                             ", ".join(f"{k} {v}" for k, v in f["held_by_reason"].items()) or "-"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else int(dt.date.today().strftime("%Y%m%d"))
    styles = [s for s in args.styles.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    engines = [e for e in args.phi_engines.split(",") if e]
    unknown = ([s for s in styles if s not in REALISTIC_STYLES] + [m for m in modes if m not in MODES]
               + [e for e in engines if e not in PHI_ENGINES])
    if unknown or args.n < 1:
        print(f"bench/accuracy.py: unknown style, mode or engine {unknown}, or --n below 1", file=sys.stderr)
        return 2
    print(f"seed {seed} ({'given' if args.seed is not None else 'from the date'}), {args.n} files per style",
          file=sys.stderr)
    work = args.work or Path(tempfile.mkdtemp(prefix="deidlake-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        generation = write_corpora(work, styles, args.n, seed, args.max_side)
        runs, results = {}, {style: {} for style in styles}
        plan = [(mode, engine) for mode in modes for engine in (engines if mode == "phi" else ["python"])]
        for mode, engine in plan:
            name = run_name(mode, engine)
            runs[name] = run_mode(work, mode, engine)
            print(f"run --redact {mode} --phi-engine {engine}: {runs[name]['seconds']} s, "
                  f"exit {runs[name]['exit_code']}", file=sys.stderr)
            for style in styles:
                corpus = work / "corpus" / style
                results[style][name] = figures(corpus, runs[name]["output"], args.ocr, args.dciodvfy)
                results[style][name]["before_gate"] = candidate_figures(corpus, runs[name]["candidates"], work,
                                                                        args.ocr, args.dciodvfy)
        total_files = args.n * len(styles)
        report("accuracy", {
            "seed": seed, "style_seeds": {style: style_seed(seed, style) for style in styles},
            "files_per_style": args.n, "styles": styles, "modes": modes, "phi_engines": engines,
            "max_side": args.max_side,
            "generation_seconds": {k: round(v, 1) for k, v in generation.items()},
            "runs": {m: {k: v for k, v in r.items() if k not in ("output", "candidates")} for m, r in runs.items()},
            "seconds_per_file": {m: round(r["seconds"] / total_files, 2) for m, r in runs.items()},
            "results": results,
        }, table_rows(results), ("style", "mode", "scope", "published", "PHI values wiped (>=50% ink)", "labels kept",
                                 "header PHI left / UIDs kept", "absent from header wiped", "collateral", "value recall by orientation",
                                 "held (reasons)"))
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
