"""The Kafka message envelope and the landing of one message as a file (pure: no broker, no Spark)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import pydicom_file
from transforms.message_envelope import (
    CONTENT_LENGTH,
    CONTENT_SHA256,
    CONTENT_TYPE,
    LANDED,
    REJECTED,
    Envelope,
    EnvelopeError,
    MessageCoordinates,
    MessageReason,
    land_message,
    read_envelope,
)

CT = pydicom_file("CT_small.dcm").read_bytes()
WHERE = MessageCoordinates("dicom-in", 2, 41)
LIMIT = 1024 * 1024


def land(headers, value, tmp_path: Path, claim_root: Path | None = None, limit: int = LIMIT):
    return land_message(WHERE, headers, value, tmp_path / "landing", claim_root, limit)


def test_an_envelope_reads_back_what_it_wrote():
    envelope = Envelope.for_bytes(CT, "PACS-A")
    assert read_envelope(envelope.headers()) == envelope
    # Names without case, other headers ignored, a content-type parameter tolerated.
    headers = [(k.upper(), v) for k, v in envelope.headers()] + [("traceparent", b"00-abc")]
    headers[0] = ("Content-Type", b"application/dicom; transfer-syntax=*")
    assert read_envelope(headers).sha256 == hashlib.sha256(CT).hexdigest()


@pytest.mark.parametrize("headers, reason", [
    ([], MessageReason.INVALID_ENVELOPE),
    ([(CONTENT_TYPE, b"application/dicom"), (CONTENT_LENGTH, b"12")], MessageReason.INVALID_ENVELOPE),
    ([(CONTENT_TYPE, b"text/plain"), (CONTENT_LENGTH, b"1"), (CONTENT_SHA256, b"0" * 64)],
     MessageReason.UNSUPPORTED_CONTENT_TYPE),
    ([(CONTENT_TYPE, b"application/dicom"), (CONTENT_LENGTH, b"-1"), (CONTENT_SHA256, b"0" * 64)],
     MessageReason.INVALID_ENVELOPE),
    ([(CONTENT_TYPE, b"application/dicom"), (CONTENT_LENGTH, b"1"), (CONTENT_SHA256, b"xyz")],
     MessageReason.INVALID_ENVELOPE),
    ([(CONTENT_TYPE, b"application/dicom"), (CONTENT_LENGTH, b"1"), (CONTENT_LENGTH, b"1"),
      (CONTENT_SHA256, b"0" * 64)], MessageReason.INVALID_ENVELOPE),
    ([(CONTENT_TYPE, b"\xff\xfe"), (CONTENT_LENGTH, b"1"), (CONTENT_SHA256, b"0" * 64)],
     MessageReason.INVALID_ENVELOPE),
])
def test_a_malformed_envelope_is_refused_with_its_reason(headers, reason):
    with pytest.raises(EnvelopeError) as caught:
        read_envelope(headers)
    assert caught.value.reason == reason


def test_bytes_land_once_under_the_message_coordinates(tmp_path):
    landing = land(Envelope.for_bytes(CT).headers(), CT, tmp_path)
    assert (landing.status, landing.sha256, landing.size_bytes) == (LANDED, hashlib.sha256(CT).hexdigest(), len(CT))
    target = tmp_path / "landing" / "dicom-in" / "2" / "41.dcm"
    assert landing.relative_path == "dicom-in/2/41.dcm" and target.read_bytes() == CT
    before = target.stat().st_mtime_ns
    assert land(Envelope.for_bytes(CT).headers(), CT, tmp_path) == landing     # a replay
    assert target.stat().st_mtime_ns == before, "a replayed message was written again"
    assert not list(target.parent.glob("*.part"))


@pytest.mark.parametrize("value, declared, reason", [
    (CT[:5000], CT, MessageReason.TRUNCATED),
    (CT + b"\0", CT, MessageReason.LENGTH_MISMATCH),
    (CT[:-1] + b"X", CT, MessageReason.CHECKSUM_MISMATCH),
])
def test_bytes_that_do_not_match_their_envelope_are_rejected(tmp_path, value, declared, reason):
    landing = land(Envelope.for_bytes(declared).headers(), value, tmp_path)
    assert (landing.status, landing.reason) == (REJECTED, str(reason))
    assert landing.sha256 == WHERE.key and landing.sha256.startswith("kafka-")
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").rglob("*.dcm"))


def test_a_value_over_the_limit_is_rejected_with_advice(tmp_path):
    landing = land(Envelope.for_bytes(CT).headers(), CT, tmp_path, limit=len(CT) - 1)
    assert landing.reason == MessageReason.TOO_LARGE and CONTENT_SHA256 not in (landing.detail or "")
    assert "by reference" in landing.detail


def test_a_claim_check_links_the_referenced_file(tmp_path):
    store = tmp_path / "store"
    (store / "big").mkdir(parents=True)
    (store / "big" / "ct.dcm").write_bytes(CT)
    envelope = Envelope.for_file(store / "big" / "ct.dcm", "big/ct.dcm", "PACS-B")
    landing = land(envelope.headers(), b"", tmp_path, claim_root=store)
    assert (landing.status, landing.kind, landing.source_system) == (LANDED, "reference", "PACS-B")
    assert (tmp_path / "landing" / landing.relative_path).read_bytes() == CT
    # The same reference as a file: URI.
    uri = Envelope(envelope.content_type, envelope.length, envelope.sha256, (store / "big" / "ct.dcm").as_uri())
    assert land(uri.headers(), None, tmp_path, claim_root=store).status == LANDED


def test_claim_checks_that_point_nowhere_or_outside_the_store_are_rejected(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "secret.dcm").write_bytes(CT)
    sha = hashlib.sha256(CT).hexdigest()
    missing = Envelope("application/dicom", len(CT), sha, "gone/ct.dcm")
    outside = Envelope("application/dicom", len(CT), sha, "../secret.dcm")
    assert land(missing.headers(), b"", tmp_path, store).reason == MessageReason.REFERENCE_NOT_FOUND
    assert land(outside.headers(), b"", tmp_path, store).reason == MessageReason.REFERENCE_OUTSIDE_STORE
    assert land(missing.headers(), b"", tmp_path, None).reason == MessageReason.REFERENCE_OUTSIDE_STORE
    # A referenced file changed since it was announced: caught by its hash, nothing left in landing.
    (store / "ct.dcm").write_bytes(CT[:-1] + b"X")
    changed = land(Envelope("application/dicom", len(CT), sha, "ct.dcm").headers(), b"", tmp_path, store)
    assert changed.reason == MessageReason.CHECKSUM_MISMATCH
    assert not any((tmp_path / "landing").rglob("*.dcm"))


def test_details_never_carry_a_header_value(tmp_path):
    name = "DOE^JANE"
    envelope = Envelope("application/dicom", len(CT), hashlib.sha256(CT).hexdigest(), f"{name}/ct.dcm", None)
    landing = land(envelope.headers(), b"", tmp_path, tmp_path / "store")
    assert landing.status == REJECTED and name not in (landing.detail or "")
