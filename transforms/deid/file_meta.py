"""The file meta group of a de-identified file: what describes the file stays, the instance UID
follows the dataset, the implementation is ours, everything else (AE titles, private information)
goes."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from transforms.deid.encode import ascii_element
from transforms.deid.pseudonyms import clean_identifier
from transforms.deid.run import Run, effective_vr
from transforms.deid.values import ascii_value, mapped_uid

IMPLEMENTATION_CLASS_UID = "2.25.160894331566127329127424066416371745711"   # uuid5(URL, "deidlake")
IMPLEMENTATION_VERSION_NAME = "DEIDLAKE_0_1"
META_KEPT = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010})
MEDIA_SOP_CLASS_UID, MEDIA_INSTANCE_UID = 0x00020002, 0x00020003
OURS = frozenset({0x00020012, 0x00020013})               # replaced by our implementation's identity
TRANSFER_SYNTAX_UID = 0x00020010
SOP_CLASS_UID, SOP_INSTANCE_UID = 0x00080016, 0x00080018


def rewrite_file_meta(run: Run, ds: Dataset) -> None:
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    for tag, raw in list(meta._dict.items()):
        tag_int = int(tag)
        if tag_int in META_KEPT:
            continue
        original_hash = run.hash_value(raw)
        if tag_int == MEDIA_INSTANCE_UID:
            new_instance = _new_media_instance_uid(run, ds, meta)
            if new_instance is not None:
                _set(meta, MEDIA_INSTANCE_UID, "UI", new_instance)
                run.record("", tag_int, "UI", "U:file_meta", original_hash)
            continue
        del meta._dict[tag]
        action = "D:file_meta" if tag_int in OURS else "X:file_meta"
        run.record("", tag_int, effective_vr(raw.VR, tag_int), action, original_hash)
    _complete(ds, meta)
    _set(meta, 0x00020012, "UI", IMPLEMENTATION_CLASS_UID)
    _set(meta, 0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    if getattr(ds, "preamble", None) is None:
        ds.preamble = b"\x00" * 128


def ascii_of(ds: Dataset, tag: int) -> str | None:
    """A UI value read without decoding the element (it is ASCII whatever the character set)."""
    raw = ds._dict.get(tag)
    if raw is None:
        return None
    value: Any = raw.value
    text = ascii_value(value) if isinstance(value, bytes) else value
    if isinstance(text, (list, MultiValue)):
        text = "\\".join(str(item) for item in text)
    return clean_identifier(str(text or "")) or None


def _set(meta: FileMetaDataset, tag: int, vr: str, value: str) -> None:
    """File meta is always explicit VR little endian."""
    meta._dict[Tag(tag)] = ascii_element(tag, vr, value, (False, True))


def _complete(ds: Dataset, meta: FileMetaDataset) -> None:
    """A bare dataset (no Part 10 header) is written as a proper file: describe it from itself."""
    if TRANSFER_SYNTAX_UID not in meta._dict:
        implicit, little = ds.original_encoding
        syntax = (ImplicitVRLittleEndian if implicit else
                  ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian)
        _set(meta, TRANSFER_SYNTAX_UID, "UI", syntax)
    for meta_tag, ds_tag in ((MEDIA_SOP_CLASS_UID, SOP_CLASS_UID), (MEDIA_INSTANCE_UID, SOP_INSTANCE_UID)):
        value = ascii_of(ds, ds_tag)
        if meta_tag not in meta._dict and value:
            _set(meta, meta_tag, "UI", value)


def _new_media_instance_uid(run: Run, ds: Dataset, meta: FileMetaDataset) -> str | None:
    sop_instance = ascii_of(ds, SOP_INSTANCE_UID)
    if sop_instance:
        return sop_instance
    current = ascii_of(meta, MEDIA_INSTANCE_UID)
    if not current or run.table.options.retain_uids:
        return None
    return mapped_uid(run, current)
