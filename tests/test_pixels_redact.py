"""Redaction on stored values: every sample, every frame, dark on display, nothing outside the boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from tests.conftest import PRESIDIO_SAMPLES
from transforms.frame_task import frame_staging_path, process_frames
from transforms.keyring import Keyring
from transforms.pixels.frames import FrameReader
from transforms.pixels.prepare import display_grey
from transforms.pixels.redact import dark_fill_value, redact_regions, redacted_mask
from transforms.text_types import Box

PRESIDIO = f"{PRESIDIO_SAMPLES}/"
CORPUS = Path(__file__).parent / "data" / "corpus"
BOX = Box(10, 12, 30, 9)


def redact_first_frame(path, boxes=(BOX,), **kwargs):
    with FrameReader(path) as reader:
        frame = reader.decode_frame(0)
        return reader, frame, redact_regions(frame, boxes, reader.info, header=reader.header, **kwargs)


@pytest.mark.parametrize("path", [
    PRESIDIO + "0_ORIGINAL_compressed.dcm",           # MONOCHROME1, 10 of 16 bits
    PRESIDIO + "2_ORIGINAL.dcm",                       # signed CT, rescaled
    get_testdata_file("examples_rgb_color.dcm"),       # RGB
    get_testdata_file("examples_ybr_color.dcm"),       # YBR_FULL_422 from JPEG
    get_testdata_file("examples_palette.dcm"),         # PALETTE COLOR
    get_testdata_file("MR_small.dcm"),
])
def test_boxes_are_dark_on_display_and_nothing_else_changes(path):
    reader, frame, redacted = redact_first_frame(path)
    mask = redacted_mask([BOX], reader.info)
    assert np.array_equal(redacted[~mask], frame[~mask])
    shown = display_grey(redacted, reader.info, reader.header)
    # Dark: no brighter than the darkest 1% of what the frame shows outside the box.
    assert shown[mask].max() <= np.percentile(display_grey(frame, reader.info, reader.header)[~mask], 1) + 1


def test_monochrome1_fill_is_a_high_stored_value():
    reader, frame, redacted = redact_first_frame(PRESIDIO + "0_ORIGINAL_compressed.dcm")
    assert reader.info.photometric == "MONOCHROME1"
    fill = redacted[BOX.top + 3, BOX.left + 3]
    assert fill >= frame.max() and fill <= reader.info.stored_range[1]


def test_signed_ct_fill_is_at_or_below_the_darkest_value_and_representable():
    reader, frame, redacted = redact_first_frame(PRESIDIO + "2_ORIGINAL.dcm")
    assert reader.info.is_signed
    fill = int(redacted[BOX.top + 3, BOX.left + 3])
    assert fill <= int(frame.min()) and fill >= reader.info.stored_range[0]
    assert fill * reader.info.rescale_slope + reader.info.rescale_intercept <= \
        reader.info.window_center - reader.info.window_width / 2


def test_every_sample_of_colour_pixels_is_filled():
    reader, _, redacted = redact_first_frame(get_testdata_file("examples_rgb_color.dcm"))
    inside = redacted[BOX.top:BOX.bottom, BOX.left:BOX.right]
    assert (inside == 0).all()


def test_configured_fill_and_padding_are_honoured():
    reader, frame, redacted = redact_first_frame(get_testdata_file("MR_small.dcm"), fill=1234, padding=0)
    assert (redacted[BOX.top:BOX.bottom, BOX.left:BOX.right] == 1234).all()
    assert redacted[BOX.top - 1, BOX.left] == frame[BOX.top - 1, BOX.left]


def test_all_frames_of_a_multiframe_file_are_filled():
    with FrameReader(get_testdata_file("rtdose.dcm")) as reader:
        box = Box(2, 2, 4, 4)
        for index, frame in reader.iter_frames():
            redacted = redact_regions(frame, [box], reader.info, padding=0)
            assert (redacted[2:6, 2:6] == dark_fill_value(frame, reader.info)).all(), index
            assert np.array_equal(redacted[7:], frame[7:])


def test_subsampled_native_colour_fills_whole_chroma_pairs():
    reader, frame, redacted = redact_first_frame(get_testdata_file("SC_ybr_full_422_uncompressed.dcm"),
                                                 boxes=[Box(11, 5, 4, 4)], padding=0)
    assert (redacted[5:9, 10:16, 0] == 0).all()                 # widened from 11..15 to 10..16
    assert (redacted[5:9, 10:16, 1:] == 128).all()             # neutral chroma
    assert np.array_equal(redacted[:, 16:], frame[:, 16:])


def _noisy_frame_with_text(text: Box, samples: int = 1) -> np.ndarray:
    """CT-like air (-1000 with noise of sigma 6) and a bright block of 'ink' at `text`."""
    shape = (64, 96, samples) if samples > 1 else (64, 96)
    frame = np.random.default_rng(5).normal(-1000, 6, shape).round().astype(np.int16)
    frame[text.top:text.bottom, text.left:text.right] = 2000
    return frame


def test_frame_tasks_fill_fitted_boxes(tmp_path):
    """`process_frames` fills inside the padded regions it found, and less than all of them: the padding
    that holds only noisy air is given back (CT air around the overlay of a corpus file)."""
    path = str(CORPUS / "000_CT_explicit_le.dcm")
    result = process_frames(path, 0, 1, "all", Keyring.from_env(), str(tmp_path))
    assert result.changed_frames == [0]
    with FrameReader(path) as reader:
        original, info = reader.decode_frame(0), reader.info
    staged = frame_staging_path(tmp_path, 0).read_bytes()
    redacted = np.frombuffer(staged, original.dtype.newbyteorder("<")).reshape(original.shape)
    changed = redacted != original
    padded = redacted_mask([record.box for record in result.boxes], info, padding=3)
    assert changed.any() and not (changed & ~padded).any()
    assert changed.sum() < padded.sum()
