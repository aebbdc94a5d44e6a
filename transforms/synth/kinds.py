"""The image kinds the corpus holds, and which transfer syntaxes each can be written in.

One table, so the generator, the docs and the tests agree on what "every kind and syntax" means.
Geometry comes in two sizes: `small` keeps the checked-in corpus at a few MB, `full` is what real
modalities produce (CR/DX radiograph size, mammography detector size, a 30-frame cine).
"""

from __future__ import annotations

from dataclasses import dataclass

import pydicom.uid as uid

# Transfer syntaxes the generator writes (pydicom 3 with its plugins, Pillow for JPEG baseline).
NATIVE_SYNTAXES = (uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian,
                   uid.DeflatedExplicitVRLittleEndian, uid.ExplicitVRBigEndian)
LOSSLESS_ENCAPSULATED = (uid.RLELossless, uid.JPEGLSLossless, uid.JPEG2000Lossless)
LOSSY_ANY_DEPTH = (uid.JPEGLSNearLossless, uid.JPEG2000)
LOSSY_8_BIT_ONLY = (uid.JPEGBaseline8Bit,)
ALL_SYNTAXES = NATIVE_SYNTAXES + LOSSLESS_ENCAPSULATED + LOSSY_ANY_DEPTH + LOSSY_8_BIT_ONLY
SYNTAX_SHORT_NAMES = {                        # as file names say them
    uid.ImplicitVRLittleEndian: "implicit_le", uid.ExplicitVRLittleEndian: "explicit_le",
    uid.DeflatedExplicitVRLittleEndian: "deflated", uid.ExplicitVRBigEndian: "explicit_be",
    uid.RLELossless: "rle", uid.JPEGLSLossless: "jpegls", uid.JPEGLSNearLossless: "jpegls_near",
    uid.JPEG2000Lossless: "j2k_lossless", uid.JPEG2000: "j2k_lossy", uid.JPEGBaseline8Bit: "jpeg_baseline",
}

# Syntaxes we could not produce, and why (reported by `deidlake synth` and in the docs).
UNPRODUCIBLE_SYNTAXES = {
    uid.JPEGExtended12Bit: "no encoder: pylibjpeg-libjpeg and Pillow decode 12-bit JPEG but cannot write it",
    uid.JPEGLossless: "no encoder: pylibjpeg-libjpeg only decodes JPEG lossless (process 14)",
    uid.JPEGLosslessSV1: "no encoder: pylibjpeg-libjpeg only decodes JPEG lossless SV1",
    uid.HTJ2KLossless: "no encoder: OpenJPEG (pylibjpeg-openjpeg 2.6) decodes but does not encode HTJ2K",
    uid.HTJ2KLosslessRPCL: "no encoder: as HTJ2K lossless",
    uid.HTJ2K: "no encoder: as HTJ2K lossless",
    uid.JPEG2000MC: "no encoder or decoder for multi-component JPEG 2000 (Part 2) in pydicom's plugins",
    uid.MPEG2MPML: "no encoder (no ffmpeg in the stack) and pydicom cannot decode video syntaxes",
    uid.MPEG4HP41: "no encoder (no ffmpeg in the stack) and pydicom cannot decode video syntaxes",
    uid.HEVCMP51: "no encoder (no ffmpeg in the stack) and pydicom cannot decode video syntaxes",
    uid.UID("1.2.840.10008.1.2.1.98"): "pydicom 3.0.2 has no encoder or decoder for Encapsulated Uncompressed",
    uid.UID("1.2.840.10008.1.2.4.94"): "JPIP syntaxes reference pixel data on a server: nothing to store in a file",
}


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    frames: int


@dataclass(frozen=True)
class KindSpec:
    """What a modality's image looks like in the header: the pixel module and the storage class."""

    name: str
    modality: str
    sop_class_uid: str
    samples_per_pixel: int
    photometric: str
    bits_allocated: int
    bits_stored: int
    signed: bool
    small: Geometry
    full: Geometry
    rescale_intercept: float | None = None
    window: tuple[float, float] | None = None      # (center, width) in output units

    def geometry(self, full_size: bool) -> Geometry:
        return self.full if full_size else self.small

    @property
    def is_8_bit(self) -> bool:
        return self.bits_allocated == 8

    @property
    def stored_range(self) -> tuple[int, int]:
        """The smallest and largest stored value BitsStored allows."""
        if self.signed:
            return -(1 << (self.bits_stored - 1)), (1 << (self.bits_stored - 1)) - 1
        return 0, (1 << self.bits_stored) - 1

    def syntaxes(self) -> tuple[str, ...]:
        """Every syntax this kind can be written in: JPEG baseline only for 8-bit pixels."""
        base = NATIVE_SYNTAXES + LOSSLESS_ENCAPSULATED + LOSSY_ANY_DEPTH
        return base + LOSSY_8_BIT_ONLY if self.is_8_bit else base


KINDS: dict[str, KindSpec] = {
    spec.name: spec for spec in (
        KindSpec("CT", "CT", uid.CTImageStorage, 1, "MONOCHROME2", 16, 16, True,
                 Geometry(512, 512, 1), Geometry(512, 512, 1), rescale_intercept=-1024.0,
                 window=(40.0, 400.0)),
        KindSpec("MR", "MR", uid.MRImageStorage, 1, "MONOCHROME2", 16, 12, False,
                 Geometry(256, 256, 1), Geometry(512, 512, 1), window=(600.0, 1200.0)),
        KindSpec("CR", "CR", uid.ComputedRadiographyImageStorage, 1, "MONOCHROME1", 16, 12, False,
                 Geometry(1024, 880, 1), Geometry(2500, 2048, 1), window=(2048.0, 4096.0)),
        KindSpec("DX", "DX", uid.DigitalXRayImageStorageForPresentation, 1, "MONOCHROME1", 16, 14,
                 False, Geometry(768, 768, 1), Geometry(3000, 2500, 1), window=(8192.0, 16384.0)),
        KindSpec("US", "US", uid.UltrasoundMultiFrameImageStorage, 3, "RGB", 8, 8, False,
                 Geometry(240, 320, 10), Geometry(480, 640, 30)),
        KindSpec("XA", "XA", uid.XRayAngiographicImageStorage, 1, "MONOCHROME2", 8, 8, False,
                 Geometry(256, 256, 8), Geometry(1024, 1024, 30)),
        KindSpec("MG", "MG", uid.DigitalMammographyXRayImageStorageForPresentation, 1,
                 "MONOCHROME2", 16, 12, False, Geometry(832, 640, 1), Geometry(3328, 2560, 1),
                 window=(2048.0, 4096.0)),
    )
}
