"""Where a `deidlake run` spends its time: per asset, per Delta commit, per Spark job, cold and warm.

    .venv/bin/python bench/run_overhead.py [--warm-runs 3] [--large 100] [--repo DIR] [--workdir DIR]

One process, one Spark session, one warehouse: a first one-file run (cold JVM), `--warm-runs` one-file
runs after it (each a new content), then one run of `--large` files, all through the same in-process
runner `deidlake run` uses (`orchestration.runner.run_batch`). Per run it prints the wall time, each
asset's step time (from the run's Dagster events), the time outside the steps (Dagster, resources), every
Delta commit (table, operation, seconds, and the asset it fell in; counted from the tables' `_delta_log`
too, so no commit escapes), and the number of Spark jobs.

`--repo DIR` runs another checkout's code (e.g. `git worktree add /tmp/base <commit>`) under the same
measurement, so old and new code can be compared side by side: run both, alternating, on an otherwise
quiet machine, and compare medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _code_root(argv: list[str]) -> Path:
    """The checkout whose code is measured (--repo), put first on the path before anything imports it."""
    if "--repo" in argv:
        return Path(argv[argv.index("--repo") + 1]).resolve()
    return HERE


CODE = _code_root(sys.argv)
sys.path.insert(0, str(CODE))
if CODE != HERE:
    sys.path.insert(1, str(HERE))      # bench.common from this checkout
    # Spark's Python workers must import the same checkout (the venv's editable install points here).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(CODE), os.environ.get("PYTHONPATH", "")) if p)
    os.environ.setdefault("DEIDLAKE_JARS_DIR", str(HERE / "warehouse" / "jvm" / "lib"))
os.environ.setdefault("DEIDLAKE_MODE", "test")

from bench.common import distinct_copies, median, report  # noqa: E402


class CommitRecorder:
    """Times every Delta write call (MERGE, UPDATE, DataFrame save) by wrapping PySpark/Delta; which table
    each call committed to is read afterwards from the tables' `_delta_log` (the commit's timestamp falls
    inside the call), so the figures do not depend on the code under test."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    @contextmanager
    def installed(self):
        from delta.tables import DeltaMergeBuilder, DeltaTable
        from pyspark.sql.readwriter import DataFrameWriter

        originals = (DeltaMergeBuilder.execute, DataFrameWriter.save, DeltaTable.update)

        def wrap(kind, original):
            def timed(*args, **kwargs):
                started, t0 = time.time(), time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.calls.append({"kind": kind, "started": started, "ended": time.time(),
                                       "seconds": time.perf_counter() - t0})
            return timed

        DeltaMergeBuilder.execute = wrap("merge", originals[0])
        DataFrameWriter.save = wrap("write", originals[1])
        DeltaTable.update = wrap("update", originals[2])
        try:
            yield self
        finally:
            DeltaMergeBuilder.execute, DataFrameWriter.save, DeltaTable.update = originals


def delta_versions(warehouse) -> dict[str, int]:
    """Latest commit version per table, from the `_delta_log` folders."""
    versions = {}
    for log in warehouse.root.glob("*/tables/*/_delta_log"):
        numbers = [int(p.name.split(".")[0]) for p in log.glob("*.json") if p.name.split(".")[0].isdigit()]
        if numbers:
            versions[f"{log.parent.parent.parent.name}.{log.parent.name}"] = max(numbers)
    return versions


def new_commits(warehouse, before: dict[str, int]) -> list[dict]:
    """Every commit made since `before`: table, version, operation and its commit time (seconds)."""
    commits = []
    for log in warehouse.root.glob("*/tables/*/_delta_log"):
        table = f"{log.parent.parent.parent.name}.{log.parent.name}"
        for path in log.glob("*.json"):
            stem = path.name.split(".")[0]
            if not stem.isdigit() or int(stem) <= before.get(table, -1):
                continue
            for line in path.read_text().splitlines():
                info = json.loads(line).get("commitInfo")
                if info:
                    commits.append({"table": table, "version": int(stem), "operation": info.get("operation"),
                                    "at": info["timestamp"] / 1000.0})
    return sorted(commits, key=lambda c: c["at"])


def spark_job_counter(spark):
    """Spark jobs submitted so far in this session (the DAG scheduler's next job id)."""
    scheduler = spark.sparkContext._jsc.sc().dagScheduler()
    def count() -> int:
        next_id = scheduler.nextJobId()          # an AtomicInteger, which Py4J may hand over as its value
        return int(next_id if isinstance(next_id, int) else next_id.get())
    return count


def step_windows(instance, run_id: str) -> list[dict]:
    """(asset step, start, end) of a run, from its Dagster event log."""
    starts, windows = {}, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
            windows.append({"step": entry.step_key, "start": starts[entry.step_key], "end": entry.timestamp})
    return windows


def one_run(label: str, files: list[Path], work: Path, warehouse, spark, recorder: CommitRecorder) -> dict:
    from orchestration.instance import dagster_instance
    from orchestration.runner import register_folder, run_batch

    folder = work / "landing" / label
    folder.mkdir(parents=True)
    for source in files:
        os.link(source, folder / source.name)
    jobs = spark_job_counter(spark)
    before_versions, before_jobs, first_call = delta_versions(warehouse), jobs(), len(recorder.calls)
    started, started_at = time.perf_counter(), time.time()
    manifest = register_folder(warehouse, folder)
    outcome = run_batch(warehouse, manifest)
    wall = time.perf_counter() - started
    ended_at = time.time()
    windows = step_windows(dagster_instance(warehouse), outcome.run_id)
    calls = recorder.calls[first_call:]
    commits = new_commits(warehouse, before_versions)
    for commit in commits:
        call = next((c for c in calls if c["started"] - 0.01 <= commit["at"] <= c["ended"] + 0.01), None)
        commit["seconds"] = round(call["seconds"], 3) if call else None
        commit["step"] = next((w["step"] for w in windows if w["start"] <= commit["at"] <= w["end"]),
                              "(outside steps)")
        del commit["at"]
    per_table: dict[str, int] = defaultdict(int)
    for commit in commits:
        per_table[commit["table"]] += 1
    steps = {w["step"]: round(w["end"] - w["start"], 2) for w in windows}
    return {
        "run": label, "files": len(files), "success": outcome.success, "wall_seconds": round(wall, 2),
        "started_at": started_at, "ended_at": ended_at,
        "steps_seconds": steps, "outside_steps_seconds": round(wall - sum(steps.values()), 2),
        "delta_commits": len(commits), "delta_commits_by_table": dict(sorted(per_table.items())),
        "write_call_seconds": round(sum(c["seconds"] for c in calls), 2),
        "commits": commits, "spark_jobs": jobs() - before_jobs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3, help="one-file runs after the first (cold) one")
    parser.add_argument("--large", type=int, default=100, help="files of the last run (0: none)")
    parser.add_argument("--repo", type=Path, default=None, help="measure this checkout's code")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed-file", default="CT_small.dcm", help="pydicom test file copied with new UIDs")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra Spark setting for this process (repeatable), to compare settings")
    parser.add_argument("--jobs-by-origin", action="store_true",
                        help="also count the Spark jobs of each warm one-file run by where they come from "
                             "(Spark's event log, written under the workdir)")
    args = parser.parse_args(argv)

    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deidlake-bench-overhead-")).resolve()
    # Spark starts its Python daemon with `python -m` in the driver's working directory, which comes first on
    # the workers' path: from this checkout's folder they would import this checkout, not `--repo`'s.
    os.chdir(CODE)
    warehouse = Warehouse(work / "warehouse").create()
    os.environ.update({"DEIDLAKE_WAREHOUSE": str(warehouse.root), "DAGSTER_HOME": ""})   # set, for the runs
    sources = distinct_copies(work / "sources", 1 + args.warm_runs + args.large, seeds=(args.seed_file,))

    extra = dict(item.split("=", 1) for item in args.conf)
    if args.jobs_by_origin:
        (work / "eventlog").mkdir(exist_ok=True)
        extra |= {"spark.eventLog.enabled": "true", "spark.eventLog.dir": str(work / "eventlog")}
    t0 = time.perf_counter()
    spark = build_spark_session(SparkSettings.from_env(extra_conf=extra), warehouse)
    session_seconds = time.perf_counter() - t0
    runs = []
    recorder = CommitRecorder()
    with recorder.installed():
        runs.append(one_run("cold-1", sources[:1], work, warehouse, spark, recorder))
        for i in range(args.warm_runs):
            runs.append(one_run(f"warm-{i + 1}", sources[1 + i:2 + i], work, warehouse, spark, recorder))
        if args.large:
            runs.append(one_run(f"warm-{args.large}", sources[1 + args.warm_runs:], work, warehouse, spark,
                                recorder))
    spark.stop()

    warm_small = [r["wall_seconds"] for r in runs if r["run"].startswith("warm-") and r["files"] == 1]
    figures = {"code": str(CODE), "spark_conf": extra, "session_start_seconds": round(session_seconds, 2),
               "warm_one_file_median_seconds": round(median(warm_small), 2) if warm_small else None,
               "runs": runs, "workdir": str(work)}
    rows = []
    for run in runs:
        slowest = sorted(run["steps_seconds"].items(), key=lambda kv: -kv[1])
        rows.append((run["run"], run["files"], "ok" if run["success"] else "FAILED", run["wall_seconds"],
                     run["outside_steps_seconds"], f"{run['delta_commits']} / {run['write_call_seconds']} s",
                     run["spark_jobs"], ", ".join(f"{k.split('.')[-1]} {v}" for k, v in slowest)))
    report("run_overhead", figures, rows,
           ("run", "files", "status", "wall s", "outside steps s", "commits / s", "spark jobs", "steps (s)"))
    by_table: dict[str, list[float]] = defaultdict(list)
    for run in runs[1:]:
        if run["files"] == 1:
            for commit in run["commits"]:
                by_table[f"{commit['table']} ({commit['operation']}, {commit['step'].split('.')[-1]})"].append(
                    commit["seconds"] or 0.0)
    if by_table:
        print("\nwarm one-file runs, per commit (median seconds, commits per run):")
        per_run = max(1, sum(1 for r in runs[1:] if r["files"] == 1))
        for name, seconds in sorted(by_table.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {median(seconds):6.2f}  x{len(seconds) / per_run:.1f}  {name}")
    if args.jobs_by_origin:
        print_jobs_by_origin(work / "eventlog", [r for r in runs[1:] if r["files"] == 1])
    return 0 if all(r["success"] for r in runs) else 1


def print_jobs_by_origin(folder: Path, runs: list[dict]) -> None:
    """Spark jobs of the warm one-file runs grouped by origin: the job's description (Delta names its
    jobs), else the Dataset call of its SQL execution (localCheckpoint, isEmpty, count, save...)."""
    origins: dict[str, list[float]] = defaultdict(list)
    windows = [(r["started_at"], r["ended_at"]) for r in runs]
    executions, starts = {}, {}
    for log in folder.iterdir():
        for line in log.read_text().splitlines():
            event = json.loads(line)
            kind = event["Event"]
            if kind.endswith("SparkListenerSQLExecutionStart"):
                call = next((l.strip() for l in event.get("details", "").splitlines()
                             if l.strip().startswith("org.apache.spark.sql.Dataset.")), "")
                executions[str(event["executionId"])] = call.split("(")[0].rsplit(".", 1)[-1] or \
                    event.get("description", "?")[:60]
            elif kind == "SparkListenerJobStart":
                props = event.get("Properties") or {}
                origin = props.get("spark.job.description") or (
                    "Dataset." + executions.get(props.get("spark.sql.execution.root.id")
                                                or props.get("spark.sql.execution.id"), "?"))
                starts[event["Job ID"]] = (event["Submission Time"] / 1000.0, origin)
            elif kind == "SparkListenerJobEnd" and event["Job ID"] in starts:
                at, origin = starts[event["Job ID"]]
                if any(a <= at <= b for a, b in windows):
                    origins[origin[:110]].append(event["Completion Time"] / 1000.0 - at)
    per_run = max(len(runs), 1)
    total = sum(len(v) for v in origins.values())
    print(f"\nSpark jobs of {len(runs)} warm one-file runs by origin ({total / per_run:.0f} jobs per run; "
          "jobs and seconds per run):")
    for origin, seconds in sorted(origins.items(), key=lambda kv: -len(kv[1]))[:25]:
        print(f"  {len(seconds) / per_run:5.1f}  {sum(seconds) / per_run:6.2f}  {origin}")


if __name__ == "__main__":
    sys.exit(main())
