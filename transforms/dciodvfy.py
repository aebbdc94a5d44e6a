"""dciodvfy (Debian's dicom3tools): the error kinds of one file, and the kinds an output adds to its input.

One place for both users: the scorer's validity figure (`transforms/scoring/validity.py`) and the leakage
gate's structure check (`transforms/leakage.py`). Errors are compared as kinds: dciodvfy quotes element
values in some messages (names in a "value invalid for VR" error), so every <...> except attribute and
module names is blanked before anything is kept or compared, and so is every quoted string and every
number or UID outside them. A kind therefore holds no value of the file (it may be stored and logged).

dciodvfy cannot read the Deflated Explicit VR Little Endian syntax; such a file is inflated by pydicom to
Explicit VR Little Endian in a temporary file first (same dataset, same elements), for the input and the
output alike.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pydicom
import pydicom.uid as uid

DCIODVFY = "dciodvfy"
TIMEOUT_S = 300
VALUE_IN_ANGLES = re.compile(r"(?<!Element=)(?<!Module=)(?<!attribute )<[^<>]*>")
QUOTED = re.compile(r'"[^"]*"')
# Numbers and UIDs outside the angles: lengths, counts, and the UIDs some messages quote ("not listed in
# CurrentRequestedProcedureEvidenceSequence but have IMAGE ReferencedSOPInstanceUID 1.2.3..."), which the
# de-identification replaces: the same error with a new UID is not an added error.
NUMBERS = re.compile(r"\b\d+(?:\.\d+)*\b")


def dciodvfy_available() -> bool:
    return shutil.which(DCIODVFY) is not None


def error_kinds(path: str | Path, timeout_s: float = TIMEOUT_S) -> Counter[str]:
    """dciodvfy's errors for a file, values blanked. Raises OSError / SubprocessError when it cannot run."""
    with tempfile.TemporaryDirectory(prefix="deidlake-dciodvfy-") as tmp:
        target = _inflated(Path(path), Path(tmp))
        done = subprocess.run([DCIODVFY, str(target)], capture_output=True, timeout=timeout_s)
    lines = (done.stdout + done.stderr).decode("latin-1").splitlines()
    return Counter(error_kind(line) for line in lines if line.startswith("Error"))


def added_error_kinds(before: Counter[str], after: Counter[str]) -> Counter[str]:
    """Errors of the output beyond those of its input (a kind the input had as often is not added)."""
    return after - before


def error_kind(line: str) -> str:
    return NUMBERS.sub("#", QUOTED.sub('""', VALUE_IN_ANGLES.sub("<>", line))).strip()


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
