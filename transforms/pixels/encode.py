"""Which transfer syntax a de-identified file is written in, and how one changed frame is encoded.

Rules (from the issue, in priority order):
1. Never lossless -> lossy. A lossless source stays lossless, in its own syntax when an encoder exists.
2. Keep the original syntax when an encoder for it exists: native LE (explicit, implicit, deflated),
   RLE, JPEG-LS lossless, JPEG 2000 lossless (pydicom's encoders with pylibjpeg-rle, pyjpegls, openjpeg).
3. Lossy syntaxes that allow a lossless codestream are re-encoded losslessly *inside the same syntax*,
   adding no further loss: JPEG-LS near-lossless (.81) with NEAR=0, JPEG 2000 (.91) reversible.
4. JPEG baseline 8-bit (.50): pydicom has no encoder. Decision: a changed frame is re-encoded once with
   Pillow (libjpeg) in the same syntax, with the source frame's own quantisation tables and chroma
   subsampling, from the stored YCbCr samples (no colour round trip). Blocks untouched by a box come back
   almost unchanged, the file keeps its size and its unchanged frames stay byte-identical. This is a
   second lossy generation of the changed frames only; `lossy_jpeg_policy="lossless"` instead moves the
   file to JPEG-LS lossless (every frame transcoded, nothing further lost, file much larger).
5. No encoder at all (JPEG lossless .57/.70, JPEG extended 12-bit .51, anything else decodable): the
   file moves to JPEG-LS lossless when the image fits its profile, else to explicit VR little endian.
   Every frame is transcoded and the decision records from/to and why.
6. Explicit VR big endian (retired from the standard in 2004) always moves to explicit VR little endian,
   changed frames or not: the dataset writer encodes little endian, and a copy in the old syntax wrote a
   little-endian body under a big-endian file meta (unreadable; the gate held every such file). Every
   frame is byte-swapped, which loses nothing; the decision records it.
Any other file with no changed frame is copied in its own syntax.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import pydicom.uid as uid
from pydicom.pixels import get_encoder
from pydicom.pixels.utils import pack_bits

from transforms.pixels.frames import FrameReader, PixelInfo
from transforms.transfer_syntax import is_lossy

NATIVE_KEPT = frozenset({uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian,
                         uid.DeflatedExplicitVRLittleEndian})
SAME_SYNTAX_ENCODERS = frozenset({uid.RLELossless, uid.JPEGLSLossless, uid.JPEG2000Lossless,
                                  uid.JPEGLSNearLossless, uid.JPEG2000})
PILLOW_QUALITY_FALLBACK = 95


@dataclass(frozen=True)
class EncodePlan:
    source_syntax: uid.UID
    output_syntax: uid.UID
    kept: bool                  # output syntax == source syntax
    reason: str                 # machine-readable
    transcode_all: bool         # every frame is re-encoded (the syntax changed)
    output_photometric: str     # photometric interpretation of the written frames
    output_planar_configuration: int


def plan_encoding(info: PixelInfo, any_changed: bool, lossy_jpeg_policy: str = "same_syntax") -> EncodePlan:
    """The output syntax for a file whose frames are (or are not) changed; see the module rules."""
    source = info.transfer_syntax
    same = EncodePlan(source, source, True, "", False, info.photometric, info.planar_configuration)
    if source == uid.ExplicitVRBigEndian:
        return EncodePlan(source, uid.ExplicitVRLittleEndian, False, "retired_big_endian_moved_to_explicit_le",
                          True, info.decoded_photometric(), info.planar_configuration)
    if not any_changed:
        return replace(same, reason="no_frame_changed_copied")
    if source in NATIVE_KEPT:
        return replace(same, reason="native_reencoded_same_syntax")
    if source in SAME_SYNTAX_ENCODERS:
        lossless_inside = source in (uid.JPEGLSNearLossless, uid.JPEG2000)
        return replace(same, reason="lossless_codestream_in_same_lossy_syntax" if lossless_inside
                       else "reencoded_same_lossless_syntax")
    if source == uid.JPEGBaseline8Bit and lossy_jpeg_policy == "same_syntax" and info.bits_allocated == 8:
        return replace(same, reason="lossy_jpeg_reencoded_same_syntax_source_qtables")
    return _move_to_lossless(info)


def _move_to_lossless(info: PixelInfo) -> EncodePlan:
    """The file changes syntax: JPEG-LS lossless if the image fits its profile, else explicit LE."""
    photometric = info.decoded_photometric()
    source = info.transfer_syntax
    why = "no_encoder_for_source_syntax" if source != uid.JPEGBaseline8Bit else "lossy_jpeg_policy_lossless"
    jls_ok = (2 <= info.bits_stored <= 16 and info.bits_allocated in (8, 16)
              and (photometric in ("MONOCHROME1", "MONOCHROME2")
                   or (photometric == "RGB" and info.pixel_representation == 0)
                   or (photometric == "YBR_FULL" and info.bits_allocated == 8)
                   or (photometric == "PALETTE COLOR" and info.pixel_representation == 0)))
    target = uid.JPEGLSLossless if jls_ok else uid.ExplicitVRLittleEndian
    return EncodePlan(source, target, False, f"{why}_moved_to_{'jpegls_lossless' if jls_ok else 'explicit_le'}",
                      True, photometric, info.planar_configuration if not jls_ok else 0)


@dataclass(frozen=True)
class EncodedFrame:
    """A frame already encoded for the plan's output syntax (e.g. by a Spark frame task)."""

    data: bytes
    syntax: uid.UID


def encode_frame(frame: np.ndarray, info: PixelInfo, plan: EncodePlan,
                 reader: FrameReader | None = None, index: int | None = None) -> bytes:
    """Bytes of one frame for the plan's output syntax (native bytes, or one codestream).

    `reader` and `index` let native output keep the stored bytes of untouched pixels exactly (unused
    high bits included) and let JPEG baseline reuse the source frame's quantisation tables.
    """
    target = plan.output_syntax
    if not target.is_encapsulated:
        return _native_bytes(frame, info, plan, reader, index)
    if target == uid.JPEGBaseline8Bit:
        source = reader.stored_frame_bytes(index) if reader is not None and index is not None else None
        return _pillow_jpeg(frame, plan, source)
    encoder_syntax = {uid.JPEGLSNearLossless: uid.JPEGLSLossless, uid.JPEG2000: uid.JPEG2000Lossless}.get(
        target, target)
    options = _encoder_options(frame, info, plan)
    # pydicom's RLE profile stops at 16 bits, but RLE segments carry 32-bit samples (PS3.5 G.2) and
    # pydicom decodes them: skip the profile check there only.
    validate = not (encoder_syntax == uid.RLELossless and info.bits_allocated == 32)
    return bytes(get_encoder(encoder_syntax).encode(np.ascontiguousarray(frame), validate=validate, **options))


def _encoder_options(frame: np.ndarray, info: PixelInfo, plan: EncodePlan) -> dict:
    photometric = plan.output_photometric
    if plan.output_syntax in (uid.JPEG2000Lossless, uid.JPEG2000) and info.photometric in ("YBR_RCT", "YBR_ICT"):
        photometric = "YBR_RCT"           # reversible colour transform: the encoder applies it to RGB
    return dict(rows=info.rows, columns=info.columns, samples_per_pixel=info.samples_per_pixel,
                bits_allocated=info.bits_allocated, bits_stored=info.bits_stored,
                pixel_representation=info.pixel_representation, photometric_interpretation=photometric,
                planar_configuration=0, number_of_frames=1)


def _native_bytes(frame: np.ndarray, info: PixelInfo, plan: EncodePlan,
                  reader: FrameReader | None, index: int | None) -> bytes:
    if info.bits_allocated == 1:
        return pack_bits(frame.astype(np.uint8), pad=False)
    dtype = np.dtype(f"<{'i' if info.is_signed else 'u'}{info.bits_allocated // 8}")
    values = frame.astype(dtype, copy=False)
    if info.photometric == "YBR_FULL_422" and plan.output_photometric == "YBR_FULL_422":
        return _subsample_422(values)
    if plan.kept and reader is not None and index is not None and info.samples_per_pixel == 1:
        values = _onto_stored_bytes(values, reader, index, dtype)
    if info.samples_per_pixel > 1 and plan.output_planar_configuration == 1:
        values = np.ascontiguousarray(values.transpose(2, 0, 1))
    return values.tobytes()


def _onto_stored_bytes(values: np.ndarray, reader: FrameReader, index: int, dtype: np.dtype) -> np.ndarray:
    """Write only the pixels that changed onto the stored bytes, so bits the decoder masks (unused high
    bits) stay as they were outside the boxes."""
    stored = np.frombuffer(reader.stored_frame_bytes(index)[:values.size * dtype.itemsize], dtype=dtype)
    stored = stored.reshape(values.shape).copy()
    decoded = reader.decode_frame(index).astype(dtype, copy=False)
    changed = values != decoded
    stored[changed] = values[changed]
    return stored


def _subsample_422(ybr: np.ndarray) -> bytes:
    """Native YBR_FULL_422 stores Y0 Y1 Cb Cr for each pair of pixels; chroma taken from the pair's
    first pixel (redaction fills whole pairs, and pydicom's upsampling duplicated it)."""
    rows, columns, _ = ybr.shape
    pairs = ybr.reshape(rows, columns // 2, 2, 3)
    packed = np.empty((rows, columns // 2, 4), dtype=ybr.dtype)
    packed[..., 0] = pairs[:, :, 0, 0]
    packed[..., 1] = pairs[:, :, 1, 0]
    packed[..., 2] = pairs[:, :, 0, 1]
    packed[..., 3] = pairs[:, :, 0, 2]
    return packed.tobytes()


def _pillow_jpeg(frame: np.ndarray, plan: EncodePlan, source: bytes | None) -> bytes:
    from PIL import Image

    tables, subsampling = _source_jpeg_settings(source)
    options: dict = {"format": "JPEG", "optimize": False}
    if tables:
        options["qtables"] = tables
    else:
        options["quality"] = PILLOW_QUALITY_FALLBACK
    if frame.ndim == 2:
        image = Image.fromarray(frame.astype(np.uint8), mode="L")
    elif plan.output_photometric.startswith("YBR"):
        image = Image.fromarray(frame.astype(np.uint8), mode="YCbCr")
        options["subsampling"] = subsampling
    else:
        image = Image.fromarray(frame.astype(np.uint8), mode="RGB")
        options.update(subsampling=subsampling, keep_rgb=True)
    out = io.BytesIO()
    image.save(out, **options)
    return out.getvalue()


def _source_jpeg_settings(source: bytes | None) -> tuple[list | None, int]:
    """Quantisation tables and Pillow's subsampling code (0 4:4:4, 1 4:2:2, 2 4:2:0) of the source."""
    if not source:
        return None, 1
    from PIL import Image, JpegImagePlugin

    try:
        with Image.open(io.BytesIO(source)) as image:
            tables = [list(t) for _, t in sorted(image.quantization.items())] if image.quantization else None
            subsampling = JpegImagePlugin.get_sampling(image)
    except Exception:  # noqa: BLE001 - the codestream decoded with libjpeg; fall back to defaults
        return None, 1
    return tables, max(subsampling, 0)


def is_output_lossy(plan: EncodePlan, info: PixelInfo) -> bool:
    """True when the written file holds lossy-compressed pixels (history or this write)."""
    return plan.output_syntax in (uid.JPEGBaseline8Bit,) or is_lossy(plan.source_syntax)
