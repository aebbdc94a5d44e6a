"""The header-leak check: dictionary matches in text elements count; public UIDs and code strings do not."""

from __future__ import annotations

import copy

import pydicom
from pydicom.data import get_testdata_file

from transforms.deid import DeidOptions
from transforms.deid.header import deidentify_dataset
from transforms.keyring import Keyring
from transforms.leakage import header_leaks
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer


def _deidentified(name: str) -> tuple[pydicom.Dataset, PhiDictionary]:
    source = pydicom.dcmread(get_testdata_file(name))
    dictionary = PhiDictionary.from_dataset(copy.deepcopy(source))
    deidentify_dataset(source, DeidOptions(), Keyring.from_env())
    return source, dictionary


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
