"""Pseudonyms, UIDs and date shifts are functions of the secret and the value: the same patient in two
files or two batches gets the same values, and every reference still resolves."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from tests.conftest import pydicom_file
from tests.test_deid_support import OTHER_KEYRING, TEST_KEYRING, read, reread
from transforms.keyring import Keyring
from transforms.deid import DeidOptions, deidentify_dataset, write_dataset
from transforms.deid.pseudonyms import (audit_hash, date_shift_days, keyed_digest, new_uid, patient_pseudonym)

SHIFT = DeidOptions(dates="shift")


def _study_of_two(tmp_path):
    """Two instances of one study: the second references the first (image, source, frame of reference)."""
    first = read(pydicom_file("CT_small.dcm"))
    second = read(pydicom_file("CT_small.dcm"))
    second.SOPInstanceUID = generate_uid(entropy_srcs=["second"])
    second.file_meta.MediaStorageSOPInstanceUID = second.SOPInstanceUID
    reference = Dataset()
    reference.ReferencedSOPClassUID = first.SOPClassUID
    reference.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = Sequence([reference])
    source = Dataset()
    source.ReferencedSOPClassUID = first.SOPClassUID
    source.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.SourceImageSequence = Sequence([source])
    return first, second


def _run(ds, options=SHIFT, keyring=TEST_KEYRING):
    result = deidentify_dataset(ds, options, keyring)
    return result, reread(write_dataset(result.dataset))


def test_same_patient_same_pseudonym_study_uid_and_shift(tmp_path):
    first, second = _study_of_two(tmp_path)
    result_a, out_a = _run(first)
    result_b, out_b = _run(second)
    assert result_a.patient_pseudonym == result_b.patient_pseudonym == out_a.PatientID == out_b.PatientID
    assert result_a.date_shift_days == result_b.date_shift_days
    assert out_a.StudyInstanceUID == out_b.StudyInstanceUID
    assert out_a.SeriesInstanceUID == out_b.SeriesInstanceUID
    assert out_a.FrameOfReferenceUID == out_b.FrameOfReferenceUID
    assert out_a.SOPInstanceUID != out_b.SOPInstanceUID
    assert out_a.StudyDate == out_b.StudyDate


def test_references_resolve_to_the_referenced_instance(tmp_path):
    first, second = _study_of_two(tmp_path)
    _, out_a = _run(first)
    _, out_b = _run(second)
    assert out_b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == out_a.SOPInstanceUID
    assert out_b.SourceImageSequence[0].ReferencedSOPInstanceUID == out_a.SOPInstanceUID
    assert out_b.ReferencedImageSequence[0].ReferencedSOPClassUID == first.SOPClassUID   # class kept


def test_references_inside_one_file_stay_consistent():
    original = read(pydicom_file("test-SR.dcm"))
    _, output = _run(read(pydicom_file("test-SR.dcm")))
    predecessor = output.PredecessorDocumentsSequence[0]
    assert predecessor.StudyInstanceUID == output.StudyInstanceUID
    assert predecessor.ReferencedSeriesSequence[0].SeriesInstanceUID == output.SeriesInstanceUID
    referenced = [e.value for e in output.iterall() if e.keyword == "ReferencedSOPInstanceUID"]
    originals = [e.value for e in original.iterall() if e.keyword == "ReferencedSOPInstanceUID"]
    assert len(referenced) == len(originals) and len(set(referenced)) == len(set(originals))
    assert referenced == [new_uid(TEST_KEYRING, uid) for uid in originals]


def test_the_same_file_in_two_batches_gives_identical_output():
    first = write_dataset(deidentify_dataset(read(pydicom_file("rtplan.dcm")), SHIFT, TEST_KEYRING).dataset)
    again = write_dataset(deidentify_dataset(read(pydicom_file("rtplan.dcm")), SHIFT, TEST_KEYRING).dataset)
    assert first == again


def test_uid_map_is_keyed_hash_to_new_uid():
    original = read(pydicom_file("CT_small.dcm"))
    result, output = _run(read(pydicom_file("CT_small.dcm")))
    key = audit_hash(TEST_KEYRING, str(original.StudyInstanceUID))
    assert result.uid_map[key] == output.StudyInstanceUID
    absent = str(original.StudyInstanceUID) not in repr(result.uid_map)     # a bool: no UID printed
    assert absent, "an original UID is in the UID map"


def test_different_secrets_give_different_pseudonyms_uids_and_shifts():
    result_a, out_a = _run(read(pydicom_file("CT_small.dcm")), keyring=TEST_KEYRING)
    result_b, out_b = _run(read(pydicom_file("CT_small.dcm")), keyring=OTHER_KEYRING)
    assert result_a.patient_pseudonym != result_b.patient_pseudonym
    assert out_a.StudyInstanceUID != out_b.StudyInstanceUID
    shifts = {date_shift_days(keyring, f"patient-{n}") for n in range(20) for keyring in (TEST_KEYRING,)}
    assert len(shifts) > 10 and all(-365 <= s <= -1 for s in shifts)


def test_empty_patient_id_is_keyed_by_study_never_merged():
    ds = read(pydicom_file("CT_small.dcm"))
    ds.PatientID = ""
    other = read(pydicom_file("CT_small.dcm"))
    other.PatientID = ""
    other.StudyInstanceUID = generate_uid(entropy_srcs=["another study"])
    result_a, out_a = _run(ds)
    result_b, _ = _run(other)
    assert result_a.patient_key_source == "StudyInstanceUID"
    assert result_a.patient_pseudonym != result_b.patient_pseudonym
    assert out_a.PatientID == result_a.patient_pseudonym


@pytest.mark.parametrize("value", ["MRN-1", "Ægir", "", "x" * 200, b"\x00\xff raw bytes"])
def test_fast_hmac_equals_the_keyring(value):
    long_key = Keyring(b"k" * 100)                                   # longer than a SHA-256 block
    for keyring in (TEST_KEYRING, OTHER_KEYRING, long_key):
        for purpose in ("uid", "audit", "PatientID"):
            assert keyed_digest(keyring, purpose, value) == keyring.digest(purpose, value)
    if isinstance(value, bytes):
        return
    assert patient_pseudonym(TEST_KEYRING, value) == "P" + TEST_KEYRING.hexdigest("PatientID", value, 19).upper()


def test_uids_are_valid_2_25_uids():
    uid = new_uid(TEST_KEYRING, "1.2.3.4")
    assert uid.startswith("2.25.") and len(uid) <= 64 and not uid[5:].startswith("0")
    assert uid == new_uid(TEST_KEYRING, "1.2.3.4\x00")                # padding is not part of the UID


def test_a_non_ascii_patient_id_is_keyed_on_its_text_not_its_bytes(tmp_path):
    """The same patient ID written in two character sets gives one pseudonym."""
    utf8 = read(pydicom_file("CT_small.dcm"))
    utf8.SpecificCharacterSet = "ISO_IR 192"
    utf8.PatientID = "Jérôme-42"
    latin1 = read(pydicom_file("CT_small.dcm"))
    latin1.SpecificCharacterSet = "ISO_IR 100"
    latin1.PatientID = "Jérôme-42"
    pseudonyms = set()
    for index, ds in enumerate((utf8, latin1)):
        path = tmp_path / f"{index}.dcm"
        ds.save_as(path)
        pseudonyms.add(deidentify_dataset(read(path), SHIFT, TEST_KEYRING).patient_pseudonym)
    assert pseudonyms == {patient_pseudonym(TEST_KEYRING, "Jérôme-42")}
