"""Recording files that will not be published, whatever the stage that stopped them."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from warehouse import tables
from warehouse.delta_io import merge_new_rows
from warehouse.layout import Warehouse


def quarantine(session: SparkSession, warehouse: Warehouse, rows: DataFrame, stage: str, run_id: str,
               reason: str | Column = "error", detail: str | Column | None = None,
               at: str | Column | None = None) -> None:
    """`rows` has sha256 and batch_id; reasons are machine-readable, details PHI-free."""
    merge_new_rows(session, warehouse, tables.QUARANTINE, rows.select(
        "sha256", "batch_id", F.lit(stage).alias("stage"), _column(reason).alias("reason"),
        (_column(detail) if detail is not None else F.lit(None).cast("string")).alias("detail"),
        (_column(at) if at is not None else F.current_timestamp()).alias("quarantined_at"),
        F.lit(run_id).alias("run_id"), F.lit(None).cast("timestamp").alias("resolved_at")))


def _column(value: str | Column) -> Column:
    return F.col(value) if isinstance(value, str) else value
