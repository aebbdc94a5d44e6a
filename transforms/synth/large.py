"""The `--large` file: one multi-frame XA of at least 500 MB, written frame by frame.

pydicom writes a dataset from memory, so the header is written by pydicom and the Pixel Data
element (tag, VR, length) and the frames are appended by hand: one frame is in memory at a time.
Native Explicit VR Little Endian only (an encapsulated stream would need every frame's size before
the offset table, and the point of this file is memory and scale, not codecs).
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
from dataclasses import replace
from pathlib import Path

import pydicom.uid as uid

from transforms.synth.anatomy import make_frame_source
from transforms.synth.assembly import World, instance_context, iter_frames, truth_record
from transforms.synth.header import build_header
from transforms.synth.identities import derive_seed
from transforms.synth.kinds import KINDS, Geometry
from transforms.synth.layout import plan_annotations
from transforms.synth.plan import COVERAGE_PATIENTS, FileSlot
from transforms.synth.truth import truth_path_for, write_truth

LARGE_KIND = "XA"
LARGE_ROWS = LARGE_COLUMNS = 1024
LARGE_FRAMES = 512                       # 512 MiB of 8-bit pixels: >= 500 MB
LARGE_SLOT_INDEX = 999
PIXEL_DATA_TAG = (0x7FE0, 0x0010)


def write_large_file(out: Path, seed: int, frames: int = LARGE_FRAMES, rows: int = LARGE_ROWS,
                     columns: int = LARGE_COLUMNS) -> Path:
    """Write the large file and its truth; `frames`/`rows`/`columns` are smaller only in tests."""
    kind = KINDS[LARGE_KIND]
    slot = FileSlot(LARGE_SLOT_INDEX, LARGE_KIND, uid.ExplicitVRLittleEndian, COVERAGE_PATIENTS + 900, 0, 0, 1)
    world = World(seed)
    ctx = replace(instance_context(slot, world, kind, full_size=True), geometry=Geometry(rows, columns, frames))
    rng = random.Random(derive_seed(seed, "file", slot.index))
    header = build_header(ctx, rng)
    annotations = plan_annotations(kind, ctx.geometry, ctx.patient, ctx.study, ctx.series, ctx.instance,
                                   rng, with_overlay=False)
    ds = header.dataset
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    source = make_frame_source(kind, ctx.geometry, derive_seed(seed, "pixels", slot.index))
    path = Path(out) / f"large_{LARGE_KIND}_{frames}f_explicit_le.dcm"
    digest = _stream(path, ds, iter_frames(source, annotations.pixel_items), rows * columns * frames)
    write_truth(truth_path_for(path), truth_record(path.name, digest, slot, ctx, header, annotations, seed,
                                                   full_size=True))
    return path


def _stream(path: Path, ds, frames, pixel_bytes: int) -> str:
    """Header by pydicom, then the Pixel Data element header and each frame as it is made."""
    sha = hashlib.sha256()
    head = io.BytesIO()
    ds.save_as(head, enforce_file_format=True)
    padded = pixel_bytes + (pixel_bytes % 2)
    element = struct.pack("<HH2sHI", *PIXEL_DATA_TAG, b"OB", 0, padded)
    with open(path, "wb") as fh:
        for chunk in (head.getvalue(), element):
            fh.write(chunk)
            sha.update(chunk)
        for frame in frames:
            data = frame.tobytes()
            fh.write(data)
            sha.update(data)
        if padded != pixel_bytes:
            fh.write(b"\x00")
            sha.update(b"\x00")
    return sha.hexdigest()
