"""The Kafka stream's answer: one PHI-free result event per input message, on a results topic, exactly once.

For each message of a micro-batch whose run succeeded, an event says what became of it: `published` (the
gold.manifest row: run key, de-identified UIDs, output location, SHA-256s, checks passed) or `quarantined`
(stage and reason, e.g. `kafka/truncated` at intake or `ingest/not_dicom`). A downstream system picks
published files up from these events instead of polling the archive.

Exactly once: the events of a micro-batch are produced in one Kafka transaction, together with the
micro-batch's end offsets committed for the stream's consumer group (`send_offsets_to_transaction`).
Either both are committed or neither. A replayed micro-batch (the stream was killed after the run) finds its
end offsets committed and sends nothing again; a micro-batch killed inside the transaction is aborted when
the next incarnation initialises the same transactional id (Kafka fences the old one), so consumers that
read committed messages (`isolation.level=read_committed`) see every event once. As a bonus the group's
committed offsets show the stream's progress to Kafka's own tools (`kafka-consumer-groups.sh`).

While the broker is away the publisher waits and tries again (the micro-batch stays uncommitted meanwhile).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, producer_config, python_client_config

RESULT_SCHEMA = "deidlake.result/v1"
PUBLISHED, QUARANTINED, UNACCOUNTED = "published", "quarantined", "unaccounted"
RETRY_SECONDS = 5.0
TRANSACTION_TIMEOUT_S = 60.0
Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------- events

def message_event(message: dict, batch_id: str, run_id: str, run_key: str, gold_row: dict | None,
                  held: list[dict], archive_root: str) -> dict:
    """The result event of one message (PHI-free: coordinates, hashes, new UIDs, reasons)."""
    event = {
        "schema": RESULT_SCHEMA,
        "input": {"topic": message["topic"], "partition": message["partition"], "offset": message["offset"],
                  "kind": message.get("kind"), "length": message.get("declared_length"),
                  "sha256": message["sha256"] if message["status"] == "landed" else message.get("declared_sha256"),
                  "source_system": message.get("source_system")},
        "batch_id": batch_id, "run_id": run_id or None, "run_key": run_key,
    }
    if message["status"] == "rejected":
        return event | {"status": QUARANTINED, "quarantine": [
            {"stage": "kafka", "reason": message["reason"], "detail": message.get("detail")}]}
    if gold_row is not None:
        location = f"{archive_root}/{gold_row['run_key']}/{gold_row['gold_path']}"
        return event | {"status": PUBLISHED, "output": {
            "location": "file://" + location, "path": gold_row["gold_path"], "sha256": gold_row["output_sha256"],
            "bytes": gold_row["output_bytes"], "transfer_syntax": gold_row["transfer_syntax"]},
            "patient_pseudonym": gold_row["patient_pseudonym"],
            "uids": {"study": gold_row["study_instance_uid"], "series": gold_row["series_instance_uid"],
                     "sop_instance": gold_row["sop_instance_uid"], "sop_class": gold_row["sop_class_uid"]},
            "checks_passed": list(gold_row["checks_passed"] or []), "key_fingerprint": gold_row["key_fingerprint"],
            "published_at": _iso(gold_row["published_at"])}
    if held:
        return event | {"status": QUARANTINED, "quarantine": [
            {"stage": h["stage"], "reason": h["reason"], "detail": h["detail"]} for h in held]}
    return event | {"status": UNACCOUNTED}


def batch_events(spark, warehouse, messages: list[dict], batch_id: str, run_id: str, run_key: str) -> list[dict]:
    """The events of a micro-batch's messages, from gold.manifest and the open quarantine of their contents."""
    from pyspark.sql import functions as F

    from warehouse import tables
    from warehouse.delta_io import read_table

    landed = sorted({m["sha256"] for m in messages if m["status"] == "landed"})
    gold, held = {}, {}
    if landed:
        gold = {r["sha256"]: r.asDict() for r in read_table(spark, warehouse, tables.GOLD_MANIFEST)
                .where((F.col("run_key") == run_key) & F.col("sha256").isin(landed)).collect()}
        for r in (read_table(spark, warehouse, tables.QUARANTINE)
                  .where(F.col("resolved_at").isNull() & F.col("sha256").isin(landed))
                  .orderBy("quarantined_at", "stage", "reason").collect()):
            held.setdefault(r["sha256"], []).append(r.asDict())
    archive = str(warehouse.gold_archive)
    return [message_event(m, batch_id, run_id, run_key, gold.get(m["sha256"]) if m["status"] == "landed" else None,
                          held.get(m["sha256"], []) if m["status"] == "landed" else [], archive)
            for m in messages]


def event_key(event: dict) -> bytes:
    """Events are keyed by their input's coordinates (a compacted topic keeps the last word on each)."""
    source = event["input"]
    return f"{source['topic']}/{source['partition']}/{source['offset']}".encode()


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------- publishing

@dataclass
class ResultsPublisher:
    """A transactional producer of a stream's result events, and its consumer group's committed offsets."""

    bootstrap: str
    topic: str
    group_id: str                    # the stream's consumer group: its committed offsets mark what was answered
    transactional_id: str
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    log: Log = print
    stop: threading.Event = field(default_factory=threading.Event)
    _producer: object | None = field(default=None, repr=False)
    _consumer: object | None = field(default=None, repr=False)

    def start(self) -> "ResultsPublisher":
        """Initialise the transactional id: fences an earlier incarnation and aborts its open transaction."""
        self._producer = None
        self._retrying("initialising the results producer", self._init_producer)
        return self

    def _init_producer(self) -> None:
        from confluent_kafka import Producer

        producer = Producer(producer_config(self.bootstrap, self.max_message_bytes, **{
            "transactional.id": self.transactional_id,
            "transaction.timeout.ms": int(TRANSACTION_TIMEOUT_S * 1000)}))
        producer.init_transactions(TRANSACTION_TIMEOUT_S)
        self._producer = producer

    @property
    def consumer(self):
        """A group member that never subscribes: its metadata names the group, and it reads offsets."""
        if self._consumer is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(python_client_config(self.bootstrap, **{
                "group.id": self.group_id, "enable.auto.commit": False, "isolation.level": "read_committed"}))
        return self._consumer

    def committed(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The group's committed offset per partition (-1 when none)."""
        from confluent_kafka import TopicPartition

        wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
        if not wanted:
            return {}
        found = self._retrying("reading the stream's committed offsets",
                               lambda: self.consumer.committed(wanted, timeout=TRANSACTION_TIMEOUT_S))
        return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else -1) for tp in found}

    def log_end_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Each partition's end (the offset the next message will get): what the lag is measured against."""
        from confluent_kafka import TopicPartition

        def read() -> dict[tuple[str, int], int]:
            return {(t, p): self.consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10, cached=False)[1]
                    for t, p in partitions}

        return self._retrying("reading the partitions' end offsets", read)

    def already_sent(self, end_offsets: dict[tuple[str, int], int]) -> bool:
        """True if a transaction already answered every message up to these end offsets."""
        committed = self.committed(end_offsets)
        return bool(end_offsets) and all(committed.get(tp, -1) >= end for tp, end in end_offsets.items())

    def publish(self, events: list[dict], end_offsets: dict[tuple[str, int], int]) -> int:
        """The events and the end offsets in one transaction; retried until the broker takes it."""
        if not events or self.already_sent(end_offsets):
            return 0
        self._retrying("publishing result events", lambda: self._transaction(events, end_offsets))
        return len(events)

    def _transaction(self, events: list[dict], end_offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if self._producer is None:
            self._init_producer()
        producer = self._producer
        producer.begin_transaction()
        try:
            for event in events:
                self._produce(producer, event)
            producer.send_offsets_to_transaction(
                [TopicPartition(t, p, end) for (t, p), end in sorted(end_offsets.items())],
                self.consumer.consumer_group_metadata(), TRANSACTION_TIMEOUT_S)
            producer.commit_transaction(TRANSACTION_TIMEOUT_S)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if error is not None and error.txn_requires_abort():
                try:
                    producer.abort_transaction(TRANSACTION_TIMEOUT_S)
                except KafkaException:
                    self._producer = None
            elif error is None or not error.retriable():
                self._producer = None                # fatal: a new producer (and init) on the next attempt
            raise

    def _produce(self, producer, event: dict) -> None:
        value = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        while True:
            try:
                producer.produce(self.topic, key=event_key(event), value=value,
                                 headers=[("content-type", b"application/json")])
                return
            except BufferError:                     # the local queue is full: let it drain
                producer.poll(0.5)

    def _retrying(self, what: str, attempt: Callable):
        """Run `attempt` until it succeeds; Kafka errors (the broker away) are waited out, others raised."""
        from confluent_kafka import KafkaException

        failures = 0
        while True:
            try:
                result = attempt()
            except KafkaException as exc:
                failures += 1
                if failures == 1 or failures % 12 == 0:
                    self.log(f"Kafka: {what} failed ({_short(exc)}); retrying every {RETRY_SECONDS:.0f} s")
                if self.stop.wait(RETRY_SECONDS):
                    raise InterruptedError(f"stopped while {what}") from exc
                continue
            if failures:
                self.log(f"Kafka: the broker answers again ({what} done after {failures} failed tries)")
            return result


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def wait_for_broker(bootstrap: str, log: Log, stop: threading.Event | None = None,
                    timeout: float | None = None) -> None:
    """Block until the cluster answers a metadata request (says so once while it waits)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(python_client_config(bootstrap))
    deadline = None if timeout is None else time.monotonic() + timeout
    said = False
    pause = stop or threading.Event()
    while True:
        try:
            if admin.list_topics(timeout=5).brokers:
                if said:
                    log("Kafka: the broker answers again")
                return
        except Exception:  # noqa: BLE001 - any transport or Kafka error: not answering yet
            pass
        if not said:
            log(f"Kafka: no broker answers at {bootstrap}; waiting")
            said = True
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"no Kafka broker answered at {bootstrap}")
        if pause.wait(RETRY_SECONDS):
            raise InterruptedError("stopped while waiting for the Kafka broker")
