"""`deidlake produce DIR --topic T`: replay a folder of DICOM files into a Kafka topic, one message per file.

Each file goes either as its bytes or as a claim check (an empty value naming the file by its path relative
to the claim-check root), with the envelope headers the stream reads (`transforms.message_envelope`).
`--payload auto` sends files up to the size limit as bytes and larger ones by reference. Messages are
keyed by the file's SHA-256 (never by its name, which may carry PHI), so copies of one content share a
partition. The producer is idempotent and waits for every replica (`acks=all`); the command reports how
many files were delivered and exits 1 if any was not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from transforms.landing import list_landing_files
from transforms.message_envelope import Envelope
from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, producer_config

Log = Callable[[str], None]


class Payload(StrEnum):
    """What a produced message carries: the file's bytes, a claim check, or bytes up to the limit."""

    bytes = "bytes"
    reference = "reference"
    auto = "auto"


@dataclass
class ProduceReport:
    files: int = 0
    as_bytes: int = 0
    as_reference: int = 0
    bytes_sent: int = 0
    failed: list[str] = field(default_factory=list)      # delivery errors (Kafka's error names, no file names)

    @property
    def success(self) -> bool:
        return not self.failed

    def render(self) -> str:
        return (f"produced {self.files - len(self.failed)} of {self.files} files ({self.as_bytes} as bytes, "
                f"{self.as_reference} by reference, {self.bytes_sent} bytes)"
                + (f"; {len(self.failed)} failed: {', '.join(sorted(set(self.failed)))}" if self.failed else ""))


def reference_for(path: Path, claim_root: Path) -> str:
    """The claim check's name of `path`: relative to the claim-check root, which must hold it."""
    resolved, root = path.resolve(), claim_root.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError("a file sent by reference must lie inside the claim-check root")
    return resolved.relative_to(root).as_posix()


def produce_folder(folder: Path, bootstrap: str, topic: str, payload: Payload = Payload.bytes,
                   claim_root: Path | None = None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                   source_system: str | None = None, log: Log = print) -> ProduceReport:
    """Every landing file of `folder` (hidden and partial files skipped) as one message of `topic`."""
    from confluent_kafka import Producer

    claim_root = Path(claim_root or folder)
    producer = Producer(producer_config(bootstrap, max_message_bytes))
    report = ProduceReport()

    def delivered(error, message) -> None:
        if error is not None:
            report.failed.append(error.name())

    for landing_file in list_landing_files(folder):
        path = Path(folder) / landing_file.relative_path
        by_reference = payload == Payload.reference or (
            payload == Payload.auto and landing_file.size_bytes > max_message_bytes)
        if by_reference:
            envelope = Envelope.for_file(path, reference_for(path, claim_root), source_system)
            value = b""
            report.as_reference += 1
        else:
            value = path.read_bytes()
            envelope = Envelope.for_bytes(value, source_system)
            report.as_bytes += 1
        _produce(producer, topic, envelope.sha256.encode(), value, envelope.headers(), delivered)
        report.files += 1
        report.bytes_sent += len(value)
    remaining = producer.flush(120)
    if remaining:
        report.failed.extend(["not_delivered_in_time"] * remaining)
    return report


def _produce(producer, topic: str, key: bytes, value: bytes, headers, on_delivery) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:                         # the local queue is full: let it drain
            producer.poll(0.5)
