"""Creating, merging into and reading the Delta tables of the registry, and the SQL catalog."""

from __future__ import annotations

import os
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from warehouse.layout import Warehouse
from warehouse.tables import TABLES, TableSpec

VIEWS_SQL = Path(__file__).with_name("views.sql")


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
    builder.execute()


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


def merge_new_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame) -> None:
    """Insert the rows whose keys are not in the table yet: re-running a batch adds nothing."""
    _merge(spark, warehouse, spec, rows, update_existing=False)


def upsert_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
                update_columns: tuple[str, ...] | None = None) -> None:
    """Insert new keys; on existing keys replace `update_columns` (default: every column)."""
    _merge(spark, warehouse, spec, rows, update_existing=True, update_columns=update_columns)


def _merge(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
           update_existing: bool, update_columns: tuple[str, ...] | None = None) -> None:
    ensure_table(spark, warehouse, spec)
    rows = rows.select(*spec.schema.fieldNames()).dropDuplicates(list(spec.keys))
    if rows.isEmpty():      # a re-run usually brings nothing new: skip the MERGE's fixed cost
        return
    table = DeltaTable.forPath(spark, table_location(warehouse, spec))
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in spec.keys)
    merge = table.alias("t").merge(rows.alias("s"), condition)
    if update_existing and update_columns:
        merge = merge.whenMatchedUpdate(set={c: f"s.`{c}`" for c in update_columns})
    elif update_existing:
        merge = merge.whenMatchedUpdateAll()
    merge.whenNotMatchedInsertAll().execute()


def update_matched(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame, condition: str,
                   assignments: dict[str, str]) -> None:
    """Set `assignments` (SQL expressions) on the table's rows that match `rows` under `condition`
    (the table aliased `t`, the rows `s`); nothing is inserted."""
    ensure_table(spark, warehouse, spec)
    if rows.isEmpty():
        return
    (DeltaTable.forPath(spark, table_location(warehouse, spec)).alias("t").merge(rows.alias("s"), condition)
     .whenMatchedUpdate(set=assignments).execute())


def append_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame) -> None:
    """Blind append, for rows whose key is new by construction (e.g. keyed on a fresh run id)."""
    ensure_table(spark, warehouse, spec)
    rows.select(*spec.schema.fieldNames()).write.format("delta").mode("append").save(
        table_location(warehouse, spec))


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
