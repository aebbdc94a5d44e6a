"""Concurrent writers on one warehouse: `deidlake run`s and a Dagster UI backfill at the same time.

    .venv/bin/python bench/concurrency.py [--cli-runs 8] [--files-per-run 10] [--partitions 20]
                                          [--max-drivers N] [--workdir DIR]

At once, on one fresh warehouse: `--cli-runs` processes of `deidlake run`, `--files-per-run` files each
(neighbouring runs share one content, so they also race to insert the same rows), and a backfill over
`--partitions` registered landing batches launched through the default Dagster instance (a real
`dagster dev`: webserver, daemon and run queue; the launch is the UI's own GraphQL mutation). While they
run, the Spark driver JVMs of this warehouse are counted every half second (from /proc: JVMs whose
command line names the warehouse, not the children a driver forks). Then: every run and the backfill
must have succeeded, gold must hold every distinct DICOM content at most once and every input must be
in gold or in open quarantine exactly once, and the peak number of drivers must not exceed the limit
(`DEIDLAKE_MAX_SPARK_DRIVERS`).
Long (every run starts a cold JVM): tens of minutes on a 2-core host. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DEIDLAKE_MODE", "test")

from bench.common import distinct_copies, report  # noqa: E402

PARTITION_SET = "deidentify_batch_partition_set"
LAUNCHER = b"org.apache.spark.launcher.Main"     # builds the driver's command line and exits
REPOSITORY = {"repositoryLocationName": "orchestration.definitions", "repositoryName": "__repository__"}
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 100) { status } } } }"""


class DriverCounter:
    """Samples the Spark driver JVMs of one warehouse (their command line names its catalog folder)."""

    def __init__(self, warehouse: Path, interval: float = 0.5):
        self.marker = str(warehouse / "_spark_catalog").encode()
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self) -> int:
        """Driver JVMs: Spark's submit JVMs that name the warehouse, not forked by another of them. A
        driver forks to start its Python workers and shell commands, and the child shows the driver's
        command line until it execs (counted as drivers, those made one run look like two or three);
        Spark's launcher JVM, which only prints the driver's command line, is not a driver either."""
        found: dict[str, str] = {}                   # pid -> parent pid
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if b"java" in argv[0] and self.marker in b"\0".join(argv) and LAUNCHER not in argv:
                found[pid] = parent
        return sum(1 for parent in found.values() if parent not in found)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.count())
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "DriverCounter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cli_run(warehouse: Path, folder: Path, output: Path, log: Path, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(warehouse), "run", "--input",
               str(folder), "--output", str(output), "--json"]
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def register_batches(warehouse, landing: Path, sources: list[Path], partitions: int) -> list[str]:
    """`partitions` landing batches (as `deidlake ingest` or the sensor registers them), not run yet."""
    from transforms.landing import BatchRegistry, list_landing_files

    registry, batches = BatchRegistry(warehouse.batch_manifests), []
    per_batch = max(1, len(sources) // partitions)
    for i in range(partitions):
        folder = landing / f"backfill-{i:02d}"
        folder.mkdir(parents=True)
        for source in sources[i * per_batch:(i + 1) * per_batch]:
            shutil.copy2(source, folder / source.name)
        files = [f for f in list_landing_files(landing) if f.relative_path.startswith(f"{folder.name}/")]
        batches.append(registry.register(landing, files).batch_id)
    return batches


def launch_backfill(dev, batches: list[str]) -> str:
    add = """mutation($repo: RepositorySelector!, $key: String!) { addDynamicPartition(
      repositorySelector: $repo, partitionsDefName: "landing_batches", partitionKey: $key) { __typename } }"""
    for batch in batches:
        assert dev.graphql(add, {"repo": REPOSITORY, "key": batch})["addDynamicPartition"]["__typename"] == \
            "AddDynamicPartitionSuccess"
    params = {"selector": {"partitionSetName": PARTITION_SET, "repositorySelector": REPOSITORY},
              "partitionNames": batches}
    answer = dev.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    if answer["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"backfill not launched: {answer}")
    return answer["backfillId"]


def wait_backfill(dev, backfill_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = dev.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        runs_done = all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in state["runs"])
        if state["status"] not in ("REQUESTED", "CANCELING") and runs_done:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} still {state['status']}")
        time.sleep(5)


def account(warehouse_root: Path, inputs: list[Path]) -> dict:
    """Per distinct input content: how many times gold holds it and whether quarantine does."""
    from pyspark.sql import functions as F

    from orchestration.resources import PipelineSettings
    from warehouse import tables
    from warehouse.delta_io import read_table
    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    wh = Warehouse(warehouse_root)
    spark = build_spark_session(SparkSettings.from_env(driver_memory="2g"), wh)
    gold = [r["sha256"] for r in read_table(spark, wh, tables.GOLD_MANIFEST)
            .where(F.col("run_key") == PipelineSettings().run_key()).select("sha256").collect()]
    held = {r["sha256"] for r in read_table(spark, wh, tables.QUARANTINE)
            .where(F.col("resolved_at").isNull()).select("sha256").collect()}
    spark.stop()
    contents = {hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    places = {sha: gold.count(sha) + (sha in held) for sha in contents}
    return {"distinct_inputs": len(contents), "gold_rows": len(gold), "gold_distinct": len(set(gold)),
            "quarantined": len(held & contents),
            "lost": sum(1 for n in places.values() if n == 0),
            "duplicated": sum(1 for n in places.values() if n > 1) + len(gold) - len(set(gold))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-runs", type=int, default=8)
    parser.add_argument("--files-per-run", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--max-drivers", type=int, default=None, help="default: the machine's (driver_slots)")
    parser.add_argument("--timeout", type=float, default=5400.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    from orchestration.instance import prepare_dagster_home
    from tests.infra.dagster_dev import DagsterDev, dagster_env
    from warehouse.driver_slots import MAX_DRIVERS_ENV, driver_limit
    from warehouse.layout import Warehouse

    if args.max_drivers:
        os.environ[MAX_DRIVERS_ENV] = str(args.max_drivers)
    limit = driver_limit()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="deidlake-bench-concurrency-"))
    warehouse = Warehouse(work / "warehouse").create()
    step = max(1, args.files_per_run - 1)              # neighbouring runs share one content
    cli_files = distinct_copies(work / "sources-cli", step * args.cli_runs + 1)
    backfill_files = distinct_copies(work / "sources-backfill", args.partitions, seeds=("CT_small.dcm",))
    folders = []
    for i in range(args.cli_runs):
        folder = work / "cli" / f"run-{i}"
        folder.mkdir(parents=True)
        for source in cli_files[i * step:i * step + args.files_per_run]:
            shutil.copy2(source, folder / source.name)
        folders.append(folder)
    batches = register_batches(warehouse, warehouse.landing, backfill_files, args.partitions)
    env = os.environ | {MAX_DRIVERS_ENV: str(limit), "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g"}
    home = prepare_dagster_home(warehouse)
    dev = DagsterDev(dagster_env(warehouse.root, home, {MAX_DRIVERS_ENV: str(limit), "DEIDLAKE_MODE": "test",
                                                        "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g"}),
                     work / "dagster-dev.log")
    started = time.monotonic()
    try:
        dev.start()
        with DriverCounter(warehouse.root) as drivers:
            backfill_id = launch_backfill(dev, batches)
            runs = [cli_run(warehouse.root, folder, work / "out" / folder.name, work / f"{folder.name}.log", env)
                    for folder in folders]
            codes = [run.wait(timeout=args.timeout) for run in runs]
            backfill = wait_backfill(dev, backfill_id, args.timeout)
        wall = time.monotonic() - started
    finally:
        dev.stop()
    outcome = account(warehouse.root, cli_files + backfill_files)
    backfill_runs = [r["status"] for r in backfill["runs"]]
    figures = {
        "cli_runs": args.cli_runs, "files_per_run": args.files_per_run, "partitions": args.partitions,
        "driver_limit": limit, "peak_drivers": drivers.peak, "driver_samples": drivers.samples,
        "cli_exit_codes": codes, "cli_succeeded": sum(1 for c in codes if c in (0, 3)),
        "backfill_status": backfill["status"], "backfill_runs_succeeded": backfill_runs.count("SUCCESS"),
        **outcome, "wall_seconds": round(wall, 1), "workdir": str(work),
    }
    ok = (figures["cli_succeeded"] == args.cli_runs and backfill["status"] == "COMPLETED_SUCCESS"
          and backfill_runs.count("SUCCESS") == args.partitions and outcome["lost"] == outcome["duplicated"] == 0
          and drivers.peak <= limit)
    rows = [("deidlake run succeeded", f"{figures['cli_succeeded']} of {args.cli_runs} (exit codes {codes})"),
            ("UI backfill", f"{backfill['status']}, {figures['backfill_runs_succeeded']} of {args.partitions} runs"),
            ("peak Spark drivers / limit", f"{drivers.peak} / {limit}"),
            ("distinct inputs / in gold / quarantined", f"{outcome['distinct_inputs']} / {outcome['gold_distinct']}"
             f" / {outcome['quarantined']}"),
            ("lost / duplicated", f"{outcome['lost']} / {outcome['duplicated']}"),
            ("wall", f"{wall:.0f} s"), ("verdict", "ok" if ok else "FAILED")]
    report("concurrency", figures, rows, ("measure", "value"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
