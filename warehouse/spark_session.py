"""The one Spark session factory: Dagster's resource, the CLI and the tests all come through here.

Local mode by default, sized for a 2-core, 24 GB machine, with Delta and Spark NLP loaded from the
jars the install step fetched (warehouse/jvm/fetch_jars.sh): nothing is downloaded at run time. The
master URL and memory come from the environment or from Dagster config, so the same code runs on a
standalone, YARN or Kubernetes cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from warehouse.driver_slots import acquire_driver_slot, release_driver_slots
from warehouse.layout import REPO_ROOT, Warehouse
from warehouse.settings import settings as environment_settings

LOG4J_CONFIG = REPO_ROOT / "warehouse" / "jvm" / "log4j2.properties"
# Delta: the warehouse's table format. Spark NLP: the PHI recognizer's NER engine (Spark 3.5 / Scala 2.12).
JAR_GROUPS = ("delta", "spark-nlp")
# Structured Streaming's Kafka connector: on spark.jars when fetched; only a Kafka stream needs it (it says
# so, `orchestration.kafka_source`), so a deployment without Kafka runs without it.
OPTIONAL_JAR_GROUPS = ("spark-kafka",)
JVM_EXIT_SECONDS = 60     # a stopped driver's JVM gets this long to exit before it is killed


class MissingJarsError(RuntimeError):
    """The install step did not fetch a required jar group."""


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    app_name: str = "deidlake"
    driver_memory: str = "6g"
    executor_memory: str = "4g"
    executor_cores: int | None = None
    shuffle_partitions: int = 4
    ui_enabled: bool = False
    # JVM options added to the driver's and executors' own (e.g. "-XX:TieredStopAtLevel=1": on two
    # local cores the optimising JIT competes with the Python workers, see docs/pixel-path.md).
    java_options: str = ""
    extra_conf: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> "SparkSettings":
        """Defaults, then DEIDLAKE_SPARK_* environment variables (warehouse.settings), then explicit overrides."""
        env = environment_settings()
        settings = cls(
            master=env.spark_master,
            driver_memory=env.spark_driver_memory,
            executor_memory=env.spark_executor_memory,
            shuffle_partitions=env.spark_shuffle_partitions,
            ui_enabled=env.spark_ui,
            java_options=env.spark_java_options,
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def is_local(self) -> bool:
        return self.master.startswith("local")


def jars_dir() -> Path:
    return environment_settings().jars_dir


def find_jars(groups: tuple[str, ...] = JAR_GROUPS) -> dict[str, list[Path]]:
    """Jar files per group, as fetched by warehouse/jvm/fetch_jars.sh (empty list: not fetched)."""
    root = jars_dir()
    return {group: sorted((root / group).glob("*.jar")) for group in groups}


def spark_nlp_available() -> bool:
    return bool(find_jars(("spark-nlp",))["spark-nlp"])


def spark_conf(settings: SparkSettings, warehouse: Warehouse) -> dict[str, str]:
    """Every Spark setting of the project, in one place."""
    jars = find_jars(JAR_GROUPS + OPTIONAL_JAR_GROUPS)
    missing = [g for g in JAR_GROUPS if not jars[g]]
    if missing:
        raise MissingJarsError(
            f"jar group(s) {missing} not found under {jars_dir()}: run `make install` "
            "(warehouse/jvm/fetch_jars.sh) first"
        )
    java_opts = f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} {settings.java_options}".strip()
    conf = {
        "spark.master": settings.master,
        "spark.app.name": settings.app_name,
        "spark.driver.memory": settings.driver_memory,
        "spark.executor.memory": settings.executor_memory,
        "spark.jars": ",".join(str(p) for group in jars.values() for p in group),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(warehouse.spark_catalog_dir),
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        # Small tables are the norm for a batch: 50 snapshot partitions per Delta read is wasted work.
        "spark.databricks.delta.snapshotPartitions": "2",
        # Frames are large rows: keep Arrow batches small so a task holds few frames at once.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Spark NLP's serializer settings.
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.kryoserializer.buffer.max": "1000M",
        "spark.ui.enabled": str(settings.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": java_opts,
        # Python workers run the same interpreter (and so the same packages) as the driver.
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # PySpark's daemon, minus the ~0.3 s per Python task of re-reading zip archives' directories.
        "spark.python.daemon.module": "warehouse.python_daemon",
    }
    if settings.is_local:
        # The host name resolves to loopback here while Spark would bind elsewhere: stay on loopback.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    if settings.executor_cores:
        conf["spark.executor.cores"] = str(settings.executor_cores)
    conf.update(settings.extra_conf)
    return conf


def build_spark_session(settings: SparkSettings | None = None, warehouse: Warehouse | None = None):
    """Get or create the process's Spark session with the project's settings."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active        # one session per process: static settings cannot change after start
    settings = settings or SparkSettings.from_env()
    warehouse = warehouse or Warehouse.resolve()
    # At most DEIDLAKE_MAX_SPARK_DRIVERS drivers per warehouse, whoever starts them (waits for a slot).
    acquire_driver_slot(warehouse.root)
    if settings.is_local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in spark_conf(settings, warehouse).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def stop_spark_session() -> None:
    """Stop the active session, if any (idempotent)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        end_spark_session(active)


def end_spark_session(session) -> None:
    """Stop `session`, let its driver's JVM exit, then give the warehouse's driver slot back.

    `SparkSession.stop()` leaves the JVM (pyspark's gateway) running until the Python process ends;
    giving the slot back then let another driver start beside it (bench/concurrency.py counted 4 driver
    JVMs at a limit of 2). The gateway's JVM exits when its stdin closes; a session started later in
    this process launches a new one."""
    from pyspark import SparkContext

    session.stop()
    with SparkContext._lock:
        gateway, SparkContext._gateway, SparkContext._jvm = SparkContext._gateway, None, None
    if gateway is not None:
        process = getattr(gateway, "proc", None)
        gateway.shutdown()
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=JVM_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    release_driver_slots()


@contextmanager
def spark_session_scope(settings: SparkSettings | None = None, warehouse: Warehouse | None = None) -> Iterator:
    """A session for the duration of a command; stopped at the end only if this scope started it."""
    from pyspark.sql import SparkSession

    started_here = SparkSession.getActiveSession() is None
    session = build_spark_session(settings, warehouse)
    try:
        yield session
    finally:
        if started_here:
            end_spark_session(session)
