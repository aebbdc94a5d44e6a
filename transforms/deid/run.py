"""The state of one file's de-identification, and what every decision writes to the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence

from transforms.deid.dates import Shift
from transforms.deid.profile import ActionTable
from transforms.deid.pseudonyms import audit_hash
from transforms.keyring import Keyring

TextCleaner = Callable[[str], str]

# The context a sequence gives its items: plain (the profile as is), dummy (a D sequence: free text
# the table does not list becomes a dummy so the structure stays valid), clean (a C sequence: such
# free text goes through the text cleaner), retain (a sequence a retain option keeps, e.g. Institution
# Code Sequence: its coded entries are the retained information, kept even from local schemes).
PLAIN, DUMMY_CONTEXT, CLEAN_CONTEXT, RETAIN_CONTEXT = "plain", "dummy", "clean", "retain"
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})


@dataclass
class Run:
    table: ActionTable
    keyring: Keyring
    text_cleaner: TextCleaner | None
    patient_pseudonym: str
    shift: Shift
    audit_all: bool
    encoding: tuple[bool, bool] = (False, True)       # (implicit VR, little endian) of the dataset
    sop_class: str | None = None                      # the file's SOP Class UID: its IOD decides some rules
    audit: list[dict[str, Any]] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict)
    changes: int = 0                                  # edits so far: an unchanged sequence stays as read

    def record(self, prefix: str, tag: int, vr: str, action: str, original_hash: str | None) -> None:
        """One audit row; every action but K counts as a change."""
        if action != "K":
            self.changes += 1
        self.audit.append({
            "element_path": path_of(prefix, tag), "tag": f"{tag:08X}", "keyword": keyword_of(tag),
            "vr": vr, "action": action, "original_hash": original_hash,
        })

    def hash_value(self, element: Any, owner: Any = None) -> str | None:
        """Keyed hash of an element's value as stored in the file (its bytes, trailing padding
        removed): for ASCII or UTF-8 text, `keyring.hexdigest("audit", text)`. An element pydicom has
        already decoded is encoded back first, so both walkers hash alike. None for a value not read
        (deferred) and for sequences (their elements are audited one by one)."""
        value = element.value
        if value is None or (element.VR or dictionary_vr(element.tag)) == "SQ" or isinstance(value, Sequence):
            return None
        if not isinstance(value, (bytes, bytearray)) or not getattr(element, "is_raw", False):
            encodings = owner._character_set if owner is not None else None   # only now: it costs
            value = stored_bytes(element, self.encoding, encodings)
        return audit_hash(self.keyring, bytes(value).rstrip(b"\x00 "))


def stored_bytes(element: DataElement, encoding: tuple[bool, bool], encodings: Any = None) -> bytes:
    """The value bytes pydicom writes for a decoded element (header cut off)."""
    implicit, little = encoding
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
    write_data_element(buffer, element, encodings or default_encoding)
    header = 8 if implicit or element.VR not in LONG_VRS else 12
    return buffer.getvalue()[header:]


def path_of(prefix: str, tag: int) -> str:
    """Our element path: 8 uppercase hex digits per tag, nested as 00400275[0].00321060."""
    return f"{prefix}{int(tag):08X}"


@lru_cache(maxsize=8192)
def keyword_of(tag: int) -> str | None:
    return keyword_for_tag(tag) or None


@lru_cache(maxsize=8192)
def dictionary_vr(tag: int) -> str:
    """The dictionary VR of a public tag (first of an ambiguous pair); UN when unknown or private."""
    if (tag >> 16) & 1:
        return "UN"
    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return "UN"


def effective_vr(stored: str | None, tag: int) -> str:
    """The VR that decides: the stored one, or the dictionary's when the file says nothing (implicit
    VR) or UN about a public element (pydicom converts those to the dictionary VR when reading)."""
    if stored is None or (stored == "UN" and not (tag >> 16) & 1):
        return dictionary_vr(tag)
    return str(stored)
