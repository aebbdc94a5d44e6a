"""The reviewer's contact sheet: frames of published files, and files without pixel data told apart."""

from __future__ import annotations

import numpy as np

from tests.conftest import pydicom_file
from transforms.review import THUMB, SheetItem, contact_sheet
from transforms.text_types import Box

LABEL_BAND = 18


def _tile(sheet, index: int, columns: int = 4) -> np.ndarray:
    x, y = (index % columns) * THUMB, (index // columns) * (THUMB + LABEL_BAND) + LABEL_BAND
    return np.asarray(sheet)[y:y + THUMB, x:x + THUMB]


def test_a_published_file_without_pixel_data_gets_a_placeholder_tile_not_an_error():
    items = [SheetItem(pydicom_file("CT_small.dcm"), "CT", 0, (Box(10, 10, 30, 12),)),
             SheetItem(pydicom_file("test-SR.dcm"), "SR", 0, ())]
    sheet = contact_sheet(items)
    assert sheet.size == (4 * THUMB, THUMB + LABEL_BAND)
    ct, report = _tile(sheet, 0), _tile(sheet, 1)
    assert (ct[..., 0] > ct[..., 1]).sum() > 50            # the red outline of the redacted box
    assert len(np.unique(ct)) > 50                           # a real image
    assert 0 < np.count_nonzero(report) < 0.05 * report.size  # a black tile with a short grey caption
    assert (report[..., 0] == report[..., 1]).all()          # no outline, no image
