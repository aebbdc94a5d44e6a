"""The GX runner on a real Spark session: outcomes by file hash, and nothing left in Spark's cache."""

from __future__ import annotations

import pytest

from orchestration.expectations import ACCOUNTING_SUITE, ExpectationRunner
from tests.conftest import spark_cache_is_empty

pytestmark = pytest.mark.spark


def _outcomes(spark):
    rows = [("a" * 64, 1), ("b" * 64, 2), ("c" * 64, 0), ("d" * 64, 1)]
    return spark.createDataFrame(rows, "sha256 string, outcomes int").localCheckpoint(eager=True)


def test_accounting_names_the_files_not_in_exactly_one_place_and_caches_nothing(spark, tmp_path):
    spark.catalog.clearCache()
    outcome = ExpectationRunner(tmp_path / "gx").validate_accounting(_outcomes(spark), "batch-1")
    assert (outcome.name, outcome.success, outcome.evaluated) == (ACCOUNTING_SUITE, False, 4)
    assert outcome.failing_hashes == ("b" * 64, "c" * 64)
    assert spark_cache_is_empty(spark)


def test_a_context_made_with_gx_defaults_stops_caching_what_it_validates(spark, tmp_path):
    import great_expectations as gx

    root = tmp_path / "gx"
    old = gx.get_context(mode="file", project_root_dir=str(root))
    old.data_sources.add_spark(name="deidlake").add_dataframe_asset(name="report") \
        .add_batch_definition_whole_dataframe("whole")
    assert old.data_sources.get("deidlake").persist            # GX's default: cache every validated frame

    spark.catalog.clearCache()
    runner = ExpectationRunner(root)
    assert runner.validate_accounting(_outcomes(spark), "batch-1").evaluated == 4
    assert spark_cache_is_empty(spark)
    assert not gx.get_context(mode="file", project_root_dir=str(root)).data_sources.get("deidlake").persist


def test_one_runner_per_warehouse_per_process_and_its_suites_stored_once(spark, tmp_path):
    """A run of a long-lived process (stream, backfill) reuses the context and the stored suite: the
    second validation rewrites no suite, validation definition or checkpoint (GX writes one file each)."""
    runner = ExpectationRunner.for_root(tmp_path / "gx")
    assert ExpectationRunner.for_root(tmp_path / "gx") is runner
    runner.validate_accounting(_outcomes(spark), "batch-1")
    stores = [tmp_path / "gx" / "gx" / folder for folder in ("expectations", "validation_definitions", "checkpoints")]
    stored = {p: p.stat().st_mtime_ns for folder in stores for p in folder.rglob("*.json")}
    assert len(stored) == 3
    second = runner.validate_accounting(_outcomes(spark), "batch-2")
    assert second.failing_hashes == ("b" * 64, "c" * 64)
    assert {p: p.stat().st_mtime_ns for p in stored} == stored
