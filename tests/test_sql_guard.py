"""`deidlake sql` is read-only and keeps identified data behind --allow-identified, decided from Spark's
plans: each bypass of the old text guard (issue 27.3) and each kind of write (27.2) is refused here, on a
real warehouse with identified rows in bronze, while the metrics queries keep working."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest

from orchestration.cli import main
from warehouse import tables
from warehouse.delta_io import append_rows, read_table, register_catalog
from warehouse.layout import Warehouse
from warehouse.sql_guard import RefusedQuery, check

pytestmark = pytest.mark.spark

IDENTIFIED_PATH = "Doe^Jane/19700101/chest.dcm"        # stands for a landing path that names a patient


@pytest.fixture(scope="module")
def filled(spark, tmp_path_factory) -> Warehouse:
    """A warehouse whose bronze holds a row with an identifying path, and whose gold holds one file."""
    warehouse = Warehouse(tmp_path_factory.mktemp("sql-guard") / "wh").create()
    now = datetime(2026, 12, 5)
    bronze = [("a" * 64, IDENTIFIED_PATH, 1234, now, "b1", "ok", None, None, "raw/aa"),
              ("b" * 64, "Doe^Jane/notes.txt", 17, now, "b1", "rejected", "not_dicom", None, "raw/bb")]
    append_rows(spark, warehouse, tables.DICOM_FILES, spark.createDataFrame(bronze, tables.DICOM_FILES.schema))
    gold = [("a" * 64, "rk", "b1", "p/s/s/i.dcm", "c" * 64, 99, "PSEUDO1", None, None, None, None, None, True,
             "phi", [], "fp", "kf", ["header_leak"], "1", now, "run1")]
    append_rows(spark, warehouse, tables.GOLD_MANIFEST, spark.createDataFrame(gold, tables.GOLD_MANIFEST.schema))
    (warehouse.batch_manifests / "b1.json").write_text(json.dumps({"files": [IDENTIFIED_PATH]}))
    (warehouse.raw_store / "aa").write_bytes(b"DICM identified bytes")
    register_catalog(spark, warehouse)
    return warehouse


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")


def bronze_spellings(warehouse: Warehouse) -> dict[str, str]:
    table = warehouse.table_path("bronze", "dicom_files")
    return {
        "backquoted": "select * from `bronze`.`dicom_files`",
        "catalog-qualified": "select relative_path from spark_catalog.bronze.dicom_files",
        "delta path": f"select * from delta.`{table}`",
        "parquet path": f"select * from parquet.`{table}`",
        "file uri": f"select * from delta.`file://{table}`",
        "batch manifests": f"select * from json.`{warehouse.batch_manifests}`",
        "raw store": f"select * from binaryFile.`{warehouse.raw_store}`",
        "cte": "with x as (select relative_path from bronze.dicom_files) select * from x",
        "scalar subquery": "select (select max(relative_path) from bronze.dicom_files) as p",
        "in subquery": "select * from gold.manifest where sha256 in (select sha256 from bronze.dicom_files)",
        "exists": "select 1 from gold.manifest g where exists (select 1 from bronze.dicom_files b "
                  "where b.sha256 = g.sha256 and b.relative_path like 'Doe%')",
        "join": "select b.relative_path from gold.manifest g join bronze.dicom_files b using (sha256)",
        "union": "select sha256 from gold.manifest union all select relative_path from bronze.dicom_files",
        "identifier clause": "select * from identifier('bronze.dicom_files')",
        "table statement": "table bronze.dicom_files",
        "count only": "select count(*) from bronze.dicom_files",
        "time travel": "select * from bronze.dicom_files version as of 0",
        "explain": "explain select * from bronze.dicom_files",
    }


@pytest.mark.parametrize("spelling", list(bronze_spellings(Warehouse("/w"))))
def test_every_spelling_of_bronze_is_refused(spark, filled, spelling):
    query = bronze_spellings(filled)[spelling]
    with pytest.raises(RefusedQuery, match="identified data"):
        check(spark, query, filled)
    if spelling != "explain":
        assert check(spark, query, filled, allow_identified=True).kind == "query"


def test_a_view_over_bronze_is_refused(spark, filled):
    spark.sql("create or replace temporary view innocent as select relative_path from bronze.dicom_files")
    try:
        with pytest.raises(RefusedQuery, match="bronze.dicom_files"):
            check(spark, "select * from innocent", filled)
    finally:
        spark.sql("drop view if exists innocent")


def test_files_outside_the_de_identified_zones_are_refused(spark, filled, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.dcm").write_bytes(b"DICM")
    link = tmp_path / "innocent-link"
    os.symlink(filled.zone("bronze"), link)
    for query in (f"select * from binaryFile.`{landing}`",
                  f"select * from delta.`{link}/tables/dicom_files`",
                  f"select * from binaryFile.`{filled.landing}`"):
        with pytest.raises(RefusedQuery, match="identified data"):
            check(spark, query, filled)


def test_a_product_view_may_count_bronze_verdicts_only(spark, filled):
    """metrics.rejects_by_reason reads bronze's verdict columns: allowed. The same view reading a path
    (as if someone changed it) is refused, by the columns the plan uses."""
    check(spark, "select * from metrics.rejects_by_reason", filled)
    spark.sql("create or replace view metrics.rejects_by_reason as "
              "select reject_reason, max(relative_path) as example from bronze.dicom_files group by reject_reason")
    try:
        with pytest.raises(RefusedQuery, match="relative_path"):
            check(spark, "select * from metrics.rejects_by_reason", filled)
    finally:
        register_catalog(spark, filled)                    # the product's definition again


@pytest.mark.parametrize("statement", [
    "delete from gold.manifest",
    "update gold.manifest set run_key = 'x'",
    "insert into gold.manifest select * from gold.manifest",
    "merge into gold.manifest t using gold.manifest s on t.sha256 = s.sha256 when matched then delete",
    "drop table gold.manifest",
    "truncate table gold.manifest",
    "create table metrics.copy as select * from gold.manifest",
    "create or replace temporary view v as select 1",
    "alter table gold.manifest set tblproperties ('x' = 'y')",
    "cache table gold.manifest",
    "set spark.sql.shuffle.partitions = 1",
    "vacuum gold.manifest",
    "restore table gold.manifest to version as of 0",
    "optimize gold.manifest",
    "insert overwrite directory '/tmp/deidlake-sql-guard' using parquet select * from gold.manifest",
    "select transform(sha256) using 'cat' as (x) from gold.manifest",
    "select reflect('java.lang.System', 'getProperty', 'user.home')",
    "select java_method('java.lang.System', 'exit', 0)",
    "explain delete from gold.manifest",
    "add jar /tmp/x.jar",
    "use bronze",
])
def test_statements_that_are_not_queries_are_refused(spark, filled, statement):
    with pytest.raises(RefusedQuery) as refused:
        check(spark, statement, filled, allow_identified=True)
    assert "\n" not in str(refused.value)
    assert read_table(spark, filled, tables.GOLD_MANIFEST).count() == 1


@pytest.mark.parametrize("query", [
    "select count(*) as n from gold.manifest",
    "select * from metrics.quarantine_by_reason",
    "with g as (select * from gold.manifest) select run_key, count(*) from g group by run_key",
    "select * from values (1, 'a') as t(n, s)",
    "show tables in bronze",
    "describe table gold.manifest",
    "explain select * from gold.manifest",
    f"select count(*) from delta.`{{gold}}`",
])
def test_queries_over_de_identified_data_pass(spark, filled, query):
    check(spark, query.format(gold=filled.table_path("gold", "manifest")), filled)


def test_cli_refuses_in_one_line_and_deletes_nothing(spark, filled, cli_env, capsys):
    root = str(filled.root)
    assert main(["sql", "delete from gold.manifest", "--warehouse", root]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deidlake sql: only queries are accepted") and err.count("\n") == 1
    assert main(["sql", "select count(*) as n from gold.manifest", "--format", "json", "--warehouse", root]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 1}]

    assert main(["sql", "select * from `bronze`.`dicom_files`", "--warehouse", root]) == 2
    captured = capsys.readouterr()
    assert "--allow-identified" in captured.err and "Doe" not in captured.out + captured.err
    assert main(["sql", "select * from metrics.rejects_by_reason", "--format", "json", "--warehouse", root]) == 0
    assert json.loads(capsys.readouterr().out) == [{"reject_reason": "not_dicom", "files": 1, "bytes": 17}]
    assert main(["sql", "select relative_path from bronze.dicom_files where status = 'ok'", "--allow-identified",
                 "--format", "csv", "--warehouse", root]) == 0
    assert IDENTIFIED_PATH in capsys.readouterr().out


def test_read_only_commands_refuse_a_missing_warehouse(tmp_path, cli_env, capsys):
    missing = tmp_path / "typo"
    assert main(["sql", "select 1", "--warehouse", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deidlake sql: no warehouse at {missing}") and err.count("\n") == 1
    assert main(["backfill", "--list", "--warehouse", str(missing)]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert not missing.exists()
