"""The header-leak check: dictionary matches in text elements count; public UIDs and code strings do not."""

from __future__ import annotations

import copy

import pydicom
from pydicom.data import get_testdata_file

from transforms.deid import DeidOptions
from transforms.deid.header import deidentify_dataset
from transforms.keyring import Keyring
from transforms.leakage import (count_uid_survivors, header_leaks, identified_dictionary, original_uids,
                                profile_kept_values)
from transforms.metadata import flatten_elements
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer


def _deidentified(name: str, options: DeidOptions = DeidOptions()) -> tuple[pydicom.Dataset, PhiDictionary]:
    source = pydicom.dcmread(get_testdata_file(name))
    rows, _ = flatten_elements(copy.deepcopy(source))
    deidentify_dataset(source, options, Keyring.from_env())
    return source, identified_dictionary(rows, options)


def test_public_uids_and_code_strings_are_not_header_leaks():
    # pydicom's SR sample has a name part "SR" (the Modality) and the overlay sample a value equal to its
    # SOP Class UID: both once quarantined their files.
    for name in ("test-SR.dcm", "examples_overlay.dcm"):
        ds, dictionary = _deidentified(name)
        assert header_leaks(ds, dictionary, PhiRecognizer()) == [], name


def test_a_name_left_in_a_text_element_is_a_leak():
    ds, dictionary = _deidentified("CT_small.dcm")
    assert header_leaks(ds, dictionary, PhiRecognizer()) == []
    original = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add_new(0x00204000, "LT", f"seen by {original.PatientName.family_name}")     # Image Comments
    ds.add_new(0x00180015, "CS", "CHEST")                                            # a code string stays out
    assert header_leaks(ds, dictionary, PhiRecognizer()) == ["00204000"]


def _kept(name: str, options: DeidOptions = DeidOptions()) -> dict:
    rows, _ = flatten_elements(pydicom.dcmread(get_testdata_file(name)))
    return profile_kept_values(rows, options)


def test_kept_device_attributes_and_derived_numbers_are_not_leaks():
    # MR_small: InstitutionName "TOSHIBA" inside the kept Manufacturer "TOSHIBA_MEC", and the dummy
    # time "000000" one digit from DeviceSerialNumber "-0000200"; rtplan: InstitutionName "Here" inside
    # "Manufacturer name here". Both quarantined every copy of these files before.
    for name in ("MR_small.dcm", "rtplan.dcm"):
        ds, dictionary = _deidentified(name)
        assert header_leaks(ds, dictionary, PhiRecognizer(), _kept(name)) == [], name


def test_a_date_shifted_to_one_digit_from_the_identified_one_is_not_a_leak():
    dictionary = PhiDictionary.from_header_elements([("StudyDate", "DA", "20230115", "00080020")])
    ds = pydicom.Dataset()
    ds.StudyDate = "20230105"                       # shifted by -10 days: one digit changed
    assert header_leaks(ds, dictionary, PhiRecognizer()) == []
    ds.ContentDate = "20230115"
    assert header_leaks(ds, dictionary, PhiRecognizer()) == ["00080023"]


def test_a_person_in_a_kept_attribute_and_a_site_in_its_own_element_are_still_leaks():
    source = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    source.Manufacturer = f"TOSHIBA_MEC {source.PatientID}"   # a modality that writes the patient ID there
    rows, _ = flatten_elements(source)
    kept = profile_kept_values(rows, DeidOptions())
    dictionary = PhiDictionary.from_header_elements(rows)
    institution = source.InstitutionName
    deidentify_dataset(source, DeidOptions(), Keyring.from_env())
    assert source.Manufacturer == kept["00080070"].value     # kept unchanged, and still a leak
    source.InstitutionName = institution                      # a removal that did not happen
    assert header_leaks(source, dictionary, PhiRecognizer(), kept) == ["00080070", "00080080"]


def test_a_date_kept_by_an_option_may_equal_a_removed_one_but_may_not_spell_an_id():
    full_dates = DeidOptions.from_names(["dates=full"])
    # JPEG2000.dcm: a private date (removed) equals the SeriesDate the Full Dates option keeps.
    ds, dictionary = _deidentified("JPEG2000.dcm", full_dates)
    assert header_leaks(ds, dictionary, PhiRecognizer(), _kept("JPEG2000.dcm", full_dates)) == []
    # examples_palette.dcm: PatientID "11-05-25-142825" holds the StudyTime the option keeps.
    ds, dictionary = _deidentified("examples_palette.dcm", full_dates)
    assert "00080030" in header_leaks(ds, dictionary, PhiRecognizer(), _kept("examples_palette.dcm", full_dates))


def test_a_degenerate_uid_is_not_searched_but_a_real_one_is():
    # reportsi.dcm holds a UI value "0": searched as a substring it matched nearly every output text.
    rows, _ = flatten_elements(pydicom.dcmread(get_testdata_file("reportsi.dcm")))
    ds, _ = _deidentified("reportsi.dcm")
    uids = original_uids(rows)
    assert "0" not in uids and count_uid_survivors(ds, uids) == 0
    original = pydicom.dcmread(get_testdata_file("reportsi.dcm"))
    ds.add_new(0x00204000, "LT", f"see {original.StudyInstanceUID}")
    assert count_uid_survivors(ds, uids) == 1
