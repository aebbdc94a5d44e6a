"""De-identified headers of real pydicom files: nothing identifying survives, anywhere."""

from __future__ import annotations

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.uid import UID_dictionary

from tests.conftest import pydicom_file
from tests.test_deid_support import (CHARSET_FILES, INJECTED_PHI, TEST_KEYRING, leak_paths, original_phi,
                                     phi_dataset, read, rendered_values, reread)
from transforms.deid import DeidOptions, deidentify_dataset, deidentify_file, write_dataset
from transforms.deid.record import BASIC_PROFILE
from transforms.dicom_io import read_header

REAL_FILES = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "test-SR.dcm", "waveform_ecg.dcm",
              "priv_SQ.dcm", "examples_overlay.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
              "JPEG2000.dcm", "reportsi.dcm", "liver_1frame.dcm", "UN_sequence.dcm"]
CHARSET_SAMPLES = ["chrX1.dcm", "chrH31.dcm", "chrRuss.dcm", "chrGerm.dcm", "chrSQEncoding.dcm"]
TEXT_VRS = {"PN", "LO", "SH", "ST", "LT", "UT", "UC", "AE", "UR"}


def _deidentify(path, options=DeidOptions()):
    data, result = deidentify_file(path, options, TEST_KEYRING)
    return data, result, reread(data)


@pytest.mark.parametrize("name", REAL_FILES)
def test_no_original_identifier_survives_in_real_files(name):
    original = read(pydicom_file(name))
    secrets = original_phi(original)
    data, result, output = _deidentify(pydicom_file(name))
    leaks = leak_paths(secrets, output, data)
    assert not leaks, f"{len(leaks)} element(s) still hold an original identifier: {leaks}"
    assert result.patient_pseudonym and result.audit


@pytest.mark.parametrize("name", CHARSET_SAMPLES)
def test_non_ascii_names_are_replaced(name):
    original = read(CHARSET_FILES / name)
    secrets = original_phi(original)
    data, _, output = _deidentify(CHARSET_FILES / name)
    assert not leak_paths(secrets, output, data), "a non-ASCII identifier survived"


def test_injected_phi_vanishes_from_every_place_tools_miss(tmp_path):
    path = tmp_path / "phi.dcm"
    phi_dataset().save_as(path, enforce_file_format=True)
    data, result, output = _deidentify(path)
    leaks = leak_paths(INJECTED_PHI.values(), output, data)
    assert not leaks, f"injected PHI survived at {leaks}"
    actions = {row["element_path"]: row["action"] for row in result.audit}
    assert actions["00540400"] == "X:unlisted_text_vr"
    assert actions["60000022"] == "X:overlay" and actions["50002500"] == "X:curve"
    private = [action for path, action in actions.items() if int(path[:4], 16) & 1]
    assert len(private) >= 2 and set(private) == {"X:private"}
    assert actions["00020016"] == "X:file_meta"


def test_record_is_written_with_the_profile_code():
    _, result, output = _deidentify(pydicom_file("CT_small.dcm"))
    assert output.PatientIdentityRemoved == "YES"
    assert output.LongitudinalTemporalInformationModified == "REMOVED"
    codes = [(item.CodeValue, item.CodingSchemeDesignator) for item in output.DeidentificationMethodCodeSequence]
    assert codes == [(BASIC_PROFILE.value, "DCM")]
    assert any("deidlake" in value for value in output.DeidentificationMethod)
    assert result.method_codes == (BASIC_PROFILE.value,)


@pytest.mark.parametrize("name", ["CT_small.dcm", "test-SR.dcm", "rtplan.dcm", "MR_small_implicit.dcm"])
def test_every_instance_uid_is_replaced_and_file_meta_follows(name):
    original = read(pydicom_file(name))
    _, result, output = _deidentify(pydicom_file(name))
    old_uids = {str(e.value) for e in original.iterall() if e.VR == "UI" and e.value
                and str(e.value) not in UID_dictionary}
    new_uids = {str(e.value) for e in output.iterall() if e.VR == "UI" and e.value}
    assert not old_uids & new_uids, f"{len(old_uids & new_uids)} original UID(s) kept"
    assert all(uid.startswith("2.25.") or uid in UID_dictionary for uid in new_uids)
    assert output.file_meta.MediaStorageSOPInstanceUID == output.SOPInstanceUID
    assert output.file_meta.MediaStorageSOPClassUID == original.file_meta.MediaStorageSOPClassUID
    assert output.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert output.file_meta.ImplementationVersionName.startswith("DEIDLAKE")


def test_overlays_curves_and_private_elements_are_gone():
    _, _, output = _deidentify(pydicom_file("examples_overlay.dcm"))
    assert not [e for e in output if 0x6000 <= e.tag.group <= 0x601E]
    _, _, output = _deidentify(pydicom_file("priv_SQ.dcm"))
    assert not [e for e in output.iterall() if e.tag.is_private]


@pytest.mark.parametrize("name", ["CT_small.dcm", "waveform_ecg.dcm", "test-SR.dcm", "rtplan.dcm"])
def test_only_listed_or_kept_text_elements_remain(name):
    """Every text-VR element left is one the profile replaces or a documented keep-list entry."""
    from transforms.deid import keep_lists
    from transforms.deid.profile import action_table

    table = action_table(DeidOptions())
    allowed = set(table.rules) | keep_lists.KEEP_TEXT_TAGS | keep_lists.CODE_COMPONENT_TAGS | set(
        keep_lists.REQUIRED_FREE_TEXT) | {0x00120063}
    _, _, output = _deidentify(pydicom_file(name))
    stray = sorted(f"{int(e.tag):08X}" for e in output.iterall() if e.VR in TEXT_VRS and int(e.tag) not in allowed)
    assert not stray, f"unlisted text elements kept: {stray}"


def test_pixel_data_is_never_loaded_and_is_written_unchanged():
    path = pydicom_file("examples_overlay.dcm")                         # pixel data > the defer size
    ds = read_header(path)
    deferred = ds._dict[0x7FE00010]
    assert isinstance(deferred, RawDataElement) and deferred.value is None      # read_header deferred it
    result = deidentify_dataset(ds, DeidOptions(), TEST_KEYRING)
    assert result.dataset._dict[0x7FE00010] is deferred, "pixel data element was touched"
    same = reread(write_dataset(result.dataset)).PixelData == read(path).PixelData
    assert same, "pixel data changed"


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm", "image_dfl.dcm"])
def test_output_rereads_with_the_same_transfer_syntax_and_pixels(name):
    original = read(pydicom_file(name))
    _, _, output = _deidentify(pydicom_file(name))
    assert output.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    same = output.PixelData == original.PixelData
    assert same, "pixel data changed"
    assert output.Rows == original.Rows and output.Columns == original.Columns


def test_dates_and_times_are_shifted_consistently_when_asked():
    from datetime import datetime, timedelta

    options = DeidOptions(dates="shift")
    original = read(pydicom_file("CT_small.dcm"))
    _, result, output = _deidentify(pydicom_file("CT_small.dcm"), options)
    assert -365 <= result.date_shift_days <= -1 and 3600 <= result.time_shift_seconds < 7200
    delta = timedelta(days=result.date_shift_days, seconds=result.time_shift_seconds)
    for event in ("Study", "Series", "Acquisition", "Content"):
        date, time = getattr(original, f"{event}Date"), getattr(original, f"{event}Time")
        moved = datetime.strptime(date + time[:6], "%Y%m%d%H%M%S") + delta      # the same instant, moved
        assert getattr(output, f"{event}Date") == moved.strftime("%Y%m%d")
        assert getattr(output, f"{event}Time")[:6] == moved.strftime("%H%M%S")
    assert output.LongitudinalTemporalInformationModified == "MODIFIED"


def test_clean_descriptors_uses_the_cleaner_and_shifts_dates_in_text(tmp_path):
    path = tmp_path / "phi.dcm"
    phi_dataset().save_as(path, enforce_file_format=True)
    seen = []

    def cleaner(text: str) -> str:
        seen.append(len(text))
        return text.replace("scan", "exam")

    options = DeidOptions(dates="shift", clean_descriptors=True)
    data, result = deidentify_file(path, options, TEST_KEYRING, cleaner)
    output = reread(data)
    assert seen, "the text cleaner was not called"
    assert output.StudyDescription.startswith("exam ") and "03/14/2019" not in output.StudyDescription
    assert "113105" in result.method_codes


def test_clean_descriptors_without_cleaner_removes_text_and_is_not_claimed():
    options = DeidOptions(clean_descriptors=True)
    data, result = deidentify_file(pydicom_file("test-SR.dcm"), options, TEST_KEYRING)
    output = reread(data)
    assert "StudyDescription" not in output and "SeriesDescription" not in output
    assert "113105" not in result.method_codes and not result.options.clean_descriptors


def test_rendered_values_cover_nested_items():
    """The leak search must see nested values, or every leak test above would pass vacuously."""
    ds = phi_dataset()
    paths = [path for path, text in rendered_values(ds) if INJECTED_PHI["nested_name"] in text]
    assert paths and "[0]." in paths[0]


@pytest.mark.parametrize("options, keyword", [
    (DeidOptions(retain_uids=True), "StudyInstanceUID"),
    (DeidOptions(retain_device_identity=True), "StationName"),
    (DeidOptions(retain_institution_identity=True), "InstitutionName"),
    (DeidOptions(retain_patient_characteristics=True), "PatientSex"),
    (DeidOptions(dates="full"), "StudyDate"),
])
def test_each_retain_option_keeps_its_elements_and_is_recorded(options, keyword):
    original = read(pydicom_file("rtplan.dcm" if keyword == "StationName" else "CT_small.dcm"))
    path = pydicom_file("rtplan.dcm" if keyword == "StationName" else "CT_small.dcm")
    _, result, output = _deidentify(path, options)
    kept = str(getattr(output, keyword)) == str(getattr(original, keyword))   # bools: failures print no value
    assert kept, f"{keyword} not kept"
    _, _, basic = _deidentify(path)
    changed = str(basic.get(keyword)) != str(original.get(keyword))
    assert changed, f"{keyword} kept without the option"
    assert len(result.method_codes) == 2


def test_retain_safe_private_keeps_only_listed_numeric_private_elements(tmp_path):
    ds = read(pydicom_file("CT_small.dcm"))
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0C, "IS", "1000")                                  # B_value: on the safe list
    block.add_new(0x0E, "LO", "Zquivelda")                             # listed offset, but text: removed
    block.add_new(0x08, "LO", "Zquivelda 2")                           # not on the list: removed
    path = tmp_path / "siemens.dcm"
    ds.save_as(path)
    _, _, output = _deidentify(path, DeidOptions(retain_safe_private=True))
    private = {int(e.tag): e.value for e in output if e.tag.is_private}
    creator_tag = next(tag for tag, value in private.items() if value == "SIEMENS MR HEADER")
    assert set(private) == {creator_tag, (creator_tag & 0xFFFF0000) | ((creator_tag & 0xFF) << 8) | 0x0C}
    _, _, basic = _deidentify(path)
    assert not [e for e in basic if e.tag.is_private]


def test_clean_structured_content_cleans_sr_text_with_the_cleaner():
    options = DeidOptions(clean_structured_content=True)
    data, result = deidentify_file(pydicom_file("test-SR.dcm"), options, TEST_KEYRING, lambda text: "[cleaned]")
    texts = [e.value for e in reread(data).iterall() if e.keyword == "TextValue"]
    assert texts and set(texts) == {"[cleaned]"}
    assert "113104" in result.method_codes
    _, _, basic = _deidentify(pydicom_file("test-SR.dcm"))
    assert {e.value for e in basic.iterall() if e.keyword == "TextValue"} == {"REDACTED"}


def test_the_pixel_step_can_add_clean_pixel_data_to_the_record():
    from transforms.deid.record import add_clean_pixel_data

    result = deidentify_dataset(read(pydicom_file("CT_small.dcm")), DeidOptions(), TEST_KEYRING)
    add_clean_pixel_data(result.dataset)
    add_clean_pixel_data(result.dataset)                                # idempotent
    output = reread(write_dataset(result.dataset))
    codes = [item.CodeValue for item in output.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113101"]
    assert "Clean Pixel Data Option" in list(output.DeidentificationMethod)


def test_a_retained_code_sequence_keeps_its_local_codes(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = read(pydicom_file("CT_small.dcm"))
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "H042", "99SMALLBURY", "Smallbury General"
    ds.InstitutionCodeSequence = Sequence([code])
    path = tmp_path / "institution.dcm"
    ds.save_as(path)
    _, _, kept = _deidentify(path, DeidOptions(retain_institution_identity=True))
    item = kept.InstitutionCodeSequence[0]
    assert (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning) == ("H042", "99SMALLBURY", "Smallbury General")
    data, _, basic = _deidentify(path)
    assert not leak_paths(["H042", "99SMALLBURY", "Smallbury General"], basic, data)
