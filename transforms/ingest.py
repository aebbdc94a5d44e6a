"""Bronze ingest of one landing file: keep an immutable copy, then say whether it is usable DICOM.

Every file gets a verdict; a bad file is rejected with a machine-readable reason and never stops the
batch. Reasons and details never quote a value from the file (it may be PHI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

import pydicom.uid

from transforms.dicom_io import HeaderError, find_incompleteness, is_dicomdir, read_header

DEFAULT_MAX_FILE_BYTES = 16 * 1024**3   # larger than any real study file; absurd sizes are rejected


class RejectReason(StrEnum):
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    NOT_DICOM = "not_dicom"
    DICOMDIR = "dicomdir"
    UNREADABLE_HEADER = "unreadable_header"
    TRUNCATED_HEADER = "truncated_header"
    TRUNCATED = "truncated"
    TRUNCATED_PIXEL_DATA = "truncated_pixel_data"
    UNKNOWN_TRANSFER_SYNTAX = "unknown_transfer_syntax"
    MISSING_SOP_INSTANCE_UID = "missing_sop_instance_uid"
    UNREADABLE_FILE = "unreadable_file"


@dataclass(frozen=True)
class Verdict:
    status: str                     # ok | rejected
    reject_reason: str | None = None
    reject_detail: str | None = None

    @classmethod
    def ok(cls) -> "Verdict":
        return cls("ok")

    @classmethod
    def reject(cls, reason: RejectReason | str, detail: str | None = None) -> "Verdict":
        return cls("rejected", str(reason), detail)


def inspect_dicom_file(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Verdict:
    """Decide whether `path` can enter the pipeline, reading the header only."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        return Verdict.reject(RejectReason.UNREADABLE_FILE, type(exc).__name__)
    if size == 0:
        return Verdict.reject(RejectReason.EMPTY_FILE)
    if size > max_bytes:
        return Verdict.reject(RejectReason.TOO_LARGE, f"{size} bytes > limit {max_bytes}")
    try:
        ds = read_header(path)
    except HeaderError as exc:
        return Verdict.reject(exc.reason, exc.detail)
    try:
        return _judge_parsed(ds, size)
    except Exception as exc:  # noqa: BLE001 - pydicom converts values lazily: an unknown VR raises here
        return Verdict.reject(RejectReason.UNREADABLE_HEADER, type(exc).__name__)


def _judge_parsed(ds, size: int) -> Verdict:
    """The checks of a parsed header; reading a value may raise (a hostile VR or value)."""
    if is_dicomdir(ds):
        return Verdict.reject(RejectReason.DICOMDIR, "media directory, not an image instance")
    incomplete = find_incompleteness(ds, size)
    if incomplete:
        return Verdict.reject(incomplete, f"file of {size} bytes ends inside an element")
    ts = transfer_syntax_of(ds)
    if ts is not None and not ts.is_transfer_syntax:
        return Verdict.reject(RejectReason.UNKNOWN_TRANSFER_SYNTAX, "transfer syntax UID not in DICOM PS3.6")
    try:
        has_instance_uid = bool(ds.get("SOPInstanceUID"))
    except Exception:  # noqa: BLE001 - an unparsable UID value
        has_instance_uid = False
    if not has_instance_uid:
        return Verdict.reject(RejectReason.MISSING_SOP_INSTANCE_UID)
    return Verdict.ok()


def transfer_syntax_of(ds) -> pydicom.uid.UID | None:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    return pydicom.uid.UID(str(uid)) if uid else None
