"""Kafka messages into landing files on Spark: each task lands the messages of its Kafka partition.

The rows of Spark's Kafka source (topic, partition, offset, timestamp, value, headers) go through
`transforms.message_envelope.land_message` where the executor read them, so a message's bytes are written
once, by the task that fetched them, and only a small description of each message reaches the driver.
Arrow batches (`mapInArrow`): binary values and the headers' list of structs arrive as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from pyspark.sql import DataFrame

from transforms.message_envelope import MessageCoordinates, land_message
from warehouse.schemas import MESSAGE_TASK_RESULT

KAFKA_COLUMNS = ("topic", "partition", "offset", "timestamp", "value", "headers")


def land_messages(messages: DataFrame, landing_root: str, claim_root: str | None,
                  max_message_bytes: int) -> DataFrame:
    """One row per message (MESSAGE_TASK_RESULT): landed as `<landing_root>/<topic>/<partition>/<offset>.dcm`,
    or rejected with a reason. Lazy: the landing happens when the result is computed (on a micro-batch)."""
    claim = Path(claim_root) if claim_root else None
    root = Path(landing_root)

    def land_batches(batches: Iterator) -> Iterator:
        import pyarrow as pa

        for batch in batches:
            rows = []
            for message in batch.to_pylist():
                where = MessageCoordinates(message["topic"], int(message["partition"]), int(message["offset"]))
                headers = [(h["key"], h["value"]) for h in message["headers"] or ()]
                landing = land_message(where, headers, message["value"], root, claim, max_message_bytes)
                rows.append({**asdict(landing), "topic": where.topic, "partition": where.partition,
                             "offset": where.offset, "message_timestamp": message["timestamp"]})
            yield pa.RecordBatch.from_pylist(rows, schema=_arrow_schema())

    return messages.select(*KAFKA_COLUMNS).mapInArrow(land_batches, MESSAGE_TASK_RESULT)


def _arrow_schema():
    """MESSAGE_TASK_RESULT as an Arrow schema (what mapInArrow must yield)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(MESSAGE_TASK_RESULT)
