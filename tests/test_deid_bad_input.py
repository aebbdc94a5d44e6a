"""Bad input is quarantined with a machine-readable reason, never published half-cleaned."""

from __future__ import annotations

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from tests.conftest import pydicom_file
from tests.test_deid_support import TEST_KEYRING, read
from transforms.deid import DeidError, DeidOptions, deidentify_bytes, deidentify_dataset, deidentify_file


@pytest.mark.parametrize("name, reason", [("MR_truncated.dcm", "truncated"), ("rtplan_truncated.dcm", "truncated"),
                                          ("no_meta.dcm", "unreadable_header")])
def test_broken_files_raise_with_a_reason(name, reason):
    with pytest.raises(DeidError) as caught:
        deidentify_file(pydicom_file(name), DeidOptions(), TEST_KEYRING)
    assert caught.value.reason == reason


def test_cut_header_is_quarantined(tmp_path):
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(pydicom_file("CT_small.dcm").read_bytes()[:3000])
    with pytest.raises(DeidError) as caught:
        deidentify_file(cut, DeidOptions(), TEST_KEYRING)
    assert caught.value.reason.startswith("truncated") or caught.value.reason == "unreadable_header"


def test_not_dicom_bytes_are_quarantined():
    with pytest.raises(DeidError) as caught:
        deidentify_bytes(b"definitely not a DICOM file" * 10, DeidOptions(), TEST_KEYRING)
    assert caught.value.reason == "unreadable_header"


def test_an_unshiftable_date_is_quarantined_and_the_message_has_no_value():
    ds = read(pydicom_file("CT_small.dcm"))
    ds._dict[Tag(0x00080020)] = RawDataElement(Tag(0x00080020), "DA", 8, b"2019XY14", 0, False, True)
    with pytest.raises(DeidError) as caught:
        deidentify_dataset(ds, DeidOptions(dates="shift"), TEST_KEYRING)
    assert caught.value.reason == "unshiftable_date" and caught.value.where == "00080020"
    assert "2019XY14" not in str(caught.value)


def test_a_file_without_any_identifier_to_key_the_patient_is_quarantined():
    ds = read(pydicom_file("nested_priv_SQ.dcm"))
    with pytest.raises(DeidError) as caught:
        deidentify_dataset(ds, DeidOptions(), TEST_KEYRING)
    assert caught.value.reason == "no_patient_key"
