"""The Kafka stream source: DICOM files arriving as Kafka messages, answered on a results topic.

`KafkaSource` implements `StreamSource` (orchestration/stream_sources.py) over Spark Structured Streaming's
Kafka source; everything else (manifests, replay, the graph run, exactly-once) is the stream's. Per
micro-batch (at most `max_messages_per_trigger` messages; Spark keeps the offsets in the checkpoint):

1. `read_stream` / `collect`: the executors that fetched the messages check each envelope and land it as
   `<warehouse>/bronze/kafka/<source>/<topic>/<partition>/<offset>.dcm` (bytes written, or the claim
   check's file linked from the landing store), or reject it with a reason
   (`transforms.message_envelope`); the driver gets one small row per message. While the broker is away,
   reading waits for it and tries again (a micro-batch is never skipped).
2. `listed` / `land`: every message names the micro-batch (its batch id); landed ones are its landing files,
   so a batch may hold fewer files than messages, or none (then no graph run).
3. the stream runs the graph on the batch: bronze judges each file (`not_dicom`, `truncated`, ...), silver,
   the gate and gold as for any batch; contents are keyed on SHA-256, so a replayed message publishes once.
4. `after_run`: the messages go to `metrics.kafka_messages` (coordinates, outcome, the partition's end
   offset: the lag), messages rejected at intake to `silver.quarantine` (stage `kafka`, keyed on their
   coordinates), one `metrics.stage_runs` row (`kafka_intake`), and one result event per message to the
   results topic with the micro-batch's end offsets in one transaction (`orchestration.kafka_results`).

Everything in step 4 is idempotent, so a micro-batch replayed after a kill writes nothing twice.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from orchestration.kafka_results import ResultsPublisher, batch_events, wait_for_broker
from orchestration.stream_sources import Landed, ListedItem, Log, MicroBatchDone, StreamSource
from transforms.landing import LandingFile
from transforms.message_envelope import LANDED, REJECTED
from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, StartingOffsets, spark_source_options
from warehouse.layout import Warehouse

KAFKA_JAR_GROUP = "spark-kafka"
# A read that fails while the broker answers is tried again this many times (a broker restarting, a
# leader moving); past that the stream stops and the micro-batch is replayed at the next start.
READ_RETRIES = 3
INTAKE_STAGE = "kafka_intake"


@dataclass(frozen=True)
class KafkaSettings:
    """Where a Kafka stream reads, answers and lands (the CLI's and the Dagster config's fields)."""

    bootstrap: str
    topic: str
    results_topic: str | None = None          # default: "<topic>.results"
    max_messages_per_trigger: int = 16
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    claim_check_root: Path | None = None      # the landing store claim checks name files in
    starting_offsets: StartingOffsets = StartingOffsets.earliest

    def __post_init__(self) -> None:
        if not self.bootstrap or not self.topic:
            raise ValueError("a Kafka stream needs bootstrap servers and a topic")
        if not all(c.isalnum() or c in "._-" for c in self.topic + (self.results_topic or "")):
            raise ValueError("Kafka topic names are letters, digits, '.', '_' and '-'")
        if self.max_messages_per_trigger < 1:
            raise ValueError("max_messages_per_trigger must be at least 1")
        if self.max_message_bytes < 1:
            raise ValueError("max_message_bytes must be at least 1")
        if self.results_topic == self.topic:
            raise ValueError("the results topic must differ from the input topic")
        if self.claim_check_root is not None:
            object.__setattr__(self, "claim_check_root", Path(self.claim_check_root).absolute())
        object.__setattr__(self, "starting_offsets", StartingOffsets(self.starting_offsets))

    @property
    def answers_to(self) -> str:
        return self.results_topic or f"{self.topic}.results"

    @property
    def digest(self) -> str:
        """Names the source's checkpoint, landing folder, consumer group and transactional id."""
        return hashlib.sha256(f"{self.bootstrap}\x00{self.topic}".encode()).hexdigest()[:16]


@dataclass
class KafkaSource(StreamSource):
    """A Kafka topic as a stream source (see the module doc)."""

    settings: KafkaSettings
    warehouse: Warehouse
    stop: threading.Event = field(default_factory=threading.Event)
    _log: Log = field(default=print, repr=False)
    _messages: list[dict] = field(default_factory=list, repr=False)
    _intake_started: datetime | None = field(default=None, repr=False)
    _intake_seconds: float = 0.0
    _publisher: ResultsPublisher | None = field(default=None, repr=False)

    @property
    def checkpoint_name(self) -> str:
        return f"kafka/{self.settings.digest}"

    @property
    def landing_root(self) -> Path:
        """Identified (the messages are DICOM files): in bronze."""
        return self.warehouse.zone("bronze") / "kafka" / self.settings.digest

    @property
    def group_id(self) -> str:
        return f"deidlake-{self.settings.digest}"

    def describe(self) -> str:
        return f"Kafka topic {self.settings.topic} at {self.settings.bootstrap} (results to {self.settings.answers_to})"

    # ------------------------------------------------------------------------------------------ start

    def before_start(self, log: Log) -> None:
        """Wait for the broker, make the results topic, and fence any earlier incarnation's transaction."""
        from warehouse.kafka_broker import create_topic

        self._log = log
        self.landing_root.mkdir(parents=True, exist_ok=True)
        wait_for_broker(self.settings.bootstrap, log, self.stop)
        create_topic(self.settings.bootstrap, self.settings.answers_to)
        self._publisher = ResultsPublisher(
            self.settings.bootstrap, self.settings.answers_to, self.group_id,
            transactional_id=f"deidlake-results-{self.settings.digest}",
            max_message_bytes=self.settings.max_message_bytes, log=log, stop=self.stop).start()

    def read_stream(self, spark):
        from transforms.spark.messages import land_messages

        _require_connector(spark)
        options = spark_source_options(self.settings.bootstrap, self.settings.topic, self.settings.max_message_bytes,
                                       self.settings.max_messages_per_trigger, self.settings.starting_offsets)
        messages = spark.readStream.format("kafka").options(**options).load()
        return land_messages(messages, str(self.landing_root),
                             str(self.settings.claim_check_root) if self.settings.claim_check_root else None,
                             self.settings.max_message_bytes)

    # ------------------------------------------------------------------------------------------ a micro-batch

    def collect(self, micro_batch) -> list:
        """Land the micro-batch's messages; while the broker is away, wait for it and read again."""
        self._intake_started = datetime.now(timezone.utc)
        started = time.perf_counter()
        for attempt in itertools.count(1):
            try:
                rows = micro_batch.collect()
                break
            except Exception as exc:  # noqa: BLE001 - Py4J errors of a failed Spark job
                if not _names_kafka(exc) or (attempt > READ_RETRIES and self._broker_answers()):
                    raise
                self._log(f"Kafka: reading the micro-batch failed ({_first_line(exc)}); reading it again")
                wait_for_broker(self.settings.bootstrap, self._log, self.stop)
        self._intake_seconds = time.perf_counter() - started
        return rows

    def listed(self, rows) -> list[ListedItem]:
        """Every message, landed or rejected, names the micro-batch (a replay lists the same ones)."""
        self._messages = sorted((row.asDict() for row in rows), key=lambda m: (m["partition"], m["offset"]))
        return [ListedItem(m["relative_path"], int(m["size_bytes"] or 0), _timestamp_ns(m["message_timestamp"]))
                for m in self._messages]

    def land(self, items: list[ListedItem]) -> Landed:
        """The landed messages' files, written by the executors during `collect`."""
        landed = {m["relative_path"] for m in self._messages if m["status"] == LANDED}
        return Landed(self.landing_root, [LandingFile(i.relative_path, i.size_bytes, i.mtime_ns)
                                          for i in items if i.relative_path in landed])

    def after_run(self, done: MicroBatchDone) -> None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        batch_id, messages = done.manifest.batch_id, self._messages
        end_offsets = _end_offsets(messages)
        log_end = self._publisher.log_end_offsets(end_offsets)
        self._record(spark, done, messages, log_end)
        events = batch_events(spark, done.warehouse, messages, batch_id, done.run_id, done.pipeline.run_key())
        sent = self._publisher.publish(events, end_offsets)
        rejected = sum(1 for m in messages if m["status"] == REJECTED)
        lag = sum(max(log_end[tp] - end, 0) for tp, end in end_offsets.items())
        done.log(f"Kafka: batch {batch_id}: {len(messages)} messages, {rejected} rejected at intake, "
                 f"{sent} result events sent{'' if sent or not events else ' (sent before the replay)'}, "
                 f"lag {lag}")

    def _record(self, spark, done: MicroBatchDone, messages: list[dict], log_end: dict) -> None:
        """metrics.kafka_messages, the quarantine of intake rejects and the intake's stage row (idempotent)."""
        from orchestration.quarantine import record_quarantine
        from warehouse import tables
        from warehouse.delta_io import merge_new_rows

        batch_id, now = done.manifest.batch_id, datetime.now(timezone.utc)
        columns = tables.KAFKA_MESSAGES.schema.fieldNames()
        rows = [{**m, "batch_id": batch_id, "received_at": now,
                 "log_end_offset": log_end.get((m["topic"], m["partition"]))} for m in messages]
        merge_new_rows(spark, done.warehouse, tables.KAFKA_MESSAGES,
                       spark.createDataFrame([tuple(r[c] for c in columns) for r in rows], tables.KAFKA_MESSAGES.schema))
        rejected = [m for m in messages if m["status"] == REJECTED]
        if rejected:
            held = [(m["sha256"], batch_id, "kafka", m["reason"],
                     f"{m['topic']}/{m['partition']}@{m['offset']}: {m['detail'] or m['reason']}", now, done.run_id or None, None)
                    for m in rejected]
            record_quarantine(spark, done.warehouse, spark.createDataFrame(held, tables.QUARANTINE.schema))
        stage = (done.run_id, batch_id, INTAKE_STAGE, self._intake_started or now, float(self._intake_seconds),
                 len(messages), int(sum(m["size_bytes"] or 0 for m in messages)), None, len(rejected))
        # Keyed on (run, batch, stage): a micro-batch replayed after a kill between its run and its commit
        # (the same run id) adds no second intake row.
        merge_new_rows(spark, done.warehouse, tables.STAGE_RUNS, spark.createDataFrame([stage], tables.STAGE_RUNS.schema))

    def _broker_answers(self) -> bool:
        try:
            wait_for_broker(self.settings.bootstrap, lambda message: None, self.stop, timeout=5)
            return True
        except TimeoutError:
            return False


def _end_offsets(messages: list[dict]) -> dict[tuple[str, int], int]:
    """Per topic partition of the micro-batch, the offset after its last message."""
    ends: dict[tuple[str, int], int] = {}
    for m in messages:
        key = (m["topic"], int(m["partition"]))
        ends[key] = max(ends.get(key, 0), int(m["offset"]) + 1)
    return ends


def _timestamp_ns(value) -> int:
    return int(value.timestamp() * 1e9) if value is not None else 0


def _names_kafka(exc: BaseException) -> bool:
    """A failed read that involves Kafka (Spark wraps the executor's error in a Py4J error)."""
    text = str(exc)
    return "org.apache.kafka" in text or "kafka010" in text


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def _require_connector(spark) -> None:
    """The session must have been started with the connector's jars (fetched at install time)."""
    from warehouse.spark_session import MissingJarsError, find_jars, jars_dir

    if not find_jars((KAFKA_JAR_GROUP,))[KAFKA_JAR_GROUP]:
        raise MissingJarsError(f"the Kafka connector's jars are not under {jars_dir() / KAFKA_JAR_GROUP}: run "
                               "`make install` (warehouse/jvm/fetch_jars.sh) first")
    if "spark-sql-kafka" not in spark.conf.get("spark.jars", ""):
        raise MissingJarsError("this Spark session was started without the Kafka connector's jars (fetched "
                               "since?): start a new process")
