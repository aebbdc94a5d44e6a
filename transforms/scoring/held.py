"""What a run left in its output folder about its inputs, read by input SHA-256 (the truth records each
input's): `quarantine.json`, the files it held back and why (stage, machine-readable reason), and
`manifest.json`, the files it published and where (`gold_path`), both written by `deidlake run --output`.
A held file is told from a lost one, and a published one is paired with its output exactly (no
fingerprint needed). Tools that leave no such listings are matched by content and have no held files.
"""

from __future__ import annotations

import json
from pathlib import Path

QUARANTINE_LISTING = "quarantine.json"
PUBLISHED_LISTING = "manifest.json"


def _listing_rows(output_root: Path, name: str) -> list:
    """The "files" rows of a run's listing (empty when it is missing or unreadable)."""
    listing = Path(output_root) / name
    if not listing.is_file():
        return []
    try:
        return list(json.loads(listing.read_text(encoding="utf-8")).get("files", []))
    except (OSError, ValueError, AttributeError, TypeError):
        return []


def read_held(output_root: Path) -> dict[str, list[str]]:
    """Input SHA-256 -> sorted "stage:reason" of every open quarantine entry (empty without a listing)."""
    rows = _listing_rows(output_root, QUARANTINE_LISTING)
    held: dict[str, set[str]] = {}
    for row in rows:
        if isinstance(row, dict) and row.get("sha256"):
            held.setdefault(str(row["sha256"]), set()).add(f"{row.get('stage', '?')}:{row.get('reason', '?')}")
    return {sha: sorted(reasons) for sha, reasons in held.items()}


def read_published(output_root: Path) -> dict[str, Path]:
    """Input SHA-256 -> the published output file, from manifest.json (empty without one)."""
    rows = _listing_rows(output_root, PUBLISHED_LISTING)
    return {str(row["sha256"]): Path(output_root) / str(row["gold_path"]) for row in rows
            if isinstance(row, dict) and row.get("sha256") and row.get("gold_path")}
