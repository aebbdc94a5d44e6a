"""Publishing one verified candidate into the gold archive: immutable, content-checked, once."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from transforms.file_digest import file_sha256


class PublishConflict(Exception):
    """The gold path already holds different content: published files are never overwritten."""

    reason = "gold_path_conflict"


def gold_relative_path(patient: str, study_uid: str | None, series_uid: str | None, sop_uid: str | None,
                       sha256: str) -> str:
    """pseudonymized patient / study / series / instance, from keyed values only."""
    parts = [_safe(patient), _safe(study_uid or "no-study"), _safe(series_uid or "no-series")]
    return "/".join(parts + [f"{_safe(sop_uid or sha256)}.dcm"])


def publish_file(candidate: str | os.PathLike, gold_root: str | os.PathLike, relative: str,
                 expected_sha256: str) -> bool:
    """Copy the verified bytes to the gold path; True when newly written, False when already there."""
    target = Path(gold_root) / relative
    if target.exists():
        if file_sha256(target) != expected_sha256:
            raise PublishConflict(relative)
        return False
    if file_sha256(candidate) != expected_sha256:
        raise ValueError("candidate changed after verification")      # never publish unverified bytes
    target.parent.mkdir(parents=True, exist_ok=True)
    # A name of this writer's own, then a hard link into place, which fails if the path exists: two
    # runs publishing the same content at once never write one file together, and never replace a
    # published file; the second finds the first's file and checks its bytes.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.incoming")
    try:
        shutil.copyfile(candidate, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, target)
        except FileExistsError:
            if file_sha256(target) != expected_sha256:
                raise PublishConflict(relative) from None
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _safe(part: str) -> str:
    return "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in part)
