"""Dummy values for action D: valid for the VR, obviously not real, and the same in every file.

PN and UI never get a dummy from here (they get keyed pseudonyms and UIDs, which are also "dummy
values" in PS3.15's sense but keep distinct people and instances distinct).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

DUMMY_TEXT = "REDACTED"

DUMMY_BY_VR: Mapping[str, Any] = MappingProxyType({
    "AE": "DEIDLAKE",
    "AS": "000D",
    "CS": "REDACTED",
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "LO": DUMMY_TEXT, "LT": DUMMY_TEXT, "SH": DUMMY_TEXT, "ST": DUMMY_TEXT, "UT": DUMMY_TEXT,
    "UC": DUMMY_TEXT,
    "UR": "urn:x-deidlake:redacted",
    "OB": b"\x00\x00", "OW": b"\x00\x00", "OD": b"\x00" * 8, "OF": b"\x00" * 4, "OL": b"\x00" * 4,
    "OV": b"\x00" * 8, "UN": b"\x00\x00",
    "US": 0, "SS": 0, "UL": 0, "SL": 0, "UV": 0, "SV": 0, "FL": 0.0, "FD": 0.0,
    "AT": 0,
})

# Maximum value lengths (PS3.5 Table 6.2-1) of the text VRs, for text that a cleaner may lengthen.
MAX_CHARS: Mapping[str, int] = MappingProxyType({
    "AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UC": 0xFFFFFFFE,
    "UT": 0xFFFFFFFE, "PN": 64 * 5,
})


def dummy_for(vr: str) -> Any:
    """The dummy value for `vr`; a VR without one is an element we cannot de-identify safely."""
    return DUMMY_BY_VR[vr]
