"""Spark settings from the environment and Dagster config reach the conf the session is built with."""

from __future__ import annotations

from warehouse.layout import Warehouse
from warehouse.spark_session import LOG4J_CONFIG, SparkSettings, spark_conf


def test_java_options_from_the_environment_join_the_log4j_option_of_driver_and_executors(monkeypatch, tmp_path):
    monkeypatch.setenv("DEIDLAKE_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
    conf = spark_conf(SparkSettings.from_env(), Warehouse(tmp_path / "warehouse"))
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert conf[key] == f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -XX:TieredStopAtLevel=1"


def test_without_java_options_only_the_log4j_option_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("DEIDLAKE_SPARK_JAVA_OPTIONS", raising=False)
    conf = spark_conf(SparkSettings.from_env(), Warehouse(tmp_path / "warehouse"))
    assert conf["spark.driver.extraJavaOptions"] == f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG}"
