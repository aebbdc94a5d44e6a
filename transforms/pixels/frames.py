"""Random access to the frames of one DICOM file, one frame at a time, straight from the raw store.

Why not `ds.pixel_array`: it decodes the whole volume, so a 1 GB cine costs 1 GB (or more once
widened) in every worker. Here a frame is located by offset arithmetic (native syntaxes) or by an index
of fragment item headers built once when the file is opened (encapsulated syntaxes; 8 bytes read per
fragment, never the fragment contents). Decoding reuses pydicom's decoders on that one frame's bytes.

Decoded frames are the *stored* values (pydicom's `raw=True`: no YBR->RGB conversion, no modality or VOI
LUT); the OCR preparation converts colour itself, and redaction writes stored values back.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, parse_basic_offsets, parse_fragments
from pydicom.filereader import read_dataset
from pydicom.pixels import get_decoder
from pydicom.pixels.utils import as_pixel_options, get_expected_length

from transforms.dicom_io import DEFER_BYTES, HeaderError, pixel_data_extent, read_header

ITEM_TAG = 0xFFFEE000
SEQUENCE_DELIMITER = 0xFFFEE0DD
INFLATE_CHUNK = 1 << 20
JPEG_SOI = b"\xff\xd8"
J2K_SOC = b"\xff\x4f\xff\x51"
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  "


class UndecodableFrameError(Exception):
    """A frame (or the file's pixel data) cannot be read or decoded: quarantine the file.

    `reason` is machine-readable and never quotes a value from the file; `detail` is an exception class
    name or a structural fact (counts, syntax names), also free of file values.
    """

    def __init__(self, reason: str, detail: str = "", frame: int | None = None):
        where = f" (frame {frame})" if frame is not None else ""
        super().__init__(f"{reason}{where}: {detail}" if detail else f"{reason}{where}")
        self.reason = reason
        self.detail = detail
        self.frame = frame


@dataclass(frozen=True)
class PixelInfo:
    """The Image Pixel module facts every later step needs (no PHI: geometry and encoding only)."""

    rows: int
    columns: int
    frames: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int          # 0 unsigned, 1 two's complement
    photometric: str                   # as stored in the header
    planar_configuration: int
    transfer_syntax: uid.UID
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    window_center: float | None = None
    window_width: float | None = None

    @property
    def is_signed(self) -> bool:
        return self.pixel_representation == 1

    @property
    def is_encapsulated(self) -> bool:
        return self.transfer_syntax.is_encapsulated

    @property
    def stored_range(self) -> tuple[int, int]:
        """The smallest and largest value BitsStored can hold (what a fill value must stay within)."""
        if self.is_signed:
            return -(1 << (self.bits_stored - 1)), (1 << (self.bits_stored - 1)) - 1
        return 0, (1 << self.bits_stored) - 1

    def decoded_photometric(self) -> str:
        """Colour space of `FrameReader.decode_frame` output (stored samples, subsampling removed)."""
        pi = self.photometric
        if pi == "YBR_FULL_422":
            return "YBR_FULL"                 # pydicom upsamples the chroma, keeps YCbCr
        if pi in ("YBR_RCT", "YBR_ICT"):
            return "RGB"                      # the inverse component transform is inside the J2K codec
        return pi

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "PixelInfo":
        try:
            meta = getattr(ds, "file_meta", None)
            ts = uid.UID(str(meta.TransferSyntaxUID)) if meta is not None and "TransferSyntaxUID" in meta \
                else uid.ImplicitVRLittleEndian
            bits_allocated = int(ds.BitsAllocated)
            return cls(
                rows=int(ds.Rows), columns=int(ds.Columns),
                frames=_number_of_frames(ds),
                samples_per_pixel=int(ds.get("SamplesPerPixel", 1) or 1),
                bits_allocated=bits_allocated,
                bits_stored=int(ds.get("BitsStored", bits_allocated) or bits_allocated),
                pixel_representation=int(ds.get("PixelRepresentation", 0) or 0),
                photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper(),
                planar_configuration=int(ds.get("PlanarConfiguration", 0) or 0),
                transfer_syntax=ts,
                rescale_slope=_first_float(ds.get("RescaleSlope"), 1.0) or 1.0,
                rescale_intercept=_first_float(ds.get("RescaleIntercept"), 0.0),
                window_center=_first_float(ds.get("WindowCenter"), None),
                window_width=_first_float(ds.get("WindowWidth"), None),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise UndecodableFrameError("invalid_pixel_module", type(exc).__name__) from exc


def _number_of_frames(ds: Dataset) -> int:
    value = ds.get("NumberOfFrames", 1)
    frames = int(str(value).strip() or 1) if value not in (None, "") else 1
    return max(frames, 1)


def _first_float(value, default: float | None) -> float | None:
    if value is None or value == "":
        return default
    try:
        if not isinstance(value, (str, bytes, int, float)):     # MultiValue: the first window wins
            value = list(value)[0]
        return float(value)
    except (TypeError, ValueError, IndexError):
        return default


@dataclass(frozen=True)
class Fragment:
    offset: int     # file offset of the fragment's value (after its 8-byte item header)
    length: int


class FrameReader:
    """One raw-store file opened for frame-by-frame access; use as a context manager.

    Holds an open file handle, the header (pixel data deferred) and, for encapsulated syntaxes, the
    list of fragment extents per frame. Memory is O(header + number of fragments), whatever the size.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._inflated: tempfile._TemporaryFileWrapper | None = None
        self._fh: BinaryIO = open(self.path, "rb")
        try:
            self.header = self._read_header()
            if 0x7FE00010 not in self.header:
                raise UndecodableFrameError("no_pixel_data")
            self.info = PixelInfo.from_dataset(self.header)
            self._check_supported()
            self._locate_pixel_data()
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------------

    def _read_header(self) -> Dataset:
        meta = _read_file_meta(self._fh)
        if meta is not None and str(meta.get("TransferSyntaxUID", "")) == uid.DeflatedExplicitVRLittleEndian:
            return self._read_deflated(meta)
        try:
            return read_header(self.path)
        except HeaderError as exc:
            raise UndecodableFrameError("unreadable_header", exc.reason) from exc

    def _read_deflated(self, meta: Dataset) -> Dataset:
        """Inflate the dataset into a temporary file by chunks, then read frames from that file.

        pydicom inflates a deflated file whole in memory; streaming to disk keeps memory bounded.
        """
        self._inflated = tempfile.NamedTemporaryFile(prefix="deidlake-inflated-", suffix=".raw")
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            while chunk := self._fh.read(INFLATE_CHUNK):
                self._inflated.write(inflater.decompress(chunk))
            self._inflated.write(inflater.flush())
        except zlib.error as exc:
            raise UndecodableFrameError("corrupt_deflate_stream", type(exc).__name__) from exc
        self._inflated.flush()
        self._inflated.seek(0)
        self._fh.close()
        self._fh = self._inflated.file
        ds = read_dataset(self._fh, is_implicit_VR=False, is_little_endian=True, defer_size=DEFER_BYTES)
        ds.file_meta = meta
        # Deferred values are read back from the inflated copy (while the reader is open); without a
        # source pydicom cannot load them, and writing the header would fail.
        ds.filename, ds.fileobj_type, ds.timestamp = self._inflated.name, open, None
        self._fh.seek(0)
        return ds

    def _check_supported(self) -> None:
        if any(tag in self.header for tag in (0x7FE00008, 0x7FE00009)):
            raise UndecodableFrameError("float_pixel_data_unsupported")
        ts = self.info.transfer_syntax
        if not ts.is_transfer_syntax:
            raise UndecodableFrameError("unknown_transfer_syntax")
        try:
            decoder = get_decoder(ts)
        except NotImplementedError as exc:
            raise UndecodableFrameError("no_decoder_for_syntax", ts.name) from exc
        if not decoder.is_available:
            raise UndecodableFrameError("no_decoder_plugin_installed", ts.name)
        self._decoder = decoder

    def _locate_pixel_data(self) -> None:
        extent = pixel_data_extent(self.header)
        if extent is None:
            raise UndecodableFrameError("no_pixel_data")
        self._pixel_offset = extent.offset
        self._pixel_vr = str(self.header.get_item(0x7FE00010, keep_deferred=True).VR or "OW")
        if self._pixel_vr not in ("OB", "OW"):
            self._pixel_vr = "OB" if self.info.bits_allocated <= 8 else "OW"
        if self.info.is_encapsulated:
            if not extent.encapsulated:
                raise UndecodableFrameError("native_pixel_data_in_encapsulated_syntax")
            self._frames = self._index_fragments(extent.offset)
        else:
            if extent.encapsulated:
                raise UndecodableFrameError("encapsulated_pixel_data_in_native_syntax")
            self._frame_length = self._native_frame_length()
            swapped_bytes = self.info.transfer_syntax == uid.ExplicitVRBigEndian and self._pixel_vr == "OW" \
                and self.info.bits_allocated == 8
            if swapped_bytes and self.info.frames > 1 and self._frame_length % 2:
                raise UndecodableFrameError("odd_big_endian_ow_frames_unsupported")
            # 8-bit samples in big endian OW are swapped in pairs: include the pad byte of an odd frame
            self._read_length = self._frame_length + (self._frame_length % 2 if swapped_bytes else 0)
            needed = self._frame_length * self.info.frames
            if extent.length is not None and extent.length < needed:
                raise UndecodableFrameError("pixel_data_shorter_than_frames",
                                            f"{extent.length} < {needed} bytes")

    def _native_frame_length(self) -> int:
        total_bits = get_expected_length(self.header, unit="bytes") * 8 if self.info.bits_allocated != 1 \
            else self.info.rows * self.info.columns * self.info.samples_per_pixel * self.info.frames
        per_frame_bits = total_bits // self.info.frames
        if per_frame_bits % 8:
            raise UndecodableFrameError("bit_packed_frames_not_byte_aligned")
        return per_frame_bits // 8

    def _index_fragments(self, value_offset: int) -> list[tuple[Fragment, ...]]:
        """Fragment extents of every frame, from the Basic/Extended Offset Table or fragment markers."""
        fh = self._fh
        fh.seek(value_offset)
        try:
            basic_offsets = parse_basic_offsets(fh)
            first_item = fh.tell()
            count, item_offsets = parse_fragments(fh)
        except (ValueError, struct.error) as exc:
            raise UndecodableFrameError("corrupt_encapsulation", type(exc).__name__) from exc
        fragments = [self._fragment_at(off) for off in item_offsets]
        if not fragments:
            raise UndecodableFrameError("no_fragments")
        relative = [off - first_item for off in item_offsets]
        starts = self._frame_starts(basic_offsets, relative, fragments)
        bounds = starts + [len(fragments)]
        return [tuple(fragments[bounds[k]:bounds[k + 1]]) for k in range(len(starts))]

    def _fragment_at(self, item_offset: int) -> Fragment:
        self._fh.seek(item_offset + 4)
        length = struct.unpack("<L", self._fh.read(4))[0]
        return Fragment(item_offset + 8, length)

    def _frame_starts(self, basic_offsets: list[int], relative: list[int],
                      fragments: list[Fragment]) -> list[int]:
        """Index of the first fragment of each frame."""
        frames = self.info.frames
        offsets = basic_offsets or self._extended_offsets()
        if offsets:
            position = {off: k for k, off in enumerate(relative)}
            if len(offsets) != frames or any(off not in position for off in offsets):
                raise UndecodableFrameError("offset_table_mismatch",
                                            f"{len(offsets)} offsets for {frames} frames")
            return [position[off] for off in offsets]
        if frames == 1:
            return [0]
        if len(fragments) == frames:
            return list(range(frames))
        starts = [k for k, frag in enumerate(fragments) if self._starts_codestream(frag)]
        if len(starts) != frames or starts[0] != 0:
            raise UndecodableFrameError("frame_boundaries_unknown",
                                        f"{len(fragments)} fragments for {frames} frames, no offset table")
        return starts

    def _extended_offsets(self) -> list[int]:
        if 0x7FE00001 not in self.header:
            return []
        raw = bytes(self.header[0x7FE00001].value)
        return list(struct.unpack(f"<{len(raw) // 8}Q", raw))

    def _starts_codestream(self, fragment: Fragment) -> bool:
        self._fh.seek(fragment.offset)
        head = self._fh.read(12)
        return head.startswith(JPEG_SOI) or head.startswith(J2K_SOC) or head.startswith(JP2_SIGNATURE)

    # -- access ----------------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return self.info.frames if not self.info.is_encapsulated else len(self._frames)

    def frame_fragments(self, index: int) -> list[bytes]:
        """The frame's encapsulated fragments exactly as stored (for a byte-for-byte copy)."""
        self._check_index(index)
        if not self.info.is_encapsulated:
            return [self.stored_frame_bytes(index)]
        return [self._read_exact(frag.offset, frag.length, index) for frag in self._frames[index]]

    def stored_frame_bytes(self, index: int) -> bytes:
        """The frame's bytes as stored: native pixel bytes, or the codestream (fragments joined)."""
        self._check_index(index)
        if self.info.is_encapsulated:
            return b"".join(self.frame_fragments(index))
        start = self._pixel_offset + index * self._frame_length
        return self._read_exact(start, self._read_length, index)

    def stored_frame_length(self, index: int) -> int:
        """Bytes the frame occupies (encapsulated: item headers included), without reading it."""
        self._check_index(index)
        if self.info.is_encapsulated:
            return sum(8 + frag.length for frag in self._frames[index])
        return self._frame_length

    def decode_frame(self, index: int, as_rgb: bool = False) -> np.ndarray:
        """One frame as stored values, shaped (rows, columns) or (rows, columns, samples).

        `as_rgb=True` converts YBR to RGB (for display or OCR); the default keeps stored samples, in
        the colour space `info.decoded_photometric()` names.
        """
        data = self.stored_frame_bytes(index)
        options = as_pixel_options(self.header, number_of_frames=1, pixel_keyword="PixelData",
                                   pixel_vr=self._pixel_vr)
        options.pop("extended_offsets", None)
        if self.info.is_encapsulated:
            data = encapsulate([data])
        try:
            array, _ = self._decoder.as_array(data, index=0, raw=not as_rgb, **options)
        except Exception as exc:  # noqa: BLE001 - any plugin failure means "cannot decode this frame"
            raise UndecodableFrameError("decode_failed", type(exc).__name__, index) from exc
        array = self._check_shape(array, index)
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        for index in range(start, self.frame_count if stop is None else min(stop, self.frame_count)):
            yield index, self.decode_frame(index)

    def _check_shape(self, array: np.ndarray, index: int) -> np.ndarray:
        info = self.info
        expected = (info.rows, info.columns) if info.samples_per_pixel == 1 \
            else (info.rows, info.columns, info.samples_per_pixel)
        if array.shape != expected:
            raise UndecodableFrameError("decoded_shape_mismatch", f"{array.shape} != {expected}", index)
        return array

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.frame_count - 1}")

    def _read_exact(self, offset: int, length: int, index: int) -> bytes:
        self._fh.seek(offset)
        data = self._fh.read(length)
        if len(data) != length:
            raise UndecodableFrameError("truncated_frame", f"{len(data)} of {length} bytes", index)
        return data

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        if self._inflated is not None:
            self._inflated.close()
            self._inflated = None

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def dataset_stream(self) -> BinaryIO:
        """The file the frames are read from (the inflated copy for deflated input)."""
        return self._fh


def _read_file_meta(fh: BinaryIO) -> Dataset | None:
    """The group 2 elements only, read without inflating anything (None when there is no preamble)."""
    fh.seek(128)
    if fh.read(4) != b"DICM":
        fh.seek(0)
        return None
    meta = read_dataset(fh, is_implicit_VR=False, is_little_endian=True,
                        stop_when=lambda tag, vr, length: tag.group != 2)
    return meta


__all__ = ["FrameReader", "PixelInfo", "UndecodableFrameError", "Fragment"]
