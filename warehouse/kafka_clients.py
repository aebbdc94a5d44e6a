"""Every Kafka client setting of the project in one place: Spark's Kafka source, the Python clients
(confluent-kafka: the results producer, `deidlake produce`, offsets and lag) and the development broker.

DICOM files are large messages. Kafka's defaults stop at about 1 MB on every side (the broker's
`message.max.bytes`, the producer's `message.max.bytes` / `max.request.size`, the consumer's
`max.partition.fetch.bytes`), so one number, the stream's message size limit, sets all of them here (the
same figures are in docs/operations.md, "Kafka", for a broker this project does not configure).
"""

from __future__ import annotations

from enum import StrEnum

MB = 1024 * 1024
# The default size limit of a message's value (the DICOM file's bytes): larger files go by reference.
DEFAULT_MAX_MESSAGE_BYTES = 20 * MB
# A record batch holds the value plus its headers, key and framing: the broker and producer limits allow this
# much on top of the value limit, so a file of exactly the limit still goes through.
FRAMING_BYTES = 64 * 1024
# How long Spark's Kafka source waits between two attempts to read offsets while the broker is away. The
# source retries without end (`fetchOffset.numRetries`): a broker that went away delays the stream, it does
# not stop it (docs/operations.md, "Kafka").
OFFSET_RETRY_INTERVAL_MS = 5000
OFFSET_RETRIES = 2**31 - 1
# One attempt of a Kafka request (Java clients: Spark's source; librdkafka: the Python clients).
REQUEST_TIMEOUT_MS = 15000
# How long an executor's fetch waits for a record before its task fails (Spark's default is 2 minutes):
# the stream then waits for the broker and reads the micro-batch again (`orchestration.kafka_source`).
POLL_TIMEOUT_MS = 30000


class StartingOffsets(StrEnum):
    """Where a new stream (a new checkpoint) starts reading: the topic's first retained message, or only
    messages that arrive from now on. A stream with a checkpoint resumes from it either way."""

    earliest = "earliest"
    latest = "latest"


def record_limit(max_message_bytes: int) -> int:
    """The broker's and producer's limit for one record (batch): the value limit plus framing."""
    return max_message_bytes + FRAMING_BYTES


def spark_source_options(bootstrap: str, topic: str, max_message_bytes: int, max_messages_per_trigger: int,
                         starting_offsets: StartingOffsets) -> dict[str, str]:
    """Options of Spark's Kafka source (`spark.readStream.format("kafka")`)."""
    fetch = max(record_limit(max_message_bytes), 1 * MB)
    return {
        "kafka.bootstrap.servers": bootstrap,
        "subscribe": topic,
        "startingOffsets": str(starting_offsets),
        "maxOffsetsPerTrigger": str(max_messages_per_trigger),
        "includeHeaders": "true",
        # A message as large as the limit fits in one fetch of its partition (and of the whole request).
        "kafka.max.partition.fetch.bytes": str(fetch),
        "kafka.fetch.max.bytes": str(max(fetch, 50 * MB)),
        "kafka.request.timeout.ms": str(REQUEST_TIMEOUT_MS),
        "kafka.default.api.timeout.ms": str(REQUEST_TIMEOUT_MS),
        "fetchOffset.numRetries": str(OFFSET_RETRIES),
        "fetchOffset.retryIntervalMs": str(OFFSET_RETRY_INTERVAL_MS),
        "kafkaConsumer.pollTimeoutMs": str(POLL_TIMEOUT_MS),
        # Offsets deleted before the stream read them (retention) stop the stream: nothing is skipped silently.
        "failOnDataLoss": "true",
    }


def python_client_config(bootstrap: str, **settings: object) -> dict[str, object]:
    """librdkafka's settings shared by every Python client; warnings of its own go to Python's logging."""
    import logging

    return {"bootstrap.servers": bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS,
            "logger": logging.getLogger("deidlake.kafka"), **settings}


def producer_config(bootstrap: str, max_message_bytes: int, **settings: object) -> dict[str, object]:
    """A producer of DICOM files (or of results): idempotent, every replica acknowledges, large records."""
    return python_client_config(bootstrap, **{
        "message.max.bytes": record_limit(max_message_bytes),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        **settings})


def broker_size_properties(max_message_bytes: int) -> dict[str, str]:
    """The broker settings a limit of `max_message_bytes` needs (also for a broker of your own)."""
    record = str(record_limit(max_message_bytes))
    return {"message.max.bytes": record, "replica.fetch.max.bytes": record}
