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


@pytest.mark.parametrize("value, reason", [
    (b"\xfe\xff\x00\xe0\x64\x00\x00\x00" + b"\x08\x00\x18\x00UI\x04\x001.2\x00", "item_overruns_sequence"),
    (b"\xfe\xff\x00\xe0\x0c\x00\x00\x00" + b"\x08\x00\x18\x00UI\x40\x001.2.", "element_overruns_item"),
    (b"\x01\x02\x03\x04\x05\x06\x07\x08", "not_an_item"),
    (b"\xfe\xff\x00\xe0\x0a\x00\x00\x00" + b"\x08\x00\x18\x00U\x01\x02\x001.", "bad_vr"),
])
def test_a_malformed_sequence_is_quarantined(value, reason):
    """pydicom reads these without complaint (it truncates); we cannot examine them, so they stop here."""
    ds = read(pydicom_file("CT_small.dcm"))
    tag = Tag(0x00081140)                                        # Referenced Image Sequence
    ds._dict[tag] = RawDataElement(tag, "SQ", len(value), value, 0, False, True)
    with pytest.raises(DeidError) as caught:
        deidentify_dataset(ds, DeidOptions(), TEST_KEYRING)
    assert (caught.value.reason, caught.value.cause) == ("malformed_sequence", reason)
    assert caught.value.where.startswith("00081140")
