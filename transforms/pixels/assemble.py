"""Streaming the de-identified file: header from the caller, pixel data frame by frame from the reader.

Why streamed: the output of a 1 GB cine must not be built in memory. The header (already de-identified
elsewhere) is encoded by pydicom; the Pixel Data element is written by hand around it: unchanged frames
are copied byte for byte from the raw store (encapsulated fragments as they were), changed frames are
encoded one at a time and spilled to a temporary file first, because a Basic Offset Table, which
precedes the fragments, needs every frame's size.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Union

import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info

from transforms.file_digest import file_digest
from transforms.pixels.encode import EncodedFrame, EncodePlan, encode_frame, plan_encoding
from transforms.pixels.frames import FrameReader

PIXEL_DATA = 0x7FE00010
DROPPED_TAGS = frozenset({0x7FE00001, 0x7FE00002, 0x7FE00008, 0x7FE00009, PIXEL_DATA,
                          0xFFFAFFFA, 0xFFFCFFFC})   # offset tables (rewritten), pixels, signatures, padding
MAX_BOT_BYTES = 0xFFFFFFFF
CHUNK = 1 << 20

ChangedFrame = Union[np.ndarray, EncodedFrame, Callable[[], Union[np.ndarray, EncodedFrame]]]


@dataclass(frozen=True)
class EncodeDecision:
    """What was written, for the per-file silver row (no PHI)."""

    original_syntax: str
    output_syntax: str
    kept: bool
    reason: str
    frames_copied: int
    frames_reencoded: int
    output_sha256: str
    output_size: int
    output_path: str


def write_deidentified_file(header: Dataset, reader: FrameReader, changed_frames: Mapping[int, ChangedFrame],
                            out_path: str | os.PathLike, *, lossy_jpeg_policy: str = "same_syntax",
                            plan: EncodePlan | None = None) -> EncodeDecision:
    """Write `header` + the reader's frames, with `changed_frames` (index -> stored-value array, or a
    pre-encoded frame, or a zero-argument callable giving either, evaluated one at a time) replacing
    theirs. Nothing is set about burned-in annotation here (see `set_burned_in_annotation`)."""
    info = reader.info
    plan = plan or plan_encoding(info, bool(changed_frames), lossy_jpeg_policy)
    body, trailer = _split_header(header, plan)
    out_path = Path(out_path)
    with tempfile.TemporaryFile(prefix="deidlake-frames-") as spill:
        frames = _prepare_frames(reader, changed_frames, plan, spill)
        with open(out_path, "wb") as raw:
            _write_preamble_and_meta(raw, body, plan)
            sink = _DeflateSink(raw) if plan.output_syntax == uid.DeflatedExplicitVRLittleEndian else raw
            sink.write(_encode_dataset(body, plan))
            _write_pixel_data(sink, reader, frames, spill, plan)
            if len(trailer):
                sink.write(_encode_dataset(trailer, plan))
            if isinstance(sink, _DeflateSink):
                sink.close()
    size, digest = file_digest(out_path)
    reencoded = sum(1 for f in frames if f[0] == "spill")
    return EncodeDecision(str(plan.source_syntax), str(plan.output_syntax), plan.kept, plan.reason,
                          len(frames) - reencoded, reencoded, digest, size, str(out_path))


def set_burned_in_annotation(ds: Dataset, verified_clean: bool) -> None:
    """BurnedInAnnotation NO only when the caller verified the redaction (e.g. the leakage gate)."""
    ds.BurnedInAnnotation = "NO" if verified_clean else "YES"


# -- header ----------------------------------------------------------------------------------------

def _split_header(header: Dataset, plan: EncodePlan) -> tuple[Dataset, Dataset]:
    """The elements before and after Pixel Data, without pixels, offset tables, signatures, padding."""
    body, trailer = Dataset(), Dataset()
    for tag, element in header._dict.items():   # raw access: deferred values stay deferred
        if int(tag) in DROPPED_TAGS:
            continue
        (body if int(tag) < PIXEL_DATA else trailer)._dict[tag] = element
    for target in (body, trailer):
        # Where deferred values are read back from: the header's own file (pydicom looks for all four).
        target.filename = getattr(header, "filename", None)
        target.fileobj_type = getattr(header, "fileobj_type", open) or open
        target.timestamp = getattr(header, "timestamp", None)
        target.buffer = getattr(header, "buffer", None)
        target.set_original_encoding(*_original_encoding(header))
    body.file_meta = _output_meta(header, body, plan)
    if not plan.kept:
        body.PhotometricInterpretation = plan.output_photometric
        if int(body.get("SamplesPerPixel", 1) or 1) > 1:
            body.PlanarConfiguration = plan.output_planar_configuration
    elif plan.output_photometric != header.get("PhotometricInterpretation"):
        body.PhotometricInterpretation = plan.output_photometric
    return body, trailer


def _original_encoding(header: Dataset) -> tuple[bool, bool, str]:
    implicit, little = header.original_encoding
    implicit = bool(implicit) if implicit is not None else False
    little = bool(little) if little is not None else True
    return implicit, little, header.original_character_set


def _output_meta(header: Dataset, body: Dataset, plan: EncodePlan) -> FileMetaDataset:
    meta = FileMetaDataset(getattr(header, "file_meta", None) or FileMetaDataset())
    meta.TransferSyntaxUID = plan.output_syntax
    for src, dst in (("SOPClassUID", "MediaStorageSOPClassUID"), ("SOPInstanceUID", "MediaStorageSOPInstanceUID")):
        if src in body:
            setattr(meta, dst, body[src].value)
    meta.pop(0x00020000, None)      # group length: recomputed by pydicom
    return meta


def _encode_dataset(ds: Dataset, plan: EncodePlan) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = plan.output_syntax == uid.ImplicitVRLittleEndian
    write_dataset(fp, ds)
    return fp.getvalue()


def _write_preamble_and_meta(raw: BinaryIO, body: Dataset, plan: EncodePlan) -> None:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_file_meta_info(fp, body.file_meta, enforce_standard=True)
    raw.write(b"\x00" * 128 + b"DICM" + fp.getvalue())


class _DeflateSink:
    """Deflates the dataset as it is written (the file meta stays plain, as Part 10 requires)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._zip = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)

    def write(self, data: bytes) -> None:
        self._raw.write(self._zip.compress(data))

    def close(self) -> None:
        self._raw.write(self._zip.flush())


# -- pixel data ------------------------------------------------------------------------------------

FrameSlot = tuple[str, int, int]      # ("copy", index, 0) or ("spill", offset, length)


def _prepare_frames(reader: FrameReader, changed: Mapping[int, ChangedFrame], plan: EncodePlan,
                    spill: BinaryIO) -> list[FrameSlot]:
    """Encode every frame that must be encoded into the spill file; the others will be copied."""
    slots: list[FrameSlot] = []
    for index in range(reader.frame_count):
        if index not in changed and not plan.transcode_all:
            slots.append(("copy", index, 0))
            continue
        data = _encoded(reader, index, changed.get(index), plan)
        if len(data) % 2:
            data += b"\x00"
        offset = spill.tell()
        spill.write(data)
        slots.append(("spill", offset, len(data)))
    return slots


def _encoded(reader: FrameReader, index: int, source: ChangedFrame | None, plan: EncodePlan) -> bytes:
    value = source() if callable(source) else source
    if value is None:                       # transcoding an unchanged frame
        value = reader.decode_frame(index)
    if isinstance(value, EncodedFrame):
        if value.syntax != plan.output_syntax:
            raise ValueError(f"frame {index} encoded for another syntax than the plan's output")
        return value.data
    return encode_frame(value, reader.info, plan, reader, index)


def _write_pixel_data(sink, reader: FrameReader, slots: list[FrameSlot], spill: BinaryIO,
                      plan: EncodePlan) -> None:
    if plan.output_syntax.is_encapsulated:
        _write_encapsulated(sink, reader, slots, spill)
    else:
        _write_native(sink, reader, slots, spill, plan)


def _write_native(sink, reader: FrameReader, slots: list[FrameSlot], spill: BinaryIO, plan: EncodePlan) -> None:
    """Native frames are contiguous: each is written at its exact length (spilled frames carry an even
    pad that is dropped here); the element alone is padded to even length."""
    size = _native_length(reader, plan)
    total = size * len(slots)
    vr = b"OB" if reader.info.bits_allocated <= 8 else b"OW"
    if plan.output_syntax == uid.ImplicitVRLittleEndian:
        sink.write(struct.pack("<HHL", 0x7FE0, 0x0010, total + total % 2))
    else:
        sink.write(struct.pack("<HH", 0x7FE0, 0x0010) + vr + b"\x00\x00" + struct.pack("<L", total + total % 2))
    for kind, where, length in slots:
        if kind == "copy":
            sink.write(reader.stored_frame_bytes(where)[:size])
        else:
            spill.seek(where)
            sink.write(spill.read(length)[:size])
    if total % 2:
        sink.write(b"\x00")


def _native_length(reader: FrameReader, plan: EncodePlan) -> int:
    info = reader.info
    if info.bits_allocated == 1:
        return (info.rows * info.columns * info.samples_per_pixel) // 8
    samples = 2 if plan.output_photometric == "YBR_FULL_422" else info.samples_per_pixel
    return info.rows * info.columns * samples * (info.bits_allocated // 8)


def _write_encapsulated(sink, reader: FrameReader, slots: list[FrameSlot], spill: BinaryIO) -> None:
    sizes = [reader.stored_frame_length(where) if kind == "copy" else 8 + length
             for kind, where, length in slots]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else []
    use_bot = len(slots) > 1 and sum(sizes) <= MAX_BOT_BYTES
    sink.write(struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\x00\x00" + struct.pack("<L", 0xFFFFFFFF))
    bot = struct.pack(f"<{len(slots)}L", *[int(o) for o in offsets]) if use_bot else b""
    sink.write(struct.pack("<HHL", 0xFFFE, 0xE000, len(bot)) + bot)
    for kind, where, length in slots:
        if kind == "copy":
            for fragment in reader.frame_fragments(where):
                sink.write(struct.pack("<HHL", 0xFFFE, 0xE000, len(fragment)) + fragment)
        else:
            spill.seek(where)
            sink.write(struct.pack("<HHL", 0xFFFE, 0xE000, length))
            _copy(spill, sink, length)
    sink.write(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))


def _copy(src: BinaryIO, sink, length: int) -> None:
    remaining = length
    while remaining:
        data = src.read(min(CHUNK, remaining))
        sink.write(data)
        remaining -= len(data)

