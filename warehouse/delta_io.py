"""Creating, merging into and reading the Delta tables of the registry, and the SQL catalog."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from warehouse.layout import Warehouse
from warehouse.tables import TABLES, TableSpec

VIEWS_SQL = Path(__file__).with_name("views.sql")


def table_location(warehouse: Warehouse, spec: TableSpec) -> str:
    return str(warehouse.table_path(spec.zone, spec.name))


def ensure_table(spark: SparkSession, warehouse: Warehouse, spec: TableSpec) -> DeltaTable:
    builder = (
        DeltaTable.createIfNotExists(spark)
        .location(table_location(warehouse, spec))
        .addColumns(spec.schema)
    )
    if spec.partition_by:
        builder = builder.partitionedBy(*spec.partition_by)
    return builder.execute()


def read_table(spark: SparkSession, warehouse: Warehouse, spec: TableSpec) -> DataFrame:
    ensure_table(spark, warehouse, spec)
    return spark.read.format("delta").load(table_location(warehouse, spec))


def merge_new_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame) -> None:
    """Insert the rows whose keys are not in the table yet: re-running a batch adds nothing."""
    _merge(spark, warehouse, spec, rows, update_existing=False)


def upsert_rows(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame) -> None:
    """Insert new keys and replace the rows of existing ones (for state that is re-evaluated)."""
    _merge(spark, warehouse, spec, rows, update_existing=True)


def _merge(spark: SparkSession, warehouse: Warehouse, spec: TableSpec, rows: DataFrame,
           update_existing: bool) -> None:
    table = ensure_table(spark, warehouse, spec)
    rows = rows.select(*spec.schema.fieldNames()).dropDuplicates(list(spec.keys))
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in spec.keys)
    merge = table.alias("t").merge(rows.alias("s"), condition)
    if update_existing:
        merge = merge.whenMatchedUpdateAll()
    merge.whenNotMatchedInsertAll().execute()


def register_catalog(spark: SparkSession, warehouse: Warehouse) -> list[str]:
    """Register every table under its dotted name (bronze.dicom_files, ...) and the metrics views."""
    for zone in sorted({spec.zone for spec in TABLES.values()}):
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {zone}")
    for spec in TABLES.values():
        ensure_table(spark, warehouse, spec)
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {spec.qualified_name} USING DELTA "
            f"LOCATION '{table_location(warehouse, spec)}'"
        )
    for statement in _view_statements():
        spark.sql(statement)
    return sorted(TABLES)


def _view_statements() -> list[str]:
    text = "\n".join(line for line in VIEWS_SQL.read_text().splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]
