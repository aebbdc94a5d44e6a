"""dciodvfy (dicom3tools) finds no error in a de-identified file that the original did not have."""

from __future__ import annotations

import pytest

from tests.conftest import pydicom_file
from tests.test_deid_support import TEST_KEYRING, dciodvfy_available, dciodvfy_errors
from transforms.deid import DeidOptions, deidentify_file

FILES = ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm", "waveform_ecg.dcm", "liver_1frame.dcm"]
OPTION_SETS = {
    "basic": (DeidOptions(), None),
    "all_options": (DeidOptions(retain_safe_private=True, retain_device_identity=True, dates="shift",
                                retain_patient_characteristics=True, clean_descriptors=True,
                                clean_structured_content=True, clean_graphics=True), str.upper),
}


@pytest.fixture(scope="module", autouse=True)
def require_dciodvfy():
    if not dciodvfy_available():
        pytest.fail("dciodvfy is not on PATH: install Debian's dicom3tools (apt-get install dicom3tools)")


@pytest.mark.parametrize("options_name", sorted(OPTION_SETS))
@pytest.mark.parametrize("name", FILES)
def test_no_new_dciodvfy_error(tmp_path, name, options_name):
    options, cleaner = OPTION_SETS[options_name]
    source = pydicom_file(name)
    data, _ = deidentify_file(source, options, TEST_KEYRING, cleaner)
    output = tmp_path / f"deid_{name}"
    output.write_bytes(data)
    new = dciodvfy_errors(output) - dciodvfy_errors(source)
    assert not new, f"{len(new)} new dciodvfy error(s): {sorted(new)}"


def test_the_comparison_can_fail(tmp_path):
    """A file we break on purpose shows a new error: the test above is not vacuous."""
    import pydicom

    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    del ds.Rows
    broken = tmp_path / "broken.dcm"
    ds.save_as(broken)
    assert dciodvfy_errors(broken) - dciodvfy_errors(pydicom_file("CT_small.dcm"))
