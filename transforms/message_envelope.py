"""A DICOM file sent as a Kafka message: its envelope, and how one message becomes a landing file.

The envelope is a few Kafka headers (UTF-8 text), so that the value stays the file's own bytes (no
base64, no JSON around a 20 MB file) and a router can read them without parsing the value:

    content-type      application/dicom                          required
    content-length    the file's size in bytes (decimal)         required
    content-sha256    the file's SHA-256 (64 hex digits)         required
    content-location  the file's path in the landing store       claim check only: the value is then empty
    source-system     who sent it, a short token (e.g. PACS-A)   optional

A message carries either the file's bytes (up to the stream's size limit) or, for larger files, a claim
check: an empty value and `content-location`, a path relative to the claim-check root (the landing store
both sides see; a `file:` URI or absolute path inside it is accepted too). Length and SHA-256 are checked
against what arrived, so a message cut short or a referenced file changed since is caught here.

A message that fails (`MessageReason`) is quarantined with its topic, partition and offset; it never stops
the stream. A message that passes becomes a landing file named by its coordinates
(`<topic>/<partition>/<offset>.dcm`), written once (a replay finds it in place), and bronze ingest then
judges it like any landing file (`not_dicom`, `truncated`, ...). Details name sizes and header names only:
never a header value (a path may carry a patient's name) nor a byte of the file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlparse

from transforms.file_digest import file_digest

CONTENT_TYPE = "content-type"
CONTENT_LENGTH = "content-length"
CONTENT_SHA256 = "content-sha256"
CONTENT_LOCATION = "content-location"
SOURCE_SYSTEM = "source-system"
ENVELOPE_HEADERS = (CONTENT_TYPE, CONTENT_LENGTH, CONTENT_SHA256, CONTENT_LOCATION, SOURCE_SYSTEM)
DICOM_CONTENT_TYPE = "application/dicom"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
SOURCE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
LANDED, REJECTED = "landed", "rejected"


class PayloadKind(StrEnum):
    """What a message's value is: the file's bytes, or nothing (a claim check naming the file)."""

    bytes = "bytes"
    reference = "reference"


class MessageReason(StrEnum):
    """Why a message did not become a landing file (silver.quarantine, stage `kafka`)."""

    INVALID_ENVELOPE = "invalid_envelope"              # a required header missing, repeated or malformed
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    TOO_LARGE = "too_large"                            # the value is over the stream's size limit
    TRUNCATED = "truncated"                            # fewer bytes than content-length says
    LENGTH_MISMATCH = "length_mismatch"                # more bytes than content-length says
    CHECKSUM_MISMATCH = "checksum_mismatch"            # the bytes are not the ones content-sha256 names
    REFERENCE_NOT_FOUND = "reference_not_found"        # the claim check points nowhere
    REFERENCE_OUTSIDE_STORE = "reference_outside_store"  # ... or outside the claim-check root


class EnvelopeError(ValueError):
    def __init__(self, reason: MessageReason, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Envelope:
    """The headers of one message, checked for form (not yet against the value)."""

    content_type: str
    length: int
    sha256: str
    location: str | None = None
    source_system: str | None = None

    @property
    def kind(self) -> PayloadKind:
        return PayloadKind.reference if self.location is not None else PayloadKind.bytes

    def headers(self) -> list[tuple[str, bytes]]:
        """As Kafka headers (what a producer sends)."""
        pairs = [(CONTENT_TYPE, self.content_type), (CONTENT_LENGTH, str(self.length)),
                 (CONTENT_SHA256, self.sha256)]
        if self.location is not None:
            pairs.append((CONTENT_LOCATION, self.location))
        if self.source_system:
            pairs.append((SOURCE_SYSTEM, self.source_system))
        return [(name, value.encode()) for name, value in pairs]

    @classmethod
    def for_bytes(cls, data: bytes, source_system: str | None = None) -> "Envelope":
        return cls(DICOM_CONTENT_TYPE, len(data), hashlib.sha256(data).hexdigest(), None, source_system)

    @classmethod
    def for_file(cls, path: Path, location: str, source_system: str | None = None) -> "Envelope":
        """A claim check for `path`, named `location` in the landing store."""
        size, digest = file_digest(path)
        return cls(DICOM_CONTENT_TYPE, size, digest, location, source_system)


def read_envelope(headers: Iterable[tuple[str, bytes | None]] | None) -> Envelope:
    """The envelope of a message's headers (names compared without case); EnvelopeError if malformed."""
    found: dict[str, str] = {}
    for name, raw in headers or ():
        key = (name or "").strip().lower()
        if key not in ENVELOPE_HEADERS:
            continue                               # other headers (tracing, the router's own) are fine
        if key in found:
            raise EnvelopeError(MessageReason.INVALID_ENVELOPE, f"header {key} given more than once")
        try:
            found[key] = (raw or b"").decode("utf-8").strip()
        except UnicodeDecodeError:
            raise EnvelopeError(MessageReason.INVALID_ENVELOPE, f"header {key} is not UTF-8 text") from None
    for required in (CONTENT_TYPE, CONTENT_LENGTH, CONTENT_SHA256):
        if not found.get(required):
            raise EnvelopeError(MessageReason.INVALID_ENVELOPE, f"header {required} missing")
    content_type = found[CONTENT_TYPE].split(";")[0].strip().lower()
    if content_type != DICOM_CONTENT_TYPE:
        raise EnvelopeError(MessageReason.UNSUPPORTED_CONTENT_TYPE, f"content-type is not {DICOM_CONTENT_TYPE}")
    if not found[CONTENT_LENGTH].isdigit() or len(found[CONTENT_LENGTH]) > 15:
        raise EnvelopeError(MessageReason.INVALID_ENVELOPE, f"header {CONTENT_LENGTH} is not a byte count")
    sha256 = found[CONTENT_SHA256].lower()
    if not SHA256_HEX.fullmatch(sha256):
        raise EnvelopeError(MessageReason.INVALID_ENVELOPE, f"header {CONTENT_SHA256} is not 64 hex digits")
    location = found.get(CONTENT_LOCATION) or None
    source = found.get(SOURCE_SYSTEM) or None
    # An optional label that is not a plain token is dropped, not a reason to hold a good file.
    source = source if source and SOURCE_TOKEN.fullmatch(source) else None
    return Envelope(content_type, int(found[CONTENT_LENGTH]), sha256, location, source)


# ---------------------------------------------------------------------------------------------- landing

@dataclass(frozen=True)
class MessageCoordinates:
    topic: str
    partition: int
    offset: int

    @property
    def relative_path(self) -> str:
        """The landing file of this message (topic names are [A-Za-z0-9._-]: safe as a folder name)."""
        return f"{self.topic}/{self.partition}/{self.offset}.dcm"

    @property
    def key(self) -> str:
        """The quarantine key of a message that did not land (no content hash to key it on)."""
        return "kafka-" + hashlib.sha256(f"{self.topic}\x00{self.partition}\x00{self.offset}".encode()).hexdigest()


@dataclass(frozen=True)
class MessageLanding:
    """What became of one message: a landing file (`landed`), or a reason (`rejected`)."""

    relative_path: str
    status: str
    sha256: str                     # the landed content's hash; for a rejected message its coordinates' key
    size_bytes: int
    kind: str | None = None
    content_type: str | None = None
    declared_length: int | None = None
    declared_sha256: str | None = None
    source_system: str | None = None
    reason: str | None = None
    detail: str | None = None


def land_message(where: MessageCoordinates, headers, value: bytes | None, landing_root: Path,
                 claim_root: Path | None, max_message_bytes: int) -> MessageLanding:
    """Check one message's envelope against what it carries and land it as a file, or say why not."""
    value = value or b""
    try:
        envelope = read_envelope(headers)
    except EnvelopeError as exc:
        return _rejected(where, len(value), None, exc)
    try:
        if envelope.kind == PayloadKind.bytes:
            size, digest = _land_bytes(envelope, value, landing_root / where.relative_path, max_message_bytes)
        else:
            if value:
                raise EnvelopeError(MessageReason.INVALID_ENVELOPE,
                                    f"a message with {CONTENT_LOCATION} carries no value ({len(value)} bytes)")
            size, digest = _land_reference(envelope, claim_root, landing_root / where.relative_path)
    except EnvelopeError as exc:
        return _rejected(where, len(value), envelope, exc)
    return MessageLanding(where.relative_path, LANDED, digest, size, str(envelope.kind), envelope.content_type,
                          envelope.length, envelope.sha256, envelope.source_system)


def _rejected(where: MessageCoordinates, size: int, envelope: Envelope | None, exc: EnvelopeError) -> MessageLanding:
    return MessageLanding(
        where.relative_path, REJECTED, where.key, size,
        str(envelope.kind) if envelope else None, envelope.content_type if envelope else None,
        envelope.length if envelope else None, envelope.sha256 if envelope else None,
        envelope.source_system if envelope else None, str(exc.reason), exc.detail)


def _check_length(actual: int, declared: int, what: str) -> None:
    if actual < declared:
        raise EnvelopeError(MessageReason.TRUNCATED, f"{what} of {actual} bytes, {CONTENT_LENGTH} {declared}")
    if actual > declared:
        raise EnvelopeError(MessageReason.LENGTH_MISMATCH, f"{what} of {actual} bytes, {CONTENT_LENGTH} {declared}")


def _land_bytes(envelope: Envelope, value: bytes, target: Path, max_message_bytes: int) -> tuple[int, str]:
    if len(value) > max_message_bytes:
        raise EnvelopeError(MessageReason.TOO_LARGE, f"value of {len(value)} bytes > limit {max_message_bytes}; "
                                                     f"send files this large by reference ({CONTENT_LOCATION})")
    _check_length(len(value), envelope.length, "value")
    digest = hashlib.sha256(value).hexdigest()
    if digest != envelope.sha256:
        raise EnvelopeError(MessageReason.CHECKSUM_MISMATCH, f"value's SHA-256 differs from {CONTENT_SHA256}")
    if not (target.exists() and target.stat().st_size == len(value)):      # a replay finds it written
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(value)
        os.replace(partial, target)
    return len(value), digest


def _land_reference(envelope: Envelope, claim_root: Path | None, target: Path) -> tuple[int, str]:
    source = resolve_reference(envelope.location or "", claim_root)
    if not source.is_file():
        raise EnvelopeError(MessageReason.REFERENCE_NOT_FOUND, f"no file at the {CONTENT_LOCATION}")
    _check_length(source.stat().st_size, envelope.length, "referenced file")
    if not (target.exists() and target.stat().st_size == envelope.length):
        _link_or_copy(source, target)
    size, digest = file_digest(target)
    if digest != envelope.sha256 or size != envelope.length:
        target.unlink(missing_ok=True)             # changed since it was announced: not this message's file
        raise EnvelopeError(MessageReason.CHECKSUM_MISMATCH, f"referenced file's SHA-256 differs from {CONTENT_SHA256}")
    return size, digest


def resolve_reference(location: str, claim_root: Path | None) -> Path:
    """The file a claim check names, which must lie inside the claim-check root (links resolved)."""
    if claim_root is None:
        raise EnvelopeError(MessageReason.REFERENCE_OUTSIDE_STORE, "this stream has no claim-check root")
    if location.startswith("file:"):
        location = unquote(urlparse(location).path)
    root = Path(claim_root).resolve()
    path = Path(location)
    resolved = (path if path.is_absolute() else root / path).resolve()
    if not resolved.is_relative_to(root):
        raise EnvelopeError(MessageReason.REFERENCE_OUTSIDE_STORE, f"{CONTENT_LOCATION} is outside the claim-check root")
    return resolved


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs nothing and survives the source's removal; across file systems, a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, partial)
    os.replace(partial, target)

