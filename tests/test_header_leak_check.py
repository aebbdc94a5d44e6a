"""The gate's header checks judge the output against what the header step promises (one table): the
values the profile removes or replaces must be gone, the UIDs it replaces must not survive anywhere; what
it keeps (class UIDs, dummies, kept times, a vendor's model name) is not a leak."""

from __future__ import annotations

import copy

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from tests.test_deid_support import (REPLACED_UIDS, SNOMED_SCHEME_UID, TEST_KEYRING, VENDOR_CLASS_UID,
                                     vendor_header)
from transforms.deid import DeidOptions
from transforms.deid.file_meta import IMPLEMENTATION_CLASS_UID
from transforms.deid.header import deidentify_dataset
from transforms.leakage import HeaderPromise, count_uid_survivors, header_leaks, header_promise
from transforms.metadata import flatten_elements
from transforms.phi.recognizer import PhiRecognizer


def _deidentified(source: Dataset, options: DeidOptions = DeidOptions()) -> tuple[Dataset, HeaderPromise]:
    rows, _ = flatten_elements(copy.deepcopy(source))
    deidentify_dataset(source, options, TEST_KEYRING)
    return source, header_promise(rows, options)


def _pydicom(name: str) -> Dataset:
    return pydicom.dcmread(get_testdata_file(name))


# ------------------------------------------------------------------------------------------------ UIDs

def test_only_the_uids_the_profile_replaces_are_searched():
    source = vendor_header()
    original = copy.deepcopy(source)
    ds, promise = _deidentified(source)
    replaced = {original.SOPInstanceUID, original.StudyInstanceUID, original.SeriesInstanceUID,
                original.FrameOfReferenceUID, original.file_meta.MediaStorageSOPInstanceUID, *REPLACED_UIDS.values()}
    assert replaced <= promise.uids
    kept = {VENDOR_CLASS_UID, SNOMED_SCHEME_UID, original.SOPClassUID, original.file_meta.ImplementationClassUID,
            original.file_meta.TransferSyntaxUID, "1.2.840.10008.6.1.308", "1.2.840.10008.8.1.1"}
    assert not kept & promise.uids
    # The class, implementation, coding scheme and context group UIDs survive (kept by the profile): no hold.
    assert count_uid_survivors(ds, promise.uids) == 0
    assert VENDOR_CLASS_UID in {str(item.ReferencedSOPClassUID) for item in ds.ReferencedImageSequence}


def test_a_vendor_class_as_the_files_own_class_is_not_held():
    source = vendor_header()
    source.SOPClassUID = source.file_meta.MediaStorageSOPClassUID = VENDOR_CLASS_UID
    ds, promise = _deidentified(source)
    assert str(ds.SOPClassUID) == VENDOR_CLASS_UID and count_uid_survivors(ds, promise.uids) == 0


def test_a_file_deidlake_wrote_before_is_not_held_for_its_implementation_uid():
    source = vendor_header()
    source.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID       # gold of another lake, re-run
    ds, promise = _deidentified(source)
    assert count_uid_survivors(ds, promise.uids) == 0


def test_a_surviving_instance_uid_fails_in_any_element_nested_or_private():
    original = vendor_header()
    plants = {
        "private": lambda ds: ds.private_block(0x0031, "PLANTED", create=True).add_new(0x01, "UI",
                                                                                      original.SOPInstanceUID),
        "nested text": lambda ds: ds.ReferencedImageSequence[0].add_new(
            0x00204000, "LT", f"from {REPLACED_UIDS['ReferencedSOPInstanceUID']}"),
        "nested UID": lambda ds: setattr(ds.ReferencedPerformedProcedureStepSequence[0], "ReferencedSOPInstanceUID",
                                         REPLACED_UIDS["ReferencedStepInstance"]),
        "frame of reference": lambda ds: setattr(ds, "FrameOfReferenceUID", original.FrameOfReferenceUID),
        "irradiation event": lambda ds: setattr(ds, "IrradiationEventUID", REPLACED_UIDS["IrradiationEventUID"]),
        "file-set": lambda ds: ds.add_new(0x00204000, "LT", REPLACED_UIDS["StorageMediaFileSetUID"]),
        "file meta": lambda ds: setattr(ds.file_meta, "MediaStorageSOPInstanceUID", original.SOPInstanceUID),
    }
    for where, plant in plants.items():
        ds, promise = _deidentified(copy.deepcopy(original))
        assert count_uid_survivors(ds, promise.uids) == 0, where
        plant(ds)
        assert count_uid_survivors(ds, promise.uids) >= 1, where


def test_retain_uids_searches_nothing_and_a_degenerate_uid_is_never_searched():
    _, promise = _deidentified(vendor_header(), DeidOptions(retain_uids=True))
    assert promise.uids == frozenset()
    # reportsi.dcm holds a UI value "0": searched as a substring it matched nearly every output text.
    original = _pydicom("reportsi.dcm")
    ds, promise = _deidentified(copy.deepcopy(original))
    assert "0" not in promise.uids and count_uid_survivors(ds, promise.uids) == 0
    ds.add_new(0x00204000, "LT", f"see {original.StudyInstanceUID}")
    assert count_uid_survivors(ds, promise.uids) == 1


# --------------------------------------------------------------------------------------- header values

def test_public_uids_and_code_strings_are_not_header_leaks():
    # pydicom's SR sample has a name part "SR" (the Modality) and the overlay sample a value equal to its
    # SOP Class UID: both once quarantined their files.
    for name in ("test-SR.dcm", "examples_overlay.dcm"):
        ds, promise = _deidentified(_pydicom(name))
        assert header_leaks(ds, promise, PhiRecognizer()) == [], name


def test_a_name_left_in_a_text_element_is_a_leak():
    original = _pydicom("CT_small.dcm")
    ds, promise = _deidentified(copy.deepcopy(original))
    assert header_leaks(ds, promise, PhiRecognizer()) == []
    ds.add_new(0x00204000, "LT", f"seen by {original.PatientName.family_name}")     # Image Comments
    ds.add_new(0x00180015, "CS", "CHEST")                                            # a code string stays out
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00204000"]


def test_kept_device_attributes_and_derived_numbers_are_not_leaks():
    # MR_small: InstitutionName "TOSHIBA" inside the kept Manufacturer "TOSHIBA_MEC", and the dummy
    # time "000000" one digit from DeviceSerialNumber "-0000200"; rtplan: InstitutionName "Here" inside
    # "Manufacturer name here". Both quarantined every copy of these files before.
    for name in ("MR_small.dcm", "rtplan.dcm"):
        ds, promise = _deidentified(_pydicom(name))
        assert header_leaks(ds, promise, PhiRecognizer()) == [], name


def test_a_date_shifted_to_one_digit_from_the_identified_one_is_not_a_leak():
    rows = [{"element_path": "00080020", "tag": "00080020", "keyword": "StudyDate", "vr": "DA", "value": "20230115"}]
    promise = header_promise(rows, DeidOptions())
    ds = pydicom.Dataset()
    ds.StudyDate = "20230105"                       # shifted by -10 days: one digit changed
    assert header_leaks(ds, promise, PhiRecognizer()) == []
    ds.ContentDate = "20230115"
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00080023"]


def test_a_person_in_a_kept_attribute_and_a_site_in_its_own_element_are_still_leaks():
    source = _pydicom("MR_small.dcm")
    source.Manufacturer = f"TOSHIBA_MEC {source.PatientID}"   # a modality that writes the patient ID there
    institution = source.InstitutionName
    ds, promise = _deidentified(source)
    assert ds.Manufacturer == promise.kept["00080070"].value     # kept unchanged, and still a leak
    ds.InstitutionName = institution                              # a removal that did not happen
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00080070", "00080080"]


def test_a_date_kept_by_an_option_may_equal_a_removed_one_but_may_not_spell_an_id():
    full_dates = DeidOptions.from_names(["dates=full"])
    # JPEG2000.dcm: a private date (removed) equals the SeriesDate the Full Dates option keeps.
    ds, promise = _deidentified(_pydicom("JPEG2000.dcm"), full_dates)
    assert header_leaks(ds, promise, PhiRecognizer()) == []
    # examples_palette.dcm: PatientID "11-05-25-142825" holds the StudyTime the option keeps.
    ds, promise = _deidentified(_pydicom("examples_palette.dcm"), full_dates)
    assert "00080030" in header_leaks(ds, promise, PhiRecognizer())


def _ultrasound() -> Dataset:
    """pydicom's SonoSite ultrasound still, with a header as ultrasound systems write it: the vendor's
    word as the station name, a "<Vendor> Ultrasound Imaging System" model, a birth time of "000000"."""
    ds = _pydicom("examples_ybr_color.dcm")
    ds.ManufacturerModelName = "SonoSite Ultrasound Imaging System"
    ds.StationName = "SONOSITE"
    ds.PatientBirthTime = "000000"
    ds.SeriesTime, ds.ContentTime, ds.InstanceCreationTime = "092512", "092640", "092641"
    ds.PatientBirthDate = "20120930"
    return ds


def test_an_ultrasound_model_name_sharing_the_vendor_word_with_the_station_is_not_a_leak():
    for options in (DeidOptions(), DeidOptions(dates="full"), DeidOptions(dates="shift")):
        ds, promise = _deidentified(_ultrasound(), options)
        assert ds.ManufacturerModelName == "SonoSite Ultrasound Imaging System"
        assert header_leaks(ds, promise, PhiRecognizer()) == [], options.names


def test_a_person_or_the_station_outside_a_kept_element_still_leaks():
    original = _ultrasound()
    ds, promise = _deidentified(copy.deepcopy(original))
    ds.ManufacturerModelName = f"SonoSite Ultrasound Imaging System {original.PatientName.family_name}"
    ds.add_new(0x00204000, "LT", f"station {original.StationName}")
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00081090", "00204000"]


def test_the_times_the_header_step_writes_or_keeps_are_not_leaks():
    # Basic Profile: Series/Content/Instance Creation Time get the dummy "000000", which equals the
    # removed birth time; Full Dates: they are kept, and "092512" is not the removed birth date's
    # "09/25/12"-style rendering of anything the profile promised to remove.
    ds, promise = _deidentified(_ultrasound())
    assert (ds.SeriesTime, ds.ContentTime, ds.InstanceCreationTime) == ("000000",) * 3
    assert header_leaks(ds, promise, PhiRecognizer()) == []
    ultrasound = _ultrasound()
    ultrasound.SeriesTime = "093012"                   # the digits of the birth date 2012-09-30 as 09/30/12
    ds, promise = _deidentified(ultrasound, DeidOptions(dates="full"))
    assert ds.SeriesTime == "093012" and header_leaks(ds, promise, PhiRecognizer()) == []


def test_a_removed_time_or_date_written_elsewhere_still_leaks():
    original = _ultrasound()
    ds, promise = _deidentified(copy.deepcopy(original))
    ds.add_new(0x00204000, "LT", f"acquired {original.SeriesTime}")        # a real time, not the dummy
    ds.add_new(0x00081030, "LO", "born 09/30/2012")                         # Study Description
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00081030", "00204000"]


def test_typed_header_text_matches_letter_for_letter():
    # An operator "Phillips" is not the vendor "Philips" of the kept Manufacturer: header text is typed,
    # so a name part matches whole and exact (the realistic corpus held a Philips file for this).
    source = _pydicom("CT_small.dcm")
    source.Manufacturer, source.OperatorsName = "Philips Medical Systems", "Phillips^Sarah^J"
    ds, promise = _deidentified(source)
    assert header_leaks(ds, promise, PhiRecognizer()) == []
    ds.Manufacturer = "Phillips Medical Systems"          # the operator's own family name: a leak
    assert header_leaks(ds, promise, PhiRecognizer()) == ["00080070"]
