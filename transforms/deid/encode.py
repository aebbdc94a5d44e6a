"""Replacement values as raw elements: the bytes pydicom would write, built directly.

Why hand-written: every value this package writes in place of an original (UIDs, dates, pseudonyms,
dummies, empty values) is ASCII text by construction, and encoding it here is a join and a pad. Going
through pydicom's DataElement costs a value validation on creation and a charset lookup on writing for
each of the ~30 elements a header changes, which is most of the de-identification time on a small
file. Anything not plain ASCII text (cleaned free text, numbers, binary dummies) still goes through
pydicom (`None` is returned here).
"""

from __future__ import annotations

from typing import Any

from pydicom.dataelem import RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
                        "UI", "UR", "UT"})
SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})
EMPTY_VALUE = object()   # marker for action Z


def ascii_element(tag: int, vr: str, value: Any, encoding: tuple[bool, bool]) -> RawDataElement | None:
    """A raw element holding `value` (str, list of str, None or empty), or None if not plain ASCII text."""
    if value is EMPTY_VALUE:
        return _raw(tag, vr, b"", encoding)            # Z: zero length is valid for every VR
    if vr not in STRING_VRS:
        return None
    if value is None:
        return _raw(tag, vr, b"", encoding)
    if isinstance(value, (list, tuple, MultiValue)):
        if vr in SINGLE_VALUED or not all(isinstance(item, str) for item in value):
            return None
        text = "\\".join(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    if not text.isascii():
        return None
    data = text.encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return _raw(tag, vr, data, encoding)


def _raw(tag: int, vr: str, data: bytes, encoding: tuple[bool, bool]) -> RawDataElement:
    implicit, little = encoding
    return RawDataElement(BaseTag(tag), vr, len(data), data, 0, implicit, little)
