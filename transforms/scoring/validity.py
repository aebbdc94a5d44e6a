"""Validity: `dciodvfy` (Debian's dicom3tools) on the input and the output; the output may not add
errors. Running the tool and comparing error kinds is `transforms.dciodvfy` (shared with the leakage
gate's structure check); this module turns the comparison into the scorer's figure.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from transforms.dciodvfy import added_error_kinds, dciodvfy_available, error_kinds


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


def check_validity(input_path: Path, output_path: Path) -> ValidityResult:
    if not dciodvfy_available():
        return ValidityResult(ran=False, reason="dciodvfy_not_installed")
    try:
        before, after = error_kinds(input_path), error_kinds(output_path)
    except (OSError, subprocess.SubprocessError) as exc:
        return ValidityResult(ran=False, reason=f"dciodvfy_failed:{type(exc).__name__}")
    added = added_error_kinds(before, after)
    return ValidityResult(ran=True, input_errors=sum(before.values()), output_errors=sum(after.values()),
                          added_errors=sum(added.values()), added_kinds=sorted(added))
