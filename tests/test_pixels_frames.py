"""Frame access and decoding on pydicom's bundled files (real encoders' output), one frame at a time."""

from __future__ import annotations

import shutil
import struct
import tracemalloc

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_frames
from pydicom.pixels import pixel_array

from transforms.pixels.frames import FrameReader, UndecodableFrameError

# Every syntax pydicom's plugins decode here: native LE/BE/implicit/deflated, RLE (8/16/32 bit),
# JPEG baseline (RGB and YBR, 4:2:2/4:4:4), JPEG extended 12-bit, JPEG lossless SV1, JPEG-LS lossless and
# near-lossless, JPEG 2000 lossless and lossy (incl. YBR_RCT, signed), 1-bit, palette, planar RGB.
DECODABLE = [
    "693_J2KI.dcm", "CT_small.dcm", "ExplVR_BigEnd.dcm", "GDCMJ2K_TextGBR.dcm", "J2K_pixelrep_mismatch.dcm",
    "JPEG2000.dcm", "JPEGLSNearLossless_08.dcm", "JPEGLSNearLossless_16.dcm", "JPGExtended.dcm",
    "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_jpeg_no_color_transform.dcm",
    "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_+eb+cy+s4.dcm", "SC_rgb_gdcm_KY.dcm",
    "SC_rgb_jls_lossy_line.dcm", "SC_rgb_jpeg_dcmd.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm",
    "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit_2frame.dcm", "SC_rgb_small_odd.dcm",
    "SC_rgb_small_odd_big_endian.dcm", "SC_ybr_full_422_uncompressed.dcm", "examples_jpeg2k.dcm",
    "examples_palette.dcm", "examples_rgb_color.dcm", "examples_ybr_color.dcm", "examples_overlay.dcm",
    "liver_1frame.dcm", "liver_expb_1frame.dcm", "rtdose.dcm", "rtdose_expb.dcm", "rtdose_rle.dcm",
]


@pytest.mark.parametrize("name", DECODABLE)
def test_middle_frame_decodes_like_pydicom(name):
    path = get_testdata_file(name)
    with FrameReader(path) as reader:
        index = reader.frame_count // 2
        frame = reader.decode_frame(index)
    expected = pixel_array(path, index=index, raw=True)
    assert frame.dtype.isnative
    assert frame.shape == expected.shape
    assert np.array_equal(frame, expected)


def test_deflated_file_decodes_like_full_read():
    path = get_testdata_file("image_dfl.dcm")
    with FrameReader(path) as reader:
        frame = reader.decode_frame(0)
    assert np.array_equal(frame, pydicom.dcmread(path).pixel_array)


def test_multiframe_jpeg_frames_are_pydicoms_frames():
    path = get_testdata_file("examples_ybr_color.dcm")
    ds = pydicom.dcmread(path)
    expected = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))
    with FrameReader(path) as reader:
        assert reader.frame_count == 30
        stored = [reader.stored_frame_bytes(i) for i in range(reader.frame_count)]
        rgb = reader.decode_frame(29, as_rgb=True)
    assert stored == expected
    assert np.array_equal(rgb, ds.pixel_array[29])


def test_info_describes_the_pixel_module():
    with FrameReader(get_testdata_file("CT_small.dcm")) as reader:
        info = reader.info
    assert (info.rows, info.columns, info.frames, info.bits_stored, info.pixel_representation) == (128, 128, 1, 16, 1)
    assert info.photometric == "MONOCHROME2" and info.rescale_intercept == -1024.0
    assert info.stored_range == (-32768, 32767)


def test_real_undecodable_jpeg_is_quarantined_with_a_reason():
    # pydicom's own test file that libjpeg rejects (a corrupt scan header): no plugin decodes it
    with FrameReader(get_testdata_file("JPEG-lossy.dcm")) as reader:
        with pytest.raises(UndecodableFrameError) as caught:
            reader.decode_frame(0)
    assert caught.value.reason == "decode_failed" and caught.value.frame == 0


@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"])
def test_corrupt_fragment_bytes_raise_undecodable(tmp_path, name):
    source = get_testdata_file(name)
    with FrameReader(source) as reader:
        fragment = reader._frames[0][0]
    target = tmp_path / name
    shutil.copy(source, target)
    with open(target, "r+b") as fh:                 # keep the codestream's first marker, garble the rest
        fh.seek(fragment.offset + 4)
        fh.write(b"\x00" * (fragment.length - 4))
    with FrameReader(target) as reader, pytest.raises(UndecodableFrameError) as caught:
        reader.decode_frame(0)
    assert caught.value.reason == "decode_failed"


def test_truncated_pixel_data_is_reported_not_crashed():
    with FrameReader(get_testdata_file("MR_truncated.dcm")) as reader, pytest.raises(UndecodableFrameError) as caught:
        reader.decode_frame(0)
    assert caught.value.reason == "truncated_frame"


def test_file_without_pixels_is_refused():
    with pytest.raises(UndecodableFrameError) as caught:
        FrameReader(get_testdata_file("rtplan.dcm"))
    assert caught.value.reason == "no_pixel_data"


def write_big_native_file(path, frames: int, rows: int = 512, columns: int = 512) -> None:
    """A multi-frame 16-bit file written frame by frame (never the whole volume in memory)."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del ds.PixelData
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.save_as(path, enforce_file_format=True)
    frame_bytes = rows * columns * 2
    with open(path, "ab") as fh:
        fh.write(struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\x00\x00" + struct.pack("<L", frames * frame_bytes))
        for k in range(frames):
            fh.write(np.full((rows, columns), k, dtype="<i2").tobytes())


def test_large_native_file_is_read_with_bounded_memory(tmp_path):
    path = tmp_path / "big.dcm"
    write_big_native_file(path, frames=400)          # ~210 MB on disk
    tracemalloc.start()
    try:
        with FrameReader(path) as reader:
            assert reader.frame_count == 400
            for index in (0, 200, 399):
                assert int(reader.decode_frame(index)[7, 7]) == index
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak traced memory {peak} bytes for 512 KB frames"
