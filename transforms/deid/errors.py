"""The one exception a caller must handle: a file that must be quarantined, never published."""

from __future__ import annotations


class DeidError(Exception):
    """This file cannot be de-identified safely.

    `reason` is machine-readable (e.g. "unparsable_element", "unshiftable_date", "no_patient_key");
    `where` is the element path in our format (tags only). Neither ever contains a value from the file.
    """

    def __init__(self, reason: str, where: str = "", cause: str = ""):
        parts = [reason] + [part for part in (f"at {where}" if where else "", cause) if part]
        super().__init__(" ".join(parts))
        self.reason = reason
        self.where = where
        self.cause = cause
