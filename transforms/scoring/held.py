"""Files a run held back (quarantined) instead of publishing, and why, from what the run leaves in its
output folder: `quarantine.json` (written by `deidlake run --output`: per held input its SHA-256, stage,
machine-readable reason and PHI-free detail). The truth records each input's SHA-256, so a held file is
told from a lost one. Tools that leave no such listing simply have no held files: their unpublished
inputs are reported missing.
"""

from __future__ import annotations

import json
from pathlib import Path

QUARANTINE_LISTING = "quarantine.json"


def read_held(output_root: Path) -> dict[str, list[str]]:
    """Input SHA-256 -> sorted "stage:reason" of every open quarantine entry (empty without a listing)."""
    listing = Path(output_root) / QUARANTINE_LISTING
    if not listing.is_file():
        return {}
    try:
        rows = json.loads(listing.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return {}
    held: dict[str, set[str]] = {}
    for row in rows:
        if isinstance(row, dict) and row.get("sha256"):
            held.setdefault(str(row["sha256"]), set()).add(f"{row.get('stage', '?')}:{row.get('reason', '?')}")
    return {sha: sorted(reasons) for sha, reasons in held.items()}
