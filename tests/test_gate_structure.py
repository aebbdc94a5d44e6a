"""The gate's structure check runs dciodvfy on the candidate and its input: an error kind the input did
not have holds the file; the kinds it records hold no value; a missing dciodvfy has a configured outcome."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.conftest import pydicom_file
from tests.test_deid_support import TEST_KEYRING
from transforms.deid import DeidOptions, deidentify_file
from transforms.leakage import Expected, added_validity_errors, header_promise, measure_candidate
from transforms.metadata import flatten_elements
from transforms.phi.recognizer import PhiRecognizer


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    """A real CT with a Referenced Study Sequence, and its de-identified output."""
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    study = Dataset()
    study.ReferencedSOPClassUID, study.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", ds.StudyInstanceUID
    ds.ReferencedStudySequence = Sequence([study])
    source, output = tmp_path / "in.dcm", tmp_path / "out.dcm"
    ds.save_as(source)
    output.write_bytes(deidentify_file(source, DeidOptions(), TEST_KEYRING)[0])
    return source, output


def _rewrite(path: Path, change) -> None:
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)


def test_an_output_with_no_new_error_passes(pair):
    source, output = pair
    assert added_validity_errors(str(source), str(output)) == []


def test_an_empty_type_3_sequence_is_an_added_error(pair):
    source, output = pair
    _rewrite(output, lambda ds: setattr(ds, "ReferencedStudySequence", Sequence([])))
    problems = added_validity_errors(str(source), str(output))
    assert problems and all(p.startswith("dciodvfy:") for p in problems)
    assert any("ReferencedStudySequence" in p for p in problems)


def test_error_kinds_hold_no_value(pair):
    source, output = pair
    name = str(pydicom.dcmread(source).PatientName.family_name)
    _rewrite(output, lambda ds: setattr(ds, "StudyDate", f"{name}X"))       # "value invalid for this VR"
    problems = added_validity_errors(str(source), str(output))
    assert any("Study Date" in p for p in problems)
    assert not any(name.lower() in p.lower() for p in problems), "a value was kept in an error kind"


def test_a_missing_dciodvfy_holds_every_file_or_is_skipped_as_configured(pair, monkeypatch):
    source, output = pair
    _rewrite(output, lambda ds: setattr(ds, "ReferencedStudySequence", Sequence([])))
    assert added_validity_errors(str(source), str(output), "off") == []
    monkeypatch.setenv("PATH", "")                                         # dicom3tools not installed
    assert added_validity_errors(str(source), str(output), "required") == ["dciodvfy_not_installed"]
    assert added_validity_errors(str(source), str(output), "when_installed") == []
    with pytest.raises(ValueError):
        added_validity_errors(str(source), str(output), "sometimes")


def test_the_structure_check_fails_a_candidate_that_adds_an_error(pair):
    source, output = pair
    rows, _ = flatten_elements(pydicom.dcmread(source))
    promise = header_promise(rows, DeidOptions())
    original = pydicom.dcmread(source)
    expected = Expected(original.Rows, original.Columns, 1, original.SOPClassUID,
                        str(pydicom.dcmread(output).file_meta.TransferSyntaxUID), str(source))
    clean = measure_candidate(str(output), promise, expected, PhiRecognizer())
    assert clean.structure_ok and clean.failed_checks() == []
    _rewrite(output, lambda ds: setattr(ds, "ReferencedStudySequence", Sequence([])))
    broken = measure_candidate(str(output), promise, expected, PhiRecognizer())
    assert not broken.structure_ok and "structure" in broken.failed_checks()
