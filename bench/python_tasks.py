"""The fixed cost of a PySpark Python task: PySpark's stock daemon against warehouse.python_daemon.

    DEIDLAKE_MODE=test .venv/bin/python bench/python_tasks.py [--master local[2]] [--partitions 24]
                                                              [--repeats 5] [--pairs 2]

Why: before every Python task PySpark's worker calls `importlib.invalidate_caches()`, and on Python < 3.13
each zip importer then re-reads its whole archive's directory (pyspark.zip, the spark-core jar): a fixed
cost paid by every task, whatever it does. warehouse/python_daemon.py skips the re-read for an archive
that did not change (`spark.python.daemon.module`, set in warehouse/spark_session.py `spark_conf`).
What: no-op jobs of N one-row partitions, so that nearly all their time is task overhead: an RDD
`mapPartitions` and a DataFrame `mapInPandas` (Arrow). Each daemon runs in its own process (the setting
is static per SparkContext), alternating stock/project for several pairs so the machine's noise hits
both; after one warm-up job, the wall seconds of each repeat are recorded. Reported per daemon: median
seconds per job and per task (job seconds * cores / N), and the ratio stock/project.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAEMONS = {"stock": "pyspark.daemon", "project": "warehouse.python_daemon"}
JOBS = ("rdd", "pandas")


def run_python_tasks(daemon: str, master: str, partitions: int, repeats: int) -> dict:
    """Child process: one Spark session with the given daemon module; wall seconds of each no-op job."""
    os.environ.setdefault("DEIDLAKE_MODE", "test")
    import dataclasses

    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    warehouse = Warehouse(Path(tempfile.mkdtemp(prefix="bench-pytasks-")) / "wh").create()
    settings = SparkSettings.from_env(master=master)
    settings = dataclasses.replace(settings, extra_conf={
        **settings.extra_conf, "spark.python.daemon.module": DAEMONS[daemon]})
    spark = build_spark_session(settings, warehouse)

    def rdd_job() -> None:
        spark.sparkContext.parallelize(range(partitions), partitions).mapPartitions(
            lambda rows: [sum(1 for _ in rows)]).collect()

    def pandas_job() -> None:
        spark.range(0, partitions, 1, partitions).mapInPandas(lambda batches: batches, "id long").collect()

    seconds: dict[str, list[float]] = {}
    for name, job in zip(JOBS, (rdd_job, pandas_job)):
        job()                                            # warm-up: daemon start, imports, JIT
        seconds[name] = []
        for _ in range(repeats):
            started = time.perf_counter()
            job()
            seconds[name].append(time.perf_counter() - started)
    result = {"daemon": daemon, "module": DAEMONS[daemon], "seconds": seconds,
              "cores": _cores(master) or spark.sparkContext.defaultParallelism,
              "daemon_processes_seen": _daemon_modules_running()}
    spark.stop()
    return result


def _cores(master: str) -> int | None:
    """Cores of a local master string (local, local[2], local[*], local[2,3]); None for a cluster."""
    if master == "local":
        return 1
    match = re.fullmatch(r"local\[(\d+|\*)(,\d+)?\]", master)
    if not match:
        return None
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def _daemon_modules_running() -> list[str]:
    """Daemon modules run with `-m` under this process (proof of which daemon Spark started)."""
    modules = set()
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        module = args[args.index(b"-m") + 1].decode() if b"-m" in args[:-1] else None
        if module in DAEMONS.values() and _is_descendant(int(entry.name)):
            modules.add(module)
    return sorted(modules)


def _is_descendant(pid: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == os.getpid():
            return True
    return False


def _child(daemon: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", daemon, "--master", args.master,
               "--partitions", str(args.partitions), "--repeats", str(args.repeats)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode or not lines:
        raise RuntimeError(f"child {daemon} failed: {completed.stderr[-2000:]}")
    return json.loads(lines[-1])


def summarize(runs: list[dict], partitions: int) -> dict:
    """Per daemon and job: the median over every repeat of every child, per job and per task."""
    figures: dict = {}
    for daemon in DAEMONS:
        mine = [r for r in runs if r["daemon"] == daemon]
        cores = mine[0]["cores"]
        figures[daemon] = {"cores": cores, "daemon_processes_seen": mine[0]["daemon_processes_seen"]}
        for job in JOBS:
            every = [s for r in mine for s in r["seconds"][job]]
            median = statistics.median(every)
            figures[daemon][job] = {"median_job_seconds": round(median, 3),
                                    "median_task_seconds": round(median * cores / partitions, 4),
                                    "runs_seconds": [round(s, 3) for s in every]}
    figures["ratio_stock_over_project"] = {
        job: round(figures["stock"][job]["median_job_seconds"] / figures["project"][job]["median_job_seconds"], 2)
        for job in JOBS}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=2, help="alternating stock/project child processes")
    parser.add_argument("--child", choices=tuple(DAEMONS), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_python_tasks(args.child, args.master, args.partitions, args.repeats)))
        return 0

    runs = [_child(daemon, args) for _ in range(max(args.pairs, 1)) for daemon in DAEMONS]
    figures = summarize(runs, args.partitions)
    print(json.dumps({"benchmark": "python_tasks", "python": sys.version.split()[0], "master": args.master,
                      "partitions": args.partitions, "repeats": args.repeats, "pairs": max(args.pairs, 1),
                      **figures}))
    print(f"{'daemon':<8} {'job':<7} {'median s/job':>13} {'median s/task':>14}")
    for daemon in DAEMONS:
        for job in JOBS:
            r = figures[daemon][job]
            print(f"{daemon:<8} {job:<7} {r['median_job_seconds']:>13.3f} {r['median_task_seconds']:>14.4f}")
    ratios = figures["ratio_stock_over_project"]
    print(f"ratio stock/project (median job seconds): rdd {ratios['rdd']}, pandas {ratios['pandas']} "
          f"({args.partitions} tasks on {args.master}, {len(runs)} children x {args.repeats} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
