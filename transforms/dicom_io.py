"""Reading DICOM headers without touching pixel data, and telling a complete file from a broken one.

pydicom reads a truncated file without complaint (it stops at the end of the file and returns what it
got), so completeness is checked here: every element's declared extent must lie inside the file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import logging
import warnings

import pydicom
from pydicom import config as pydicom_config
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

# Values larger than this are not read at parse time (pixel data, big private blobs): the header of
# a 1 GB file costs what the header costs.
DEFER_BYTES = 64 * 1024
UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_DATA_TAGS = (Tag(0x7FE00010), Tag(0x7FE00008), Tag(0x7FE00009))  # Pixel, Float, Double Float
PIXEL_DATA = Tag(0x7FE00010)
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
DEFLATED_SYNTAX = "1.2.840.10008.1.2.1.99"


def keep_values_out_of_logs() -> None:
    """pydicom's validation warnings quote element values (PHI): silence them, everywhere we read."""
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"pydicom(\..*)?")


keep_values_out_of_logs()


class HeaderError(Exception):
    """The header cannot be read as DICOM; `reason` is machine-readable, never a value from the file."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PixelDataExtent:
    offset: int            # byte offset of the value in the file
    length: int | None     # None: undefined length (encapsulated)
    encapsulated: bool


class BoundedReader(io.BufferedReader):
    """A file whose reads never ask for more bytes than are left in it.

    pydicom reads an element's declared length in one `read`, and a buffered read allocates what it is
    asked for: one flipped length word (0xFFFFFFFE) made a 5 kB file cost 4 GB of memory (found by
    bench/fuzz.py). Being a BufferedReader, pydicom treats it as an ordinary open file (deferred values
    are read again by path).
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__(io.FileIO(os.fspath(path), "rb"))
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(0, self._size - self.tell()))
        return super().read(size)


def read_header(path: str | os.PathLike) -> Dataset:
    """Parse a Part 10 file (or a bare dataset with no preamble) with deferred large values.

    Whatever pydicom raises on a hostile file (zlib errors of a cut deflated stream, its own
    BytesLengthException, struct errors ...) is a HeaderError with the exception's type as detail.
    """
    try:
        with BoundedReader(path) as fh:
            return pydicom.dcmread(fh, defer_size=DEFER_BYTES)
    except pydicom.errors.InvalidDicomError:
        pass
    except Exception as exc:  # noqa: BLE001 - a file pydicom cannot parse is unreadable, never a crash
        raise HeaderError("unreadable_header", type(exc).__name__) from exc
    # No preamble/DICM prefix: some archives hold bare datasets. Accept only if it parses into a
    # plausible composite instance, since force=True parses almost anything into garbage.
    try:
        with BoundedReader(path) as fh:
            ds = pydicom.dcmread(fh, defer_size=DEFER_BYTES, force=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not DICOM"
        raise HeaderError("not_dicom", type(exc).__name__) from exc
    if not _looks_like_composite_instance(ds):
        raise HeaderError("not_dicom", "no DICM prefix and no SOP Class/Instance UID")
    return ds


def _looks_like_composite_instance(ds: Dataset) -> bool:
    try:
        return bool(ds.get("SOPClassUID")) and bool(ds.get("SOPInstanceUID"))
    except Exception:  # noqa: BLE001 - garbage values fail conversion
        return False


def find_incompleteness(ds: Dataset, file_size: int) -> str | None:
    """Why this parsed dataset is not the whole file (machine-readable), or None when complete."""
    if len(ds) == 0:
        return "truncated_header"
    meta = getattr(ds, "file_meta", None)
    deflated = meta is not None and str(meta.get("TransferSyntaxUID", "")) == DEFLATED_SYNTAX
    # A deflated dataset is parsed from its inflated stream, whose offsets are not file offsets;
    # zlib itself rejects a cut stream.
    if not deflated and (_extent_beyond_file(ds, file_size) or _unparsed_tail(ds, file_size)):
        return "truncated"
    has_pixels = any(tag in ds for tag in PIXEL_DATA_TAGS)
    if not has_pixels and "Rows" in ds and "Columns" in ds and "BitsAllocated" in ds:
        # pydicom silently drops a pixel data element cut short by the end of the file.
        return "truncated_pixel_data"
    return None


def _extent_beyond_file(ds: Dataset, file_size: int) -> bool:
    for elem in ds._dict.values():  # raw access: no deferred value is read
        if isinstance(elem, RawDataElement):
            if elem.length == UNDEFINED_LENGTH:
                continue
            if elem.value_tell + elem.length > file_size:
                return True
            if elem.value is not None and len(elem.value) < elem.length:
                return True
        elif elem.VR == "SQ":
            for item in elem.value or ():
                if _extent_beyond_file(item, file_size):
                    return True
    return False


def _unparsed_tail(ds: Dataset, file_size: int) -> bool:
    """True when bytes follow the last complete element: pydicom stops quietly at a cut element header.

    Only decidable when the last element has a defined length (an undefined-length sequence or
    encapsulated pixel data ends at a delimiter whose position pydicom does not keep).
    """
    if not ds._dict:
        return False
    last = ds._dict[max(ds._dict)]
    if not isinstance(last, RawDataElement) or last.length == UNDEFINED_LENGTH:
        return False
    return last.value_tell + last.length < file_size


def pixel_data_extent(ds: Dataset) -> PixelDataExtent | None:
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True) if PIXEL_DATA in ds else None
    if elem is None:
        return None
    length = getattr(elem, "length", None)
    undefined = length in (None, UNDEFINED_LENGTH) or getattr(elem, "is_undefined_length", False)
    return PixelDataExtent(
        offset=int(getattr(elem, "value_tell", 0) or 0),
        length=None if undefined else int(length),
        encapsulated=undefined,
    )


def is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    sop = (meta.get("MediaStorageSOPClassUID") if meta is not None else None) or ds.get("SOPClassUID")
    return str(sop or "") == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds


def file_size(path: str | os.PathLike) -> int:
    return Path(path).stat().st_size
