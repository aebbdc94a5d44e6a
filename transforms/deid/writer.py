"""A de-identified dataset as Part 10 bytes, in its own transfer syntax."""

from __future__ import annotations

import io

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.charset import default_encoding
from pydicom.filewriter import correct_ambiguous_vr, write_data_element, write_file_meta_info
from pydicom.filewriter import write_dataset as pydicom_write_dataset
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from transforms.deid.file_meta import TRANSFER_SYNTAX_UID, ascii_of
from transforms.deid.raw_items import UNDEFINED, MalformedItem, codec_for


def write_dataset(ds: Dataset) -> bytes:
    """Part 10 bytes of `ds` (deferred values, such as pixel data, are read from their file here).

    pydicom's own pieces (write_file_meta_info, write_dataset) without dcmwrite's deep copy of the
    file meta and second validation: we own the file meta, and this runs once per file.
    """
    try:
        return _write_part10(ds)
    except (TypeError, ValueError):
        if not _has_raw_without_vr(ds):
            raise
        # The body is implicit VR while the transfer syntax says explicit (seen in the wild, and
        # pydicom cannot copy such raw elements): give every element its VR and write it properly.
        _decode_raw_without_vr(ds)
        correct_ambiguous_vr(ds, ds.original_encoding[1] is not False)
        return _write_part10(ds)


def _write_part10(ds: Dataset) -> bytes:
    meta = ds.file_meta
    syntax = UID(ascii_of(meta, TRANSFER_SYNTAX_UID) or "")
    if syntax == DeflatedExplicitVRLittleEndian or not syntax.is_transfer_syntax:
        buffer = io.BytesIO()                          # rare: let dcmwrite deflate / decide
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    fp = DicomBytesIO()
    fp.write(getattr(ds, "preamble", None) or b"\x00" * 128)
    fp.write(b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    fp.is_implicit_VR, fp.is_little_endian = syntax.is_implicit_VR, syntax.is_little_endian
    if _needs_reencoding(ds, fp):
        pydicom_write_dataset(fp, ds)                  # pydicom converts every element; rare
    else:
        _write_body(fp, ds)
    return fp.getvalue()


def _needs_reencoding(ds: Dataset, fp: DicomBytesIO) -> bool:
    """pydicom's own condition for re-encoding every element (see filewriter.write_dataset)."""
    return (fp.is_implicit_VR, fp.is_little_endian) != tuple(ds.original_encoding) or \
        ds.original_character_set != ds._character_set


def _write_body(fp: DicomBytesIO, ds: Dataset) -> None:
    """The dataset's elements in tag order: raw elements as a header and their stored bytes, the
    others (values we changed through pydicom, sequences pydicom parsed) through pydicom's writer.

    Why hand-written: pydicom's writer spends most of a header's write time on per-element
    bookkeeping even for raw values it only copies; copying them here is a header and one write.
    """
    codec = codec_for(fp.is_implicit_VR, fp.is_little_endian)
    encodings = ds.get("SpecificCharacterSet", default_encoding)
    for tag in sorted(ds._dict):
        elem = ds._dict[tag]
        if isinstance(elem, RawDataElement) and elem.value is None:
            elem = ds.get_item(tag)                    # a deferred value (pixel data) read from its file
        if isinstance(elem, RawDataElement) and _copyable(elem, codec):
            length = UNDEFINED if elem.length == UNDEFINED else len(elem.value)   # as pydicom: bytes held
            try:
                fp.write(codec.header(tag, elem.VR or "UN", length))
            except MalformedItem:                      # a short-VR value over 64 KiB: let pydicom decide
                write_data_element(fp, ds[tag], encodings)
                continue
            fp.write(elem.value)
            if elem.length == UNDEFINED:
                fp.write(codec.sequence_delimiter())
        else:
            write_data_element(fp, elem if not isinstance(elem, RawDataElement) else ds[tag], encodings)


def _copyable(elem: RawDataElement, codec) -> bool:
    return elem.is_implicit_VR == codec.implicit and elem.is_little_endian == codec.little and \
        (codec.implicit or elem.VR is not None) and elem.value is not None


def _has_raw_without_vr(ds: Dataset) -> bool:
    return any(isinstance(raw, RawDataElement) and raw.VR is None for raw in ds._dict.values())


def _decode_raw_without_vr(ds: Dataset) -> None:
    for tag, raw in list(ds._dict.items()):
        if isinstance(raw, RawDataElement) and raw.VR is None:
            elem = ds[tag]
            if elem.VR == "SQ":
                for item in elem.value or ():
                    _decode_raw_without_vr(item)
