"""Ingest + metadata throughput against a bare pydicom header-read loop over the same files, same run.

    .venv/bin/python bench/metadata.py [--files 240] [--repeats 3] [--master local[2]]

Prints files/s and MB/s of (a) a bare `pydicom.dcmread(stop_before_pixels=True)` loop on one core,
(b) our Spark tasks (raw-store copy + verdict, then element flattening + complexity figures), and
(c) the whole Dagster-materialized bronze + metadata step with its Delta MERGEs; and the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEIDLAKE_MODE", "test")

import pydicom  # noqa: E402

from bench.common import distinct_copies, median, report, timed  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)

    from dagster import materialize

    from orchestration.definitions import ASSETS, INGEST_SELECTION, build_resources
    from orchestration.instance import dagster_instance
    from orchestration.partitions import landing_batches
    from transforms.landing import BatchRegistry, list_landing_files
    from transforms.spark.ingest import ingest_manifest
    from transforms.spark.metadata import describe_files
    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    with tempfile.TemporaryDirectory(prefix="bench-metadata-") as tmp:
        tmp = Path(tmp)
        files = distinct_copies(tmp / "landing", args.files)
        total_mb = sum(p.stat().st_size for p in files) / 1048576

        bare = timed(lambda: [pydicom.dcmread(p, stop_before_pixels=True) for p in files], args.repeats)

        spark = build_spark_session(SparkSettings.from_env(master=args.master), Warehouse(tmp / "catalog"))

        def spark_tasks() -> None:
            warehouse = Warehouse(tmp / f"tasks-{os.urandom(4).hex()}").create()
            manifest = BatchRegistry(warehouse.batch_manifests).register(tmp / "landing",
                                                                         list_landing_files(tmp / "landing"))
            ingested = ingest_manifest(spark, manifest, str(warehouse.raw_store))
            describe_files(ingested.where("status = 'ok'"))

        def dagster_run() -> None:
            warehouse = Warehouse(tmp / f"run-{os.urandom(4).hex()}").create()
            instance = dagster_instance(warehouse)
            manifest = BatchRegistry(warehouse.batch_manifests).register(tmp / "landing",
                                                                         list_landing_files(tmp / "landing"))
            instance.add_dynamic_partitions(landing_batches.name, [manifest.batch_id])
            result = materialize(ASSETS, selection=INGEST_SELECTION, partition_key=manifest.batch_id,
                                 instance=instance, raise_on_error=True,
                                 resources=build_resources(str(warehouse.root), stop_spark_on_teardown=False),
                                 run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
            assert result.success

        spark_tasks()                                  # warm-up: JVM JIT and Python workers
        tasks = timed(spark_tasks, args.repeats)
        full = timed(dagster_run, args.repeats)
        spark.stop()

    n = len(files)
    rates = {name: (n / median(t), total_mb / median(t)) for name, t in
             (("bare_pydicom_header_loop_1core", bare), ("spark_ingest_metadata_tasks", tasks),
              ("dagster_bronze_metadata_with_delta", full))}
    base = rates["bare_pydicom_header_loop_1core"][0]
    figures = {"files": n, "megabytes": round(total_mb, 1), "master": args.master, "repeats": args.repeats,
               "median_seconds": {"bare": median(bare), "spark_tasks": median(tasks), "dagster": median(full)},
               "files_per_second": {k: round(v[0], 1) for k, v in rates.items()},
               "mb_per_second": {k: round(v[1], 1) for k, v in rates.items()},
               "ratio_to_bare": {k: round(v[0] / base, 3) for k, v in rates.items()}}
    report("metadata", figures,
           [(k, round(v[0], 1), round(v[1], 1), round(v[0] / base, 3)) for k, v in rates.items()],
           ("path", "files/s", "MB/s", "ratio vs bare"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
