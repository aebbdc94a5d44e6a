"""deidlake beside Microsoft Presidio's DICOM redactor: the same files, the same run, the same scorer.

    .venv/bin/python bench/vs_presidio.py [--n 100] [--seed S] [--processes 2] [--work DIR] [--keep]
                                          [--redact phi|all] [--presidio-venv DIR] [--ocr]

Writes `--n` single-frame CT, MR and MG images, 512 px on the long side (mostly 512x512), with burned-in PHI
and their truth (the `overlay` corpus style, as `deidlake synth --style overlay --max-side 512` writes it,
keeping the files whose design is one CT, MR or MG frame of that size; seed from today's date unless
--seed, printed), then processes the same input folder twice, one after the other:

1. `deidlake run` end to end (ingest to gold, the leakage gate included) into one fresh warehouse;
2. presidio-image-redactor's `DicomImageRedactorEngine` with `--processes` worker processes
   (bench/presidio_runner.py), in its own virtual environment (`--presidio-venv`, default
   `.bench/presidio-venv`, created on first use with the pinned packages below; spaCy with a blank English
   pipeline, so nothing is downloaded), its outputs named as the inputs in their own folder.

Each side is timed by wall clock and by the CPU time of its whole process tree (user + system of every
descendant, from getrusage(RUSAGE_CHILDREN) deltas; this process becomes a child subreaper so that
orphaned grandchildren such as Spark's JVM are reaped here and counted). Both outputs are scored by the
project's scorer (`deidlake score`, as bench/accuracy.py: PHI values wiped >= 50% of their ink, labels
kept, collateral, header PHI left); deidlake's candidates before the gate are scored too. Prints one JSON
line, then a table side by side. Figures are counts and shares only (no value is printed).

If Presidio cannot be installed, the deidlake side still runs and the JSON says why Presidio is missing.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accuracy import candidate_figures, figures  # noqa: E402
from bench.common import report  # noqa: E402
from transforms.synth.glyphs import require_fonts  # noqa: E402
from transforms.synth.realistic import RealisticWorld, design_of, generate_realistic_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "bench" / "presidio_runner.py"
DEFAULT_VENV = REPO / ".bench" / "presidio-venv"
# What Presidio's environment installs: the versions the registry serves here (pinned, so reruns compare).
PRESIDIO_REQUIREMENTS = ("presidio-image-redactor==0.0.62", "presidio-analyzer==2.2.366", "spacy==3.8.18",
                         "pytesseract==0.3.13")
STYLE, MAX_SIDE, MODALITIES = "overlay", 512, ("CT", "MR", "MG")
PR_SET_CHILD_SUBREAPER = 36


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="files (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="corpus seed (default: today's date as YYYYMMDD)")
    parser.add_argument("--processes", type=int, default=2, help="Presidio's worker processes (default 2)")
    parser.add_argument("--redact", choices=("phi", "all"), default="phi", help="deidlake's redaction mode")
    parser.add_argument("--presidio-venv", type=Path, default=DEFAULT_VENV,
                        help="Presidio's virtual environment (created when missing; default .bench/presidio-venv)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (corpus, outputs, warehouse)")
    parser.add_argument("--ocr", action="store_true", help="also run the scorer's OCR pass (slower)")
    return parser.parse_args(argv)


# ---- the corpus ---------------------------------------------------------------------------------------

def single_frame_indices(seed: int, n: int) -> list[int]:
    """The first `n` overlay-style file indices whose design is one frame of CT, MR or MG, 512 px on its long
    side (CT 512x512, drawn 512 or larger and scaled down; MR 512x512 or 448x512; MG 512 tall): the design
    alone is drawn, which is cheap. About a third of the style's files qualify."""
    chosen, index = [], 0
    while len(chosen) < n:
        design, _ = design_of(seed, index, STYLE, MAX_SIDE)
        if design.frames == 1 and design.modality in MODALITIES and max(design.rows, design.columns) == MAX_SIDE:
            chosen.append(index)
        index += 1
    return chosen


def write_corpus(work: Path, n: int, seed: int) -> tuple[list[Path], Path, Path]:
    """The chosen files with their truth under work/corpus, the DICOM files alone (hard links) under
    work/input: the one folder both tools read."""
    corpus, staged = work / "corpus", work / "input"
    for folder in (corpus, staged):
        folder.mkdir(parents=True, exist_ok=True)
    require_fonts()
    world = RealisticWorld(seed)
    paths = [generate_realistic_file(corpus, index, STYLE, world, MAX_SIDE) for index in single_frame_indices(seed, n)]
    for path in paths:
        try:
            os.link(path, staged / path.name)
        except OSError:
            shutil.copyfile(path, staged / path.name)
    return paths, corpus, staged


def corpus_shape(corpus: Path) -> dict:
    sizes, modalities, syntaxes = Counter(), Counter(), Counter()
    for truth_file in corpus.glob("*.truth.json"):
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        sizes[f"{truth['rows']}x{truth['columns']}"] += 1
        modalities[truth["modality"]] += 1
        syntaxes[truth["transfer_syntax_name"]] += 1
    return {"sizes": dict(sizes.most_common()), "modalities": dict(modalities.most_common()),
            "transfer_syntaxes": dict(syntaxes.most_common())}


# ---- measuring a process tree ---------------------------------------------------------------------------

def become_subreaper() -> bool:
    """Orphaned descendants (a JVM outliving its Python parent) become our children, so that reaping them
    adds their CPU time to RUSAGE_CHILDREN. Linux only; elsewhere orphans' time is not counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _reap_orphans(limit_seconds: float = 120.0) -> int:
    """Wait for every remaining child (orphans handed to us); how many were still running at the limit."""
    deadline = time.monotonic() + limit_seconds
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            if time.monotonic() > deadline:
                return len(_children())
            time.sleep(0.1)


def _children() -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()]
    except OSError:
        return []


def measured(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run `command` to its end (and its orphans to theirs): exit code, wall and CPU seconds, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "w") as stderr:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    still_running = _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"exit_code": proc.returncode, "wall_seconds": round(wall, 1), "core_seconds": round(cpu, 1),
            "user_seconds": round(after.ru_utime - before.ru_utime, 1),
            "orphans_still_running": still_running, "stdout": stdout}


def _last_json_line(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return {}


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.is_file() else []
    return (lines or ["no output"])[-1][:300]


# ---- the two sides ----------------------------------------------------------------------------------------

def run_deidlake(work: Path, staged: Path, mode: str) -> dict:
    warehouse, output = work / "warehouse", work / "output-deidlake"
    for folder in (warehouse, output):
        shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ)
    if not env.get("DEIDLAKE_SECRET"):
        env["DEIDLAKE_MODE"] = "demo"                  # the demo key: fine for a benchmark
    command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(warehouse), "run", "--input",
               str(staged), "--output", str(output), "--redact", mode, "--json"]
    run = measured(command, env, work / "deidlake.log")
    summary = _last_json_line(run.pop("stdout"))
    manifest = output / "manifest.json"
    run_key = json.loads(manifest.read_text())["run_key"] if manifest.is_file() else None
    candidates = warehouse / "silver" / "staging" / "candidates" / run_key if run_key else None
    return {**run, "output": output, "candidates": candidates if candidates and candidates.is_dir() else None,
            "frames": summary.get("frames"), "published": summary.get("published"),
            "error": None if summary else _last_line(work / "deidlake.log")}


def ensure_presidio_venv(venv: Path, work: Path) -> str | None:
    """Presidio's own environment with the pinned packages (reused when its stamp matches); None when ready,
    else why it is not."""
    python, stamp = venv / "bin" / "python", venv / "deidlake-requirements.txt"
    wanted = "\n".join(PRESIDIO_REQUIREMENTS) + "\n"
    if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return None
    shutil.rmtree(venv, ignore_errors=True)
    log = work / "presidio-install.log"
    with open(log, "w") as out:
        steps = (("python -m venv", [sys.executable, "-m", "venv", str(venv)]),
                 ("pip install " + " ".join(PRESIDIO_REQUIREMENTS),
                  [str(python), "-m", "pip", "install", "--disable-pip-version-check", *PRESIDIO_REQUIREMENTS]))
        for name, step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                return f"`{name}` failed: {_last_line(log)} (log: {log})"
    stamp.write_text(wanted)
    return None


def run_presidio(work: Path, staged: Path, venv: Path, processes: int) -> dict:
    output = work / "output-presidio"
    shutil.rmtree(output, ignore_errors=True)
    command = [str(venv / "bin" / "python"), str(RUNNER), "--input", str(staged), "--output", str(output),
               "--processes", str(processes), "--blank-model", str(venv / "blank-en")]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = measured(command, env, work / "presidio.log")
    summary = _last_json_line(run.pop("stdout"))
    mapping = work / "presidio-mapping.csv"               # outputs carry their input's name
    mapping.write_text("".join(f"{p.name},{p.name}\n" for p in sorted(staged.glob("*.dcm"))
                               if (output / p.name).is_file()))
    return {**run, "output": output, "mapping": mapping, "published": summary.get("redacted"),
            "failed": summary.get("failed"), "versions": {k: summary.get(k) for k in
                                                          ("presidio_image_redactor", "presidio_analyzer", "spacy")},
            "runner_seconds": summary.get("seconds"),
            "error": None if summary else _last_line(work / "presidio.log")}


def tesseract_version() -> str | None:
    try:
        done = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    except OSError:
        return None
    return ((done.stdout or done.stderr).splitlines() or [None])[0]


# ---- the report ------------------------------------------------------------------------------------------

def speed(run: dict, frames: int) -> dict:
    return {"wall_seconds": run["wall_seconds"], "core_seconds": run["core_seconds"],
            "core_seconds_per_frame": round(run["core_seconds"] / frames, 3),
            "files_per_second": round(frames / run["wall_seconds"], 2) if run["wall_seconds"] else None}


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def table_rows(sides: dict[str, dict]) -> list[tuple]:
    rows = []
    for name, side in sides.items():
        f, s = side.get("scores"), side.get("speed")
        if f is None:
            rows.append((name, "-", "-", "-", "-", "-", "-", "-", "-", "-", side.get("unavailable", "not run")))
            continue
        rows.append((name, s["wall_seconds"] if s else "-", s["core_seconds_per_frame"] if s else "-",
                     s["files_per_second"] if s else "-", f"{f['published']}/{f['files']}" if s else f"({f['published']} scored)",
                     f"{_pct(f['values_wiped_share'])} ({f['values_wiped']}/{f['value_boxes']})",
                     _pct(f["values_wiped_fully_share"]),
                     f"{_pct(f['labels_kept_share'])} ({f['labels_kept']}/{f['label_boxes']})",
                     f"{_pct(f['collateral_share'], 3)} max {_pct(f['collateral_max_file_share'], 3)}",
                     f"{f['header_phi_left']}/{f['header_phi_items']}",
                     ", ".join(f"{k} {v}" for k, v in f["held_by_reason"].items()) or "-"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.n < 1 or args.processes < 1:
        print("bench/vs_presidio.py: --n and --processes must be at least 1", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(dt.date.today().strftime("%Y%m%d"))
    print(f"seed {seed} ({'given' if args.seed is not None else 'from the date'}), {args.n} files", file=sys.stderr)
    work = args.work or Path(tempfile.mkdtemp(prefix="deidlake-vs-presidio-"))
    work.mkdir(parents=True, exist_ok=True)
    subreaper = become_subreaper()
    try:
        started = time.perf_counter()
        paths, corpus, staged = write_corpus(work, args.n, seed)
        generation = time.perf_counter() - started
        frames = len(paths)
        why_not = ensure_presidio_venv(args.presidio_venv.resolve(), work)
        if why_not:
            print(f"Presidio is not available, only deidlake runs: {why_not}", file=sys.stderr)

        deid = run_deidlake(work, staged, args.redact)
        print(f"deidlake run: {deid['wall_seconds']} s wall, {deid['core_seconds']} core-s, "
              f"exit {deid['exit_code']}", file=sys.stderr)
        sides: dict[str, dict] = {f"deidlake run --redact {args.redact}": {
            "run": {k: v for k, v in deid.items() if k not in ("output", "candidates")},
            "speed": speed(deid, frames), "scores": figures(corpus, deid["output"], args.ocr, False)}}
        sides["deidlake before the gate"] = {
            "speed": None, "scores": candidate_figures(corpus, deid["candidates"], work, args.ocr, False)}

        presidio_name = f"Presidio DicomImageRedactorEngine x{args.processes}"
        if why_not:
            sides[presidio_name] = {"unavailable": why_not, "scores": None}
        else:
            pres = run_presidio(work, staged, args.presidio_venv.resolve(), args.processes)
            print(f"presidio: {pres['wall_seconds']} s wall, {pres['core_seconds']} core-s, exit {pres['exit_code']}",
                  file=sys.stderr)
            sides[presidio_name] = {
                "run": {k: v for k, v in pres.items() if k not in ("output", "mapping")},
                "speed": speed(pres, frames), "scores": figures(corpus, pres["output"], args.ocr, False, pres["mapping"])}

        report("vs_presidio", {
            "seed": seed, "files": frames, "frames": frames, "style": STYLE, "max_side": MAX_SIDE,
            "corpus": corpus_shape(corpus), "generation_seconds": round(generation, 1),
            "processes": args.processes, "redact": args.redact, "cpu_count": os.cpu_count(),
            "tesseract": tesseract_version(), "orphans_counted": subreaper,
            "presidio_requirements": list(PRESIDIO_REQUIREMENTS), "sides": sides,
        }, table_rows(sides), ("tool", "wall s", "core-s/frame", "files/s", "published", "PHI values wiped (>=50% ink)",
                               "wiped fully", "labels kept", "collateral", "header PHI left", "held (reasons)"))
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
