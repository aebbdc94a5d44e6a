"""The metadata step on Spark: one header parse per file, split into the elements and complexity tables."""

from __future__ import annotations

import os
from typing import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.dicom_io import HeaderError
from transforms.spark import spread_over_tasks
from transforms.metadata import describe_file
from warehouse.schemas import DICOM_COMPLEXITY, DICOM_ELEMENTS, METADATA_TASK_RESULT

RESULT_COLUMNS = METADATA_TASK_RESULT.fieldNames()


def describe_files(files: DataFrame, files_per_task: int = 32) -> DataFrame:
    """`files` has sha256, batch_id, raw_path, size_bytes; the result has one row per file, materialized."""
    tasks = spread_over_tasks(files.select("sha256", "batch_id", "raw_path", "size_bytes"), files_per_task)
    return tasks.mapInPandas(_describe_partition, METADATA_TASK_RESULT).localCheckpoint(eager=True)


def _describe_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        rows = [_describe_one(r.sha256, r.batch_id, r.raw_path, r.size_bytes) for r in batch.itertuples()]
        yield pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _describe_one(sha256: str, batch_id: str, raw_path: str, size_bytes: int) -> dict:
    base = {name: None for name in RESULT_COLUMNS}
    base.update(sha256=sha256, batch_id=batch_id, file_bytes=int(size_bytes), has_pixel_data=False,
                element_count=0, private_element_count=0, sequence_count=0, max_sequence_depth=0,
                has_overlay=False, estimated_cost_seconds=0.0, header_parse_seconds=0.0, elements=[])
    try:
        described = describe_file(raw_path, int(size_bytes))
    except HeaderError as exc:
        return base | {"metadata_error": exc.reason}
    except Exception as exc:  # noqa: BLE001 - one bad header must not fail the partition
        return base | {"metadata_error": f"metadata_failed:{type(exc).__name__}"}
    return base | described | {"sha256": sha256, "batch_id": batch_id}


def complexity_rows(described: DataFrame) -> DataFrame:
    return described.select(*DICOM_COMPLEXITY.fieldNames())


def element_rows(described: DataFrame) -> DataFrame:
    exploded = described.select("sha256", "batch_id", F.explode("elements").alias("e"))
    return exploded.select("sha256", "batch_id", "e.*").select(*DICOM_ELEMENTS.fieldNames())


def metadata_failures(described: DataFrame) -> DataFrame:
    return described.where(F.col("metadata_error").isNotNull()).select("sha256", "batch_id", "metadata_error")
