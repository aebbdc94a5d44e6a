"""Redact one frame of a multi-frame file, write it, read it back with pydicom: lossless where promised,
unchanged frames byte-identical, syntax kept (or moved and recorded), valid DICOM."""

from __future__ import annotations

import struct
from pathlib import Path
import subprocess
import tracemalloc

import numpy as np
import pydicom
import pydicom.uid as uid
import pytest
from pydicom.data import get_testdata_file

from tests.conftest import PRESIDIO_SAMPLES
from transforms.pixels.assemble import set_burned_in_annotation, write_deidentified_file
from transforms.pixels.frames import FrameReader
from transforms.pixels.redact import redact_regions, redacted_mask
from transforms.text_types import Box



def write_big_native_file(path, frames: int, rows: int = 512, columns: int = 512) -> None:
    """A multi-frame 16-bit file written frame by frame (never the whole volume in memory)."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del ds.PixelData
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.save_as(path, enforce_file_format=True)
    with open(path, "ab") as fh:
        fh.write(struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\x00\x00" + struct.pack("<L", frames * rows * columns * 2))
        for k in range(frames):
            fh.write(np.full((rows, columns), k, dtype="<i2").tobytes())


def multiframe_copy(tmp_path, name: str, syntax: uid.UID) -> str:
    """A 3-frame file in `syntax`, made by pydicom's own encoders from a bundled image."""
    ds = pydicom.dcmread(get_testdata_file(name))
    frame = ds.pixel_array
    volume = np.stack([frame, frame[::-1], np.ascontiguousarray(frame[:, ::-1])])
    ds.NumberOfFrames = 3
    if syntax.is_compressed:
        ds.compress(syntax, volume, encoding_plugin="pylibjpeg" if syntax == uid.RLELossless else "")
    else:
        ds.PixelData = volume.tobytes()
        ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / f"source-{syntax}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def redact_middle_and_write(source: str, out, **kwargs):
    with FrameReader(source) as reader:
        index = reader.frame_count // 2
        box = Box(reader.info.columns // 4, reader.info.rows // 4, reader.info.columns // 3, reader.info.rows // 5)
        original = reader.decode_frame(index)
        redacted = redact_regions(original, [box], reader.info, header=reader.header)
        decision = write_deidentified_file(reader.header, reader, {index: redacted}, out, **kwargs)
        stored = [reader.stored_frame_bytes(k) for k in range(reader.frame_count)]
        return reader.info, index, box, original, redacted, decision, stored


LOSSLESS = [
    ("MR_small.dcm", uid.ExplicitVRLittleEndian), ("MR_small.dcm", uid.ImplicitVRLittleEndian),
    ("MR_small.dcm", uid.DeflatedExplicitVRLittleEndian), ("MR_small.dcm", uid.RLELossless),
    ("MR_small.dcm", uid.JPEGLSLossless), ("MR_small.dcm", uid.JPEG2000Lossless),
    ("examples_rgb_color.dcm", uid.RLELossless), ("examples_rgb_color.dcm", uid.JPEG2000Lossless),
    ("examples_rgb_color.dcm", uid.JPEGLSLossless),
]


@pytest.mark.parametrize("name,syntax", LOSSLESS, ids=[f"{n}-{s.name}" for n, s in LOSSLESS])
def test_lossless_syntaxes_round_trip_exactly(tmp_path, name, syntax):
    source = multiframe_copy(tmp_path, name, syntax)
    out = tmp_path / "out.dcm"
    info, index, _, _, redacted, decision, stored = redact_middle_and_write(source, out)
    assert decision.kept and decision.output_syntax == str(syntax)
    assert (decision.frames_copied, decision.frames_reencoded) == (2, 1)
    written = pydicom.dcmread(out)
    assert written.file_meta.TransferSyntaxUID == syntax
    assert (written.Rows, written.Columns, int(written.NumberOfFrames)) == (info.rows, info.columns, 3)
    assert np.array_equal(written.pixel_array[index], redacted)
    with FrameReader(out) as again:
        for k in (0, 2):
            assert again.stored_frame_bytes(k) == stored[k]


@pytest.mark.parametrize("name", ["rtdose_rle.dcm", "SC_rgb_rle_32bit_2frame.dcm", "rtdose.dcm",
                                  "SC_ybr_full_422_uncompressed.dcm", "JPEGLSNearLossless_16.dcm",
                                  "693_J2KI.dcm", "examples_jpeg2k.dcm", "liver_1frame.dcm"])
def test_bundled_files_keep_their_syntax_and_changed_frame_exactly(tmp_path, name):
    source = get_testdata_file(name)
    out = tmp_path / "out.dcm"
    _, index, _, _, redacted, decision, stored = redact_middle_and_write(source, out)
    assert decision.kept, decision.reason
    with FrameReader(out) as again:
        assert np.array_equal(again.decode_frame(index), redacted)
        assert all(again.stored_frame_bytes(k) == stored[k] for k in range(len(stored)) if k != index)


def test_lossy_near_lossless_sources_gain_no_further_loss(tmp_path):
    _, _, _, _, _, decision, _ = redact_middle_and_write(get_testdata_file("SC_rgb_jls_lossy_line.dcm"),
                                                        tmp_path / "o.dcm")
    assert decision.output_syntax == uid.JPEGLSNearLossless
    assert decision.reason == "lossless_codestream_in_same_lossy_syntax"


def test_jpeg_lossless_sv1_moves_to_jpegls_lossless_and_records_it(tmp_path):
    out = tmp_path / "out.dcm"
    _, index, _, _, redacted, decision, _ = redact_middle_and_write(get_testdata_file("SC_rgb_jpeg_gdcm.dcm"), out)
    assert decision.original_syntax == uid.JPEGLosslessSV1 and decision.output_syntax == uid.JPEGLSLossless
    assert not decision.kept and "no_encoder" in decision.reason
    assert np.array_equal(pydicom.dcmread(out).pixel_array, redacted)


def test_big_endian_moves_to_explicit_little_endian(tmp_path):
    out = tmp_path / "out.dcm"
    _, _, _, _, redacted, decision, _ = redact_middle_and_write(get_testdata_file("MR_small_bigendian.dcm"), out)
    assert decision.output_syntax == uid.ExplicitVRLittleEndian and not decision.kept
    assert np.array_equal(pydicom.dcmread(out).pixel_array, redacted)


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "ExplVR_BigEnd.dcm", "SC_rgb_small_odd_big_endian.dcm",
                                  "liver_expb_1frame.dcm", "rtdose_expb.dcm"])
def test_an_unchanged_big_endian_file_is_written_readable_in_explicit_little_endian(tmp_path, name):
    # These were copied "in their own syntax" with a little-endian body under a big-endian file meta.
    source = get_testdata_file(name)
    out = tmp_path / "out.dcm"
    with FrameReader(source) as reader:
        decision = write_deidentified_file(reader.header, reader, {}, out)
        frames = [reader.decode_frame(k) for k in range(reader.frame_count)]
    assert decision.output_syntax == uid.ExplicitVRLittleEndian
    assert decision.reason == "retired_big_endian_moved_to_explicit_le" and not decision.kept
    written = pydicom.dcmread(out)
    assert written.file_meta.TransferSyntaxUID == uid.ExplicitVRLittleEndian
    assert written.SOPInstanceUID == pydicom.dcmread(source).SOPInstanceUID
    with FrameReader(out) as again:
        assert all(np.array_equal(again.decode_frame(k), frame) for k, frame in enumerate(frames))


def test_jpeg_baseline_cine_reencodes_only_the_changed_frame(tmp_path):
    out = tmp_path / "out.dcm"
    info, index, box, original, redacted, decision, stored = redact_middle_and_write(
        get_testdata_file("examples_ybr_color.dcm"), out)
    assert decision.kept and decision.output_syntax == uid.JPEGBaseline8Bit
    assert (decision.frames_copied, decision.frames_reencoded) == (29, 1)
    with FrameReader(out) as again:
        assert all(again.stored_frame_bytes(k) == stored[k] for k in range(30) if k != index)
        written = again.decode_frame(index).astype(int)
    mask = redacted_mask([box], info, padding=3)
    assert written[mask][:, 0].max() <= 24                                          # luma: the box stays dark
    far = ~redacted_mask([box], info, padding=3 + 16)                               # beyond 2 JPEG blocks
    assert np.abs(written[far] - original.astype(int)[far]).mean() < 1.0            # one mild generation


def test_jpeg_baseline_lossless_policy_moves_the_file(tmp_path):
    out = tmp_path / "out.dcm"
    *_, redacted, decision, _ = redact_middle_and_write(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"), out,
                                                        lossy_jpeg_policy="lossless")
    assert decision.output_syntax == uid.JPEGLSLossless
    with FrameReader(out) as again:
        assert np.array_equal(again.decode_frame(0), redacted)


def test_no_change_copies_the_pixel_data_as_is(tmp_path):
    source = get_testdata_file("examples_ybr_color.dcm")
    out = tmp_path / "out.dcm"
    with FrameReader(source) as reader:
        decision = write_deidentified_file(reader.header, reader, {}, out)
        stored = [reader.stored_frame_bytes(k) for k in range(30)]
    assert decision.reason == "no_frame_changed_copied" and decision.frames_reencoded == 0
    with FrameReader(out) as again:
        assert [again.stored_frame_bytes(k) for k in range(30)] == stored


def test_burned_in_annotation_flag_follows_the_callers_verdict():
    ds = pydicom.Dataset()
    set_burned_in_annotation(ds, verified_clean=False)
    assert ds.BurnedInAnnotation == "YES"
    set_burned_in_annotation(ds, verified_clean=True)
    assert ds.BurnedInAnnotation == "NO"


def dciodvfy_errors(path) -> set[str]:
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return {line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


@pytest.mark.parametrize("source", [
    str(PRESIDIO_SAMPLES / "0_ORIGINAL_compressed.dcm"),
    str(PRESIDIO_SAMPLES / "2_ORIGINAL.dcm"),
    get_testdata_file("examples_ybr_color.dcm"),
    get_testdata_file("SC_rgb_jpeg_gdcm.dcm"),
    get_testdata_file("image_dfl.dcm"),
])
def test_dciodvfy_reports_no_new_error(tmp_path, source):
    out = tmp_path / "out.dcm"
    redact_middle_and_write(source, out)
    assert dciodvfy_errors(out) <= dciodvfy_errors(source)


def test_writing_a_large_file_keeps_memory_bounded(tmp_path):
    source = tmp_path / "big.dcm"
    write_big_native_file(source, frames=200)                  # ~105 MB
    out = tmp_path / "out.dcm"
    with FrameReader(source) as reader:
        tracemalloc.start()
        try:
            changed = {k: (lambda k=k: redact_regions(reader.decode_frame(k), [Box(0, 0, 64, 16)], reader.info,
                                                 fill=-1000))
                       for k in (0, 100, 199)}
            decision = write_deidentified_file(reader.header, reader, changed, out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert decision.frames_reencoded == 3 and decision.output_size > 200 * 512 * 512 * 2
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak} bytes"
    with FrameReader(out) as again:
        assert int(again.decode_frame(100)[0, 0]) < 0 and int(again.decode_frame(100)[300, 300]) == 100


@pytest.mark.parametrize("name", ["004_MR_deflated.dcm", "006_MR_j2k_lossless.dcm"], ids=["deflated", "overlay"])
def test_the_readers_own_header_is_written_with_its_deferred_values(tmp_path, name):
    """Large header values (overlay data, long tables) are deferred by the reader; the writer reads
    them back from the file (or the inflated copy) instead of failing."""
    source = Path(__file__).parent / "data" / "corpus" / name
    with FrameReader(source) as reader:
        write_deidentified_file(reader.header, reader, {}, tmp_path / name)
    original, written = pydicom.dcmread(source), pydicom.dcmread(tmp_path / name)
    differing = [e.tag for e in original if e.tag != 0x7FE00010 and (e.tag not in written or written[e.tag].value != e.value)]
    assert differing == [] and np.array_equal(original.pixel_array, written.pixel_array)
