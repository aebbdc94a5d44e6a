"""The file of PS3.15 Table E.1-1 (`data/confidentiality_profile_attributes.json`): its text and its digest.

A module of its own so that imports flow one way: `options` records the digest in every fingerprint and
`profile` parses the text into the action table, and neither needs the other for that
(options <- profile, never back).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

PROFILE_FILE = "confidentiality_profile_attributes.json"


@cache
def profile_text() -> str:
    return resources.files("transforms.deid").joinpath("data", PROFILE_FILE).read_text(encoding="utf-8")


@cache
def profile_digest() -> str:
    """SHA-256 of the table file: recorded with outputs so a table update is visible."""
    return hashlib.sha256(profile_text().encode("utf-8")).hexdigest()
