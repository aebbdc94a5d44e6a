"""Bronze ingest on Spark: landing files are hashed, copied to the raw store and inspected in parallel."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from transforms.ingest import DEFAULT_MAX_FILE_BYTES, RejectReason, inspect_dicom_file
from transforms.keyring import Keyring
from transforms.landing import BatchManifest
from transforms.spark import task_partitions
from warehouse.raw_store import RawStore
from warehouse.schemas import DICOM_FILES

LANDING_TASK_INPUT = StructType([StructField("relative_path", StringType(), False)])


def ingest_manifest(spark: SparkSession, manifest: BatchManifest, raw_store_root: str,
                    files_per_task: int = 32, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> DataFrame:
    """One bronze row per landing file of the batch (duplicate contents included), materialized once."""
    paths = [(f.relative_path,) for f in manifest.files]
    landing = spark.createDataFrame(paths, LANDING_TASK_INPUT).repartition(
        task_partitions(spark, len(paths), files_per_task))

    def ingest_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        store = RawStore(raw_store_root)
        for batch in batches:
            yield pd.DataFrame([ingest_one(manifest, store, p, max_file_bytes)
                                for p in batch["relative_path"]], columns=DICOM_FILES.fieldNames())

    # Materialize now: the tasks copy files, and the result feeds two tables.
    return landing.mapInPandas(ingest_partition, DICOM_FILES).localCheckpoint(eager=True)


def ingest_one(manifest: BatchManifest, store: RawStore, relative_path: str, max_file_bytes: int) -> dict:
    """Store first (nothing vanishes, whatever the verdict), then inspect the stored copy."""
    now = datetime.now(timezone.utc)
    row = {"relative_path": relative_path, "ingest_time": now, "batch_id": manifest.batch_id}
    source = manifest.landing_root + "/" + relative_path
    try:
        stored = store.put_file(source)
    except OSError as exc:
        # No content hash to key on: key the row on the (keyed) landing path, so a re-run adds nothing.
        key = Keyring.from_env().hexdigest("unreadable-landing-file", f"{manifest.landing_root}/{relative_path}")
        return row | {"sha256": f"unreadable-{key}", "size_bytes": 0, "status": "rejected",
                      "reject_reason": str(RejectReason.UNREADABLE_FILE),
                      "reject_detail": type(exc).__name__, "raw_path": ""}
    verdict = inspect_dicom_file(stored.path, max_file_bytes)
    return row | {"sha256": stored.sha256, "size_bytes": stored.size_bytes, "status": verdict.status,
                  "reject_reason": verdict.reject_reason, "reject_detail": verdict.reject_detail,
                  "raw_path": str(stored.path)}
