"""Creating, merging into and reading the Delta tables of the registry, and the SQL catalog.

Concurrent writers. Runs of different batches (CLI runs, backfill partitions, sensor runs, the stream)
write the same tables at once, and Delta's optimistic concurrency decides (docs/operations.md,
"Concurrent runs"):
- rows that belong to one batch live in tables partitioned by `batch_id`, and every write names its
  batch in the MERGE condition (`scope`), so writers of different batches read and write disjoint
  partitions and never conflict;
- rows keyed on a content (sha256) are shared by every batch holding that content: two batches that
  insert the same new content *must* conflict (one of them would duplicate it), so those MERGEs keep
  the whole key and a conflict is retried (`COMMIT_RETRY`): the retry re-reads the table and inserts
  only what is still missing;
- records that are new by construction (stage metrics, gate checks, keyed on the run id) are blind
  appends, which never conflict with each other.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from warehouse.layout import Warehouse
from warehouse.tables import TABLES, TableSpec

VIEWS_SQL = Path(__file__).with_name("views.sql")
LOG = logging.getLogger(__name__)
T = TypeVar("T")

# What Delta raises when another transaction committed first and this one's reads or writes overlap it.
CONCURRENT_COMMIT_ERRORS = (
    DeltaConcurrentModificationException, ConcurrentWriteException, MetadataChangedException,
    ProtocolChangedException, ConcurrentAppendException, ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException, ConcurrentTransactionException,
)


@dataclass(frozen=True)
class CommitRetry:
    """Bounded retry of one Delta operation that lost a race: exponential backoff with full jitter, so
    writers that collided do not collide again in step. 8 attempts wait at most ~50 s in all."""

    attempts: int = 8
    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 16.0

    def delay(self, attempt: int, rng: random.Random = random.Random()) -> float:
        return rng.uniform(0, min(self.max_delay_seconds, self.first_delay_seconds * 2 ** (attempt - 1)))

    def run(self, operation: Callable[[], T], what: str, sleep: Callable[[float], None] = time.sleep) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except CONCURRENT_COMMIT_ERRORS as exc:
                if attempt == self.attempts:
                    raise
                pause = self.delay(attempt)
                LOG.info("%s lost a concurrent commit (%s, attempt %d of %d): again in %.1f s", what,
                         type(exc).__name__, attempt, self.attempts, pause)
                sleep(pause)
        raise AssertionError("unreachable")


COMMIT_RETRY = CommitRetry()


def table_location(warehouse: Warehouse, spec: TableSpec) -> str:
    return str(warehouse.table_path(spec.zone, spec.name))


def ensure_table(spark: SparkSession, warehouse: Warehouse, spec: TableSpec) -> None:
    """Create the table if its Delta log has no commit yet.

    The warehouse is a local (or mounted) folder, so a look at the log's folder answers "does it exist"
    without Delta's CREATE TABLE IF NOT EXISTS, which costs a Spark round trip (~0.15 s) and is asked
    some 70 times per run.
    """
    location = table_location(warehouse, spec)
    if _has_commits(Path(location)):
        return
    builder = DeltaTable.createIfNotExists(spark).location(location).addColumns(spec.schema)
    if spec.partition_by:
        builder = builder.partitionedBy(*spec.partition_by)
    for attempt in range(1, COMMIT_RETRY.attempts + 1):
        try:
            builder.execute()
            return
        except (*CONCURRENT_COMMIT_ERRORS, AnalysisException):
            # Two first runs of a warehouse create the same table at once. The loser sees a commit
            # conflict, or (between the winner's log folder and its first commit) a table that "doesn't
            # exist". Once the winner's commit is there, the table is made: forget what this JVM cached.
            _forget_cached_log(spark, location)
            if _has_commits(Path(location)):
                return
            if attempt == COMMIT_RETRY.attempts:
                raise
            time.sleep(COMMIT_RETRY.delay(attempt))


def _forget_cached_log(spark: SparkSession, location: str) -> None:
    """Drop this JVM's cached Delta log of `location` (stale after another process created the table)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(location)
    jvm.org.apache.spark.sql.delta.DeltaLog.invalidateCache(spark._jsparkSession, path)


def _has_commits(location: Path) -> bool:
    """A commit file (or a checkpoint, once old commits are cleaned up) in the table's `_delta_log`."""
    try:
        with os.scandir(location / "_delta_log") as entries:
            return any(e.name.endswith((".json", ".parquet")) and e.name[:1].isdigit() for e in entries)
    except FileNotFoundError:
        return False


def read_table(spark: SparkSession, warehouse: Warehouse, spec: TableSpec) -> DataFrame:
    ensure_table(spark, warehouse, spec)
    return spark.read.format("delta").load(table_location(warehouse, spec))


def merge_new_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
                   scope: dict[str, str] | None = None) -> None:
    """Insert the rows whose keys are not in the table yet: re-running a batch adds nothing.

    `scope` ({"batch_id": ...}) confines the MERGE to the partitions of the table holding those values
    (every row written must carry them): writers of other batches then never conflict with this one.
    """
    _merge(spark, warehouse, spec, rows, update_existing=False, scope=scope)


def upsert_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
                update_columns: tuple[str, ...] | None = None, scope: dict[str, str] | None = None) -> None:
    """Insert new keys; on existing keys replace `update_columns` (default: every column)."""
    _merge(spark, warehouse, spec, rows, update_existing=True, update_columns=update_columns, scope=scope)


def merge_condition(spec: TableSpec, scope: dict[str, str] | None = None) -> str:
    """The key equality, led by the scope's literal partition values (what Delta's conflict check reads)."""
    scoped = []
    for column, value in sorted((scope or {}).items()):
        if column not in spec.partition_by:
            raise ValueError(f"{spec.qualified_name} is not partitioned by {column}: a scope would not isolate")
        scoped.append(f"t.`{column}` = '{_sql_string(value)}'")
    return " AND ".join(scoped + [f"t.`{k}` = s.`{k}`" for k in spec.keys])


def _sql_string(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _merge(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
           update_existing: bool, update_columns: tuple[str, ...] | None = None,
           scope: dict[str, str] | None = None) -> None:
    ensure_table(spark, warehouse, spec)
    rows = rows.select(*spec.schema.fieldNames()).dropDuplicates(list(spec.keys))
    if rows.isEmpty():      # a re-run usually brings nothing new: skip the MERGE's fixed cost
        return
    condition = merge_condition(spec, scope)

    def merge() -> None:
        table = DeltaTable.forPath(spark, table_location(warehouse, spec))
        builder = table.alias("t").merge(rows.alias("s"), condition)
        if update_existing and update_columns:
            builder = builder.whenMatchedUpdate(set={c: f"s.`{c}`" for c in update_columns})
        elif update_existing:
            builder = builder.whenMatchedUpdateAll()
        builder.whenNotMatchedInsertAll().execute()

    COMMIT_RETRY.run(merge, f"MERGE into {spec.qualified_name}")


def update_matched(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame, condition: str,
                   assignments: dict[str, str]) -> None:
    """Set `assignments` (SQL expressions) on the table's rows that match `rows` under `condition`
    (the table aliased `t`, the rows `s`); nothing is inserted."""
    ensure_table(spark, warehouse, spec)
    if rows.isEmpty():
        return
    COMMIT_RETRY.run(lambda: (
        DeltaTable.forPath(spark, table_location(warehouse, spec)).alias("t").merge(rows.alias("s"), condition)
        .whenMatchedUpdate(set=assignments).execute()), f"UPDATE of {spec.qualified_name}")


def append_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame) -> None:
    """Blind append, for rows whose key is new by construction (e.g. keyed on a fresh run id). A blind
    append reads nothing, so concurrent appends never conflict; the retry covers a table created meanwhile."""
    ensure_table(spark, warehouse, spec)
    COMMIT_RETRY.run(lambda: rows.select(*spec.schema.fieldNames()).write.format("delta").mode("append").save(
        table_location(warehouse, spec)), f"append to {spec.qualified_name}")


def register_catalog(spark: SparkSession, warehouse: Warehouse) -> list[str]:
    """Register every table under its dotted name (bronze.dicom_files, ...) and the metrics views."""
    for zone in sorted({spec.zone for spec in TABLES.values()}):
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {zone}")
    for spec in TABLES.values():
        ensure_table(spark, warehouse, spec)
        location = table_location(warehouse, spec)
        if _registered_location(spark, spec.qualified_name) not in (None, location):
            # Registered for another warehouse earlier in this session: an external table, so dropping
            # the catalog entry leaves the data alone.
            spark.sql(f"DROP TABLE {spec.qualified_name}")
        spark.sql(f"CREATE TABLE IF NOT EXISTS {spec.qualified_name} USING DELTA LOCATION '{location}'")
    for statement in _view_statements():
        spark.sql(statement)
    return sorted(TABLES)


def _registered_location(spark: SparkSession, name: str) -> str | None:
    if not spark.catalog.tableExists(name):
        return None
    for row in spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect():
        if row["col_name"] == "Location":
            return row["data_type"].removeprefix("file:")
    return None


def view_names() -> list[str]:
    """The dotted names of the product's views (warehouse/views.sql), e.g. metrics.open_quarantine."""
    import re

    pattern = re.compile(r"^CREATE\s+OR\s+REPLACE\s+VIEW\s+([\w.]+)", re.IGNORECASE)
    return [m.group(1) for m in map(pattern.match, _view_statements()) if m]


def _view_statements() -> list[str]:
    text = "\n".join(line for line in VIEWS_SQL.read_text().splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def batch_files(spark: SparkSession, warehouse: Warehouse, batch_id: str) -> DataFrame:
    """The distinct contents a landing batch holds, with their bronze verdicts.

    A batch owns every file that landed in it, including contents first seen in an earlier batch: each
    stage then skips the contents it has already processed, so re-running adds nothing.
    """
    from pyspark.sql import functions as F

    from warehouse.tables import DICOM_FILES, LANDING_FILES

    landed = read_table(spark, warehouse, LANDING_FILES).where(F.col("batch_id") == batch_id)
    return (read_table(spark, warehouse, DICOM_FILES).drop("batch_id", "relative_path")
            .join(landed.select("sha256").distinct(), "sha256"))
