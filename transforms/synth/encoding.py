"""Write a dataset with its frames in a given transfer syntax.

Native syntaxes (implicit/explicit little endian, deflated, big endian) are written by pydicom from
the file meta's syntax; RLE, JPEG-LS and JPEG 2000 by `Dataset.compress` with the pylibjpeg/pyjpegls
plugins; JPEG baseline by Pillow (pydicom cannot encode it), one JPEG per frame, encapsulated with a
basic offset table. Lossy files say so (LossyImageCompression 01, ratio and method).
"""

from __future__ import annotations

import io
import os

import numpy as np
import pydicom.uid as uid
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate

JPEG_QUALITY = 92
J2K_LOSSY_RATIO = 12
JLS_NEAR_LOSSLESS_ERROR = 2
LOSSY_METHOD = {uid.JPEGBaseline8Bit: "ISO_10918_1", uid.JPEG2000: "ISO_15444_1",
                uid.JPEGLSNearLossless: "ISO_14495_1"}


class UnsupportedEncoding(ValueError):
    """The kind's pixels cannot be written in this syntax (e.g. JPEG baseline for 16-bit)."""


def write_instance(ds: Dataset, frames: np.ndarray, syntax: str, path: str | os.PathLike) -> None:
    """`frames` has shape (frames, rows, columns[, samples]) in the dataset's stored dtype."""
    syntax = uid.UID(syntax)
    pixels = frames[0] if frames.shape[0] == 1 else frames
    if syntax in (uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian,
                  uid.DeflatedExplicitVRLittleEndian, uid.ExplicitVRBigEndian):
        _set_native(ds, pixels, syntax)
    elif syntax == uid.JPEGBaseline8Bit:
        _set_jpeg_baseline(ds, frames)
    else:
        kwargs = {}
        if syntax == uid.JPEG2000:
            kwargs["j2k_cr"] = [J2K_LOSSY_RATIO]
        elif syntax == uid.JPEGLSNearLossless:
            kwargs["jls_error"] = JLS_NEAR_LOSSLESS_ERROR
        ds.compress(syntax, pixels, generate_instance_uid=False, **kwargs)
        if ds.SamplesPerPixel == 3 and syntax in (uid.JPEG2000, uid.JPEG2000Lossless):
            # OpenJPEG applies the colour transform to RGB input; PS3.5 8.2.4 names it.
            ds.PhotometricInterpretation = "YBR_ICT" if syntax == uid.JPEG2000 else "YBR_RCT"
    if syntax in LOSSY_METHOD:
        _mark_lossy(ds, frames, syntax)
    ds.save_as(path, enforce_file_format=True)


def _set_native(ds: Dataset, pixels: np.ndarray, syntax: uid.UID) -> None:
    ds.file_meta.TransferSyntaxUID = syntax
    data = pixels
    if syntax == uid.ExplicitVRBigEndian and pixels.dtype.itemsize > 1:
        data = pixels.astype(pixels.dtype.newbyteorder(">"))   # pydicom writes OW bytes as given
    raw = data.tobytes()
    ds.PixelData = raw + (b"\x00" if len(raw) % 2 else b"")
    ds["PixelData"].VR = "OB" if ds.BitsAllocated == 8 else "OW"


def _set_jpeg_baseline(ds: Dataset, frames: np.ndarray) -> None:
    if frames.dtype != np.uint8:
        raise UnsupportedEncoding("jpeg_baseline_needs_8_bit")
    colour = frames.ndim == 4
    fragments = []
    for frame in frames:
        buffer = io.BytesIO()
        image = Image.fromarray(frame, "RGB" if colour else "L")
        # 4:2:2 chroma matches YBR_FULL_422, the photometric DICOM requires for baseline colour.
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=1 if colour else 0, optimize=False)
        fragments.append(buffer.getvalue())
    ds.PixelData = encapsulate(fragments, has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid.JPEGBaseline8Bit
    if colour:
        ds.PhotometricInterpretation = "YBR_FULL_422"


def _mark_lossy(ds: Dataset, frames: np.ndarray, syntax: uid.UID) -> None:
    """LossyImageCompression 01 with the achieved ratio, as PS3.3 C.7.6.1.1.5 asks."""
    compressed = _encapsulated_size(ds)
    ratio = frames.nbytes / max(1, compressed)
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = [f"{ratio:.2f}"[:16]]
    ds.LossyImageCompressionMethod = [LOSSY_METHOD[syntax]]


def _encapsulated_size(ds: Dataset) -> int:
    value = ds.PixelData
    return len(value) if isinstance(value, (bytes, bytearray)) else 0
