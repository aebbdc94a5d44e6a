"""Creating and merging into the registry's Delta tables: each table is created once, merges add no
duplicates, and a merge of nothing still leaves a table later readers and MERGEs can open."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql.types import LongType, StringType, StructField, StructType

from warehouse.delta_io import ensure_table, merge_new_rows, read_table, table_location, update_matched, upsert_rows
from warehouse.tables import TableSpec

pytestmark = pytest.mark.spark

SPEC = TableSpec("silver", "delta_io_probe", StructType([
    StructField("sha256", StringType(), False), StructField("frames", LongType(), True)]), ("sha256",), False)


def _commits(warehouse) -> list[str]:
    log = warehouse.table_path(SPEC.zone, SPEC.name) / "_delta_log"
    return sorted(p.name for p in log.glob("*.json"))


def test_a_table_is_created_once_and_then_not_asked_of_delta_again(spark, warehouse, monkeypatch):
    assert _commits(warehouse) == []
    ensure_table(spark, warehouse, SPEC)
    assert _commits(warehouse) == ["00000000000000000000.json"]

    def refuse(_spark):
        raise AssertionError("CREATE TABLE IF NOT EXISTS for a table whose log has a commit")

    monkeypatch.setattr(DeltaTable, "createIfNotExists", refuse)     # a Spark round trip per call, ~70 a run
    ensure_table(spark, warehouse, SPEC)
    assert read_table(spark, warehouse, SPEC).schema == SPEC.schema
    assert _commits(warehouse) == ["00000000000000000000.json"]


def test_merges_add_each_key_once_and_an_empty_merge_still_creates_the_table(spark, warehouse):
    merge_new_rows(spark, warehouse, SPEC, spark.createDataFrame([], SPEC.schema))
    assert DeltaTable.forPath(spark, table_location(warehouse, SPEC)).toDF().count() == 0

    rows = spark.createDataFrame([("a", 1), ("b", 2), ("a", 1)], SPEC.schema)
    merge_new_rows(spark, warehouse, SPEC, rows)
    merge_new_rows(spark, warehouse, SPEC, rows)
    upsert_rows(spark, warehouse, SPEC, spark.createDataFrame([("b", 5), ("c", 3)], SPEC.schema))
    assert sorted(tuple(r) for r in read_table(spark, warehouse, SPEC).collect()) == [("a", 1), ("b", 5), ("c", 3)]


def test_update_matched_sets_only_the_rows_its_condition_matches_and_inserts_nothing(spark, warehouse):
    """How gold closes a quarantine row once a later run published the file: open rows of the
    published contents get `resolved_at`; resolved rows and other files keep theirs."""
    schema = StructType([StructField("sha256", StringType(), False), StructField("resolved_at", StringType(), True)])
    spec = TableSpec("silver", "delta_io_resolve_probe", schema, ("sha256",), False)
    merge_new_rows(spark, warehouse, spec, spark.createDataFrame(
        [("fixed", None), ("still_held", None), ("done_before", "2026-01-01")], spec.schema))
    published = spark.createDataFrame([("fixed",), ("done_before",), ("never_held",)], "sha256 string")
    update_matched(spark, warehouse, spec, published, "t.sha256 = s.sha256 AND t.resolved_at IS NULL",
                   {"resolved_at": "'2026-11-27'"})
    update_matched(spark, warehouse, spec, spark.createDataFrame([], "sha256 string"), "t.sha256 = s.sha256",
                   {"resolved_at": "'never'"})
    assert sorted(tuple(r) for r in read_table(spark, warehouse, spec).collect()) == [
        ("done_before", "2026-01-01"), ("fixed", "2026-11-27"), ("still_held", None)]
