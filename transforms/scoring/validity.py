"""Validity: `dciodvfy` (Debian's dicom3tools) on the input and the output; the output may not add
errors. Errors are compared as kinds: dciodvfy quotes element values in some messages (names in a
"value invalid for VR" error), so every <...> except attribute and module names is blanked before
anything is kept or compared, and so is every number or UID outside them.

dciodvfy cannot read the Deflated Explicit VR Little Endian syntax; such a file is inflated by
pydicom to Explicit VR Little Endian in a temporary file first (same dataset, same elements), for
the input and the output alike.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pydicom.uid as uid

DCIODVFY = "dciodvfy"
TIMEOUT_S = 300
VALUE_IN_ANGLES = re.compile(r"(?<!Element=)(?<!Module=)(?<!attribute )<[^<>]*>")
# Numbers and UIDs outside the angles: lengths, counts, and the UIDs some messages quote ("not listed in
# CurrentRequestedProcedureEvidenceSequence but have IMAGE ReferencedSOPInstanceUID 1.2.3..."), which the
# de-identification replaces: the same error with a new UID is not an added error.
NUMBERS = re.compile(r"\b\d+(?:\.\d+)*\b")


@dataclass
class ValidityResult:
    ran: bool
    reason: str | None = None
    input_errors: int = 0
    output_errors: int = 0
    added_errors: int = 0
    added_kinds: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool | None:
        return None if not self.ran else self.added_errors == 0

    def to_json(self) -> dict:
        return {"ran": self.ran, "reason": self.reason, "valid": self.valid, "input_errors": self.input_errors,
                "output_errors": self.output_errors, "added_errors": self.added_errors,
                "added_kinds": self.added_kinds}


def dciodvfy_available() -> bool:
    return shutil.which(DCIODVFY) is not None


def error_kinds(path: Path) -> Counter[str]:
    """dciodvfy's errors for a file, values blanked."""
    with tempfile.TemporaryDirectory(prefix="deidlake-dciodvfy-") as tmp:
        target = _inflated(path, Path(tmp))
        done = subprocess.run([DCIODVFY, str(target)], capture_output=True, timeout=TIMEOUT_S)
    lines = (done.stdout + done.stderr).decode("latin-1").splitlines()
    return Counter(_kind(line) for line in lines if line.startswith("Error"))


def _kind(line: str) -> str:
    return NUMBERS.sub("#", VALUE_IN_ANGLES.sub("<>", line))


def _inflated(path: Path, tmp: Path) -> Path:
    try:
        meta = pydicom.dcmread(path, stop_before_pixels=True).file_meta
    except Exception:  # noqa: BLE001 - let dciodvfy report on whatever the file is
        return path
    if str(meta.get("TransferSyntaxUID", "")) != uid.DeflatedExplicitVRLittleEndian:
        return path
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    target = tmp / "inflated.dcm"
    ds.save_as(target, enforce_file_format=True)
    return target


def check_validity(input_path: Path, output_path: Path) -> ValidityResult:
    if not dciodvfy_available():
        return ValidityResult(ran=False, reason="dciodvfy_not_installed")
    try:
        before, after = error_kinds(input_path), error_kinds(output_path)
    except (OSError, subprocess.SubprocessError) as exc:
        return ValidityResult(ran=False, reason=f"dciodvfy_failed:{type(exc).__name__}")
    added = after - before
    return ValidityResult(ran=True, input_errors=sum(before.values()), output_errors=sum(after.values()),
                          added_errors=sum(added.values()), added_kinds=sorted(added))
