"""Recording files that will not be published, whatever the stage that stopped them.

Stages describe the files they hold back (`quarantine_rows`) and hand them to the run's ledger
(`orchestration.run_ledger`), which writes them with `record_quarantine` once per run.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from warehouse import tables
from warehouse.delta_io import COMMIT_RETRY, ensure_table, table_location
from warehouse.layout import Warehouse


def quarantine_rows(rows: DataFrame, stage: str, run_id: str, reason: str | Column = "error",
                    detail: str | Column | None = None, at: str | Column | None = None) -> DataFrame:
    """silver.quarantine rows for `rows` (sha256, batch_id): reasons machine-readable, details PHI-free."""
    return rows.select(
        "sha256", "batch_id", F.lit(stage).alias("stage"), _column(reason).alias("reason"),
        (_column(detail) if detail is not None else F.lit(None).cast("string")).alias("detail"),
        (_column(at) if at is not None else F.current_timestamp()).alias("quarantined_at"),
        F.lit(run_id).alias("run_id"), F.lit(None).cast("timestamp").alias("resolved_at"))


def record_quarantine(spark: SparkSession, warehouse: Warehouse, held: DataFrame | None,
                      resolved: DataFrame | None = None, published: DataFrame | None = None) -> bool:
    """One MERGE: new quarantine rows (keyed on sha256, stage, reason; an existing key is kept), and
    `resolved_at` on the open rows of the contents in `resolved` (sha256: files fixed and published since).

    A content in `published` (gold holds it) is never newly held: a concurrent run of another batch may
    have published it while this run failed on it (e.g. its staging raced), and it is not lost. This also
    keeps one source row per target row, as Delta's MERGE requires. Returns whether anything was written.
    """
    spec = tables.QUARANTINE
    columns = spec.schema.fieldNames()
    parts = []
    if held is not None:
        held = held.select(*columns).dropDuplicates(list(spec.keys))
        for shas in (published, resolved):
            if shas is not None:
                held = held.join(shas.select("sha256").distinct(), "sha256", "left_anti")
        parts.append(held.withColumn("resolve", F.lit(False)))
    if resolved is not None:
        shas = resolved.select("sha256").distinct()
        parts.append(shas.select("sha256", *[F.lit(None).cast(spec.schema[c].dataType).alias(c)
                                             for c in columns if c != "sha256"])
                     .withColumn("resolve", F.lit(True)))
    if not parts:
        return False
    source = (parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])).localCheckpoint(eager=True)
    if source.isEmpty():
        return False
    ensure_table(spark, warehouse, spec)
    condition = "t.sha256 = s.sha256 AND (s.resolve OR (t.stage = s.stage AND t.reason = s.reason))"

    def merge() -> None:
        (DeltaTable.forPath(spark, table_location(warehouse, spec)).alias("t").merge(source.alias("s"), condition)
         .whenMatchedUpdate(condition="s.resolve AND t.resolved_at IS NULL",
                            set={"resolved_at": "current_timestamp()"})
         .whenNotMatchedInsert(condition="NOT s.resolve", values={c: f"s.`{c}`" for c in columns})
         .execute())

    COMMIT_RETRY.run(merge, f"MERGE into {spec.qualified_name}")
    return True


def _column(value: str | Column) -> Column:
    return F.col(value) if isinstance(value, str) else value
