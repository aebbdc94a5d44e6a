"""Hostile inputs: files built to break a DICOM reader, and what the pipeline's per-file steps make of them.

`write_hostile_corpus(out_dir, seed)` writes one file per class (truncated at several points, empty, not
DICOM, short pixel data, flipped header bytes, duplicates, deep sequence nesting, a declared element length
beyond the file, wrong VRs, a DICOMDIR, a 0-frame multi-frame, mismatched BitsAllocated, absurd sizes)
from a real seed file. `mutate(data, ...)` is the fuzzers' mutation of a real file (bit flips, overwritten
lengths, cuts, inserted bytes).

`outcome_of(path)` runs the per-file steps of the pipeline in their order, each as the Spark wrappers
call it (bronze ingest verdict, metadata description, header de-identification, frame decoding) and says
where the file ends: published ("ok") or quarantined with a machine-readable reason at a stage. A domain
error (HeaderError, DeidError, UndecodableFrameError) is a reason; any other exception escapes: that is
an unhandled exception, the defect the fuzz run looks for (the Spark wrappers would still quarantine the
file, but as `..._failed:<ExceptionType>`, a reason nobody can act on).
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# Imported here, not per call: `measure` traces memory, and importing pydicom's large tables under
# tracemalloc takes minutes.
from transforms.deid import DeidOptions
from transforms.deid.errors import DeidError
from transforms.deid.header import deidentify_file
from transforms.dicom_io import HeaderError
from transforms.ingest import inspect_dicom_file
from transforms.keyring import Keyring
from transforms.metadata import describe_file
from transforms.pixels.frames import FrameReader, UndecodableFrameError

DEEP_NESTING = 120                   # sequence levels of the nesting case (pydicom recurses per level)
HOSTILE_SECRET = "hostile-inputs-keyring-not-a-real-secret"


@dataclass(frozen=True)
class Outcome:
    stage: str                       # ingest | metadata | header | pixel | published
    reason: str | None               # machine-readable; None when published
    frames: int = 0                  # frames decoded

    @property
    def published(self) -> bool:
        return self.stage == "published"


def outcome_of(path: str | os.PathLike, max_frames: int = 4) -> Outcome:
    """Where one file ends, stage by stage (the first `max_frames` frames are decoded)."""
    verdict = inspect_dicom_file(path)
    if verdict.status != "ok":
        return Outcome("ingest", verdict.reject_reason)
    try:
        described = describe_file(str(path), os.path.getsize(path))
    except HeaderError as exc:
        return Outcome("metadata", exc.reason)
    if described["metadata_error"]:
        return Outcome("metadata", described["metadata_error"])
    try:
        deidentify_file(path, DeidOptions(), Keyring(HOSTILE_SECRET.encode(), is_demo=True))
    except DeidError as exc:
        return Outcome("header", exc.reason)
    if not described["has_pixel_data"]:
        return Outcome("published", None)
    decoded = 0
    try:
        with FrameReader(path) as reader:
            for index in range(min(reader.frame_count, max_frames)):
                reader.decode_frame(index)
                decoded += 1
    except UndecodableFrameError as exc:
        return Outcome("pixel", exc.reason, decoded)
    return Outcome("published", None, decoded)


# -- mutation of real files (the fuzzers' input) ---------------------------------------------------

def mutate(data: bytes, flips: list[tuple[int, int]], lengths: list[tuple[int, int]], cut: int | None,
           insert: tuple[int, bytes] | None) -> bytes:
    """`data` with bytes XOR-ed (`flips`: offset, mask), 4-byte little-endian words overwritten
    (`lengths`: offset, value: an element length or a count), an insertion, then a cut."""
    out = bytearray(data)
    for offset, mask in flips:
        if out:
            out[offset % len(out)] ^= mask or 0xFF
    for offset, value in lengths:
        if len(out) >= 4:
            at = offset % (len(out) - 3)
            out[at:at + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    if insert is not None and out:
        at = insert[0] % len(out)
        out[at:at] = insert[1]
    if cut is not None:
        out = out[:cut % (len(out) + 1)]
    return bytes(out)


# -- the hostile classes -----------------------------------------------------------------------------

def _image(rows: int = 16, columns: int = 16, frames: int | None = None, bits: int = 16) -> Dataset:
    """A small valid secondary-capture image (explicit VR little endian), the base of several cases."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Hostile^Input", "HOSTILE-1", "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, columns, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    count = frames or 1
    if frames is not None:
        ds.NumberOfFrames = frames
    dtype = np.uint16 if bits == 16 else np.uint8
    ds.PixelData = (np.arange(rows * columns * count) % 200).astype(dtype).tobytes()
    return ds


def _bytes(ds: Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _nested(depth: int) -> bytes:
    ds = _image()
    item = Dataset()
    item.CodeMeaning = "innermost"
    for _ in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([item])
        item = outer
    ds.ContentSequence = item.ContentSequence
    return _bytes(ds)


def _wrong_vrs() -> bytes:
    """Rows declared as a UI string, PatientName as US, BitsAllocated as a 3-byte OB: explicit VRs lie."""
    data = bytearray(_bytes(_image()))
    for tag, new_vr in ((b"\x28\x00\x10\x00US", b"UI"), (b"\x10\x00\x10\x00PN", b"US"),
                        (b"\x28\x00\x01\x01US", b"DS")):
        at = data.find(tag)
        if at >= 0:
            data[at + 4:at + 6] = new_vr
    return bytes(data)


def _length_beyond_file() -> bytes:
    """PatientID declares 0x7FFFFFF0 bytes in a file of a few hundred."""
    data = bytearray(_bytes(_image()))
    at = data.find(b"\x10\x00\x20\x00LO")
    data[at + 6:at + 8] = b"\xf0\xff"                    # 16-bit length of an explicit short VR: 65520
    return bytes(data)


def _huge_pixel_length() -> bytes:
    """Pixel Data (OW, 32-bit length) declaring 4 GB - 2 bytes."""
    data = bytearray(_bytes(_image()))
    at = data.rfind(b"\xe0\x7f\x10\x00OW")
    data[at + 8:at + 12] = struct.pack("<I", 0xFFFFFFFE)
    return bytes(data)


def _dicomdir() -> bytes:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("dicomdirtests/DICOMDIR")).read_bytes()


def _zero_frames() -> bytes:
    ds = _image(frames=2)
    ds.NumberOfFrames = 0
    return _bytes(ds)


def _bits_mismatch() -> bytes:
    ds = _image(bits=8)                   # 8-bit samples ...
    ds.BitsAllocated = 16                 # ... declared as 16: half the bytes the header asks for
    ds.BitsStored, ds.HighBit = 16, 15
    return _bytes(ds)


def _bits_stored_above_allocated() -> bytes:
    ds = _image()
    ds.BitsStored, ds.HighBit = 24, 23
    return _bytes(ds)


def _absurd_dimensions() -> bytes:
    ds = _image()
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 2**31 - 1
    return _bytes(ds)


def _short_pixel_data() -> bytes:
    ds = _image()
    ds.PixelData = ds.PixelData[:100]
    return _bytes(ds)


def hostile_cases(seed: bytes) -> dict[str, bytes]:
    """name -> file content, one per hostile class; `seed` is a real DICOM file's bytes."""
    rng = random.Random(7)
    flipped = bytearray(seed)
    for _ in range(16):
        at = rng.randrange(132, min(len(seed), 2048))
        flipped[at] ^= 1 << rng.randrange(8)
    image = _bytes(_image())
    cases: dict[str, bytes] = {
        "empty": b"",
        "not_dicom_text": b"patient list, not a DICOM file\n" * 20,
        "not_dicom_random": bytes(rng.randrange(256) for _ in range(4096)),
        "preamble_only": b"\0" * 128 + b"DICM",
        "flipped_header_bytes": bytes(flipped),
        "duplicate_a": seed,
        "duplicate_b": seed,
        "deep_sequence_nesting": _nested(DEEP_NESTING),
        "declared_length_beyond_file": _length_beyond_file(),
        "pixel_length_4gb": _huge_pixel_length(),
        "wrong_vrs": _wrong_vrs(),
        "dicomdir": _dicomdir(),
        "zero_frame_multiframe": _zero_frames(),
        "bits_allocated_mismatch": _bits_mismatch(),
        "bits_stored_above_allocated": _bits_stored_above_allocated(),
        "absurd_dimensions": _absurd_dimensions(),
        "short_pixel_data": _short_pixel_data(),
        "valid_small_image": image,
    }
    for fraction in (0.1, 0.5, 0.9, 0.999):
        cases[f"truncated_{int(fraction * 1000):03d}"] = seed[:int(len(seed) * fraction)]
    return cases


def write_hostile_corpus(out_dir: str | os.PathLike, seed_path: str | os.PathLike) -> dict[str, Path]:
    """Write every hostile case as `<name>.dcm` under `out_dir`; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, content in hostile_cases(Path(seed_path).read_bytes()).items():
        path = out / f"{name}.dcm"
        path.write_bytes(content)
        written[name] = path
    return written


# -- measured outcomes (the fuzz runs) -----------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    outcome: Outcome | None          # None: an unhandled exception
    error: str | None                # the unhandled exception's type (never its message: it may quote a value)
    seconds: float
    peak_bytes: int                  # Python-side allocation peak (tracemalloc: numpy buffers included)


def measure(data: bytes, work_dir: str | os.PathLike) -> Measured:
    """Write `data` as a landing file and run `outcome_of` on it, timing it and tracing its memory."""
    import tempfile
    import time
    import tracemalloc

    with tempfile.NamedTemporaryFile(dir=work_dir, suffix=".dcm", delete=False) as handle:
        handle.write(data)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        outcome, error = outcome_of(handle.name), None
    except Exception as exc:  # noqa: BLE001 - the finding: reported by type, never by message
        outcome, error = None, type(exc).__name__
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        os.unlink(handle.name)
    return Measured(outcome, error, time.perf_counter() - started, peak)


def mutation_strategy(seeds: dict[str, bytes]):
    """Hypothesis strategy: (seed name, mutated bytes) from real files (hypothesis is a dev extra)."""
    from hypothesis import strategies as st

    offsets = st.integers(min_value=0, max_value=2**20)
    lengths = st.one_of(st.sampled_from([0, 1, 2, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]),
                        st.integers(min_value=0, max_value=2**32 - 1))

    @st.composite
    def mutated(draw):
        name = draw(st.sampled_from(sorted(seeds)))
        data = seeds[name]
        header = st.integers(min_value=0, max_value=max(0, min(len(data), 4096) - 1))   # where parsers live
        flips = draw(st.lists(st.tuples(st.one_of(header, offsets), st.integers(0, 255)), max_size=6))
        words = draw(st.lists(st.tuples(st.one_of(header, offsets), lengths), max_size=2))
        cut = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=len(data))))
        insert = draw(st.one_of(st.none(), st.tuples(header, st.binary(min_size=1, max_size=64))))
        return name, mutate(data, flips, words, cut, insert)

    return mutated()
