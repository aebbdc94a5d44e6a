"""One table for the header step and the gate: the plan read from a file's element rows says, for every
element, what the header step then does to it; and a sequence the IOD does not require is removed
where the profile would leave it empty."""

from __future__ import annotations

import copy

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.conftest import pydicom_file
from tests.test_deid_support import TEST_KEYRING, dciodvfy_errors, vendor_header
from transforms.deid import DeidOptions, deidentify_file
from transforms.deid.header import deidentify_dataset
from transforms.deid.plan import Fate, plan_elements
from transforms.deid.sequence_types import required_where_it_stands
from transforms.metadata import flatten_elements

FILES = ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "rtplan.dcm", "waveform_ecg.dcm", "liver_1frame.dcm",
         "JPEG2000.dcm", "examples_ybr_color.dcm", "nested_priv_SQ.dcm"]
OPTION_SETS = {
    "basic": (DeidOptions(), None),
    "all_options": (DeidOptions(retain_safe_private=True, retain_device_identity=True, dates="shift",
                                retain_patient_characteristics=True, clean_descriptors=True,
                                clean_structured_content=True, clean_graphics=True), str.upper),
    "retain_uids_full_dates": (DeidOptions(retain_uids=True, dates="full", retain_institution_identity=True), None),
}
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def _dataset(name: str) -> Dataset:
    if name == "vendor":
        return vendor_header()
    ds = pydicom.dcmread(pydicom_file(name))
    if "PatientID" not in ds:
        ds.PatientID = "PLAN-TEST"        # nested_priv_SQ has none: the header step needs a patient key
    return ds


@pytest.mark.parametrize("options_name", sorted(OPTION_SETS))
@pytest.mark.parametrize("name", FILES + ["vendor"])
def test_the_plan_is_what_the_header_step_does(name, options_name):
    options, cleaner = OPTION_SETS[options_name]
    ds = _dataset(name)
    rows, _ = flatten_elements(copy.deepcopy(ds))
    result = deidentify_dataset(ds, options, TEST_KEYRING, cleaner, audit_all=True)
    plan = plan_elements(rows, options, cleaner is not None)
    assert set(plan) == {row["element_path"] for row in rows}
    differing = [(row["element_path"], row["action"], plan[row["element_path"]].action)
                 for row in result.audit if plan[row["element_path"]].action != row["action"]]
    assert not differing
    after = {row["element_path"]: row["value"] for row in flatten_elements(result.dataset)[0]}
    before = {row["element_path"]: row["value"] for row in rows}
    kept_as_read = [path for path, decision in plan.items() if decision.fate is Fate.KEEP
                    and before[path] is not None and path != "00020000"]      # (group length: recomputed)
    assert [path for path in kept_as_read if after.get(path) != before[path]] == []


def test_the_plan_reads_rows_without_their_sequence_rows():
    """The gate reads only rows with a value: a sequence's decision comes from the paths."""
    ds = vendor_header()
    rows, _ = flatten_elements(ds)
    full = plan_elements(rows, DeidOptions())
    valued = [row for row in rows if row["value"] is not None]
    assert len(valued) < len(rows)
    assert plan_elements(valued, DeidOptions()) == {row["element_path"]: full[row["element_path"]] for row in valued}


def _with_referenced_study(name: str) -> Dataset:
    ds = pydicom.dcmread(pydicom_file(name))
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = ds.StudyInstanceUID
    ds.ReferencedStudySequence = Sequence([study])
    return ds


@pytest.mark.parametrize("name", ["examples_ybr_color.dcm", "CT_small.dcm"])
def test_a_type_3_sequence_the_profile_empties_is_removed_and_adds_no_dciodvfy_error(tmp_path, name):
    source = tmp_path / "in.dcm"
    _with_referenced_study(name).save_as(source)
    data, result = deidentify_file(source, DeidOptions(), TEST_KEYRING)
    output = tmp_path / "out.dcm"
    output.write_bytes(data)
    assert "ReferencedStudySequence" not in pydicom.dcmread(output)
    assert {"00081110": "X:optional_sequence"}.items() <= {r["element_path"]: r["action"] for r in result.audit}.items()
    new = dciodvfy_errors(output) - dciodvfy_errors(source)
    assert not new, f"{len(new)} new dciodvfy error(s): {sorted(new)}"


def test_a_sequence_the_iod_requires_stays_empty():
    # ECG: Acquisition Context Sequence is Type 2 (its X/Z resolves to an empty sequence, as before);
    # SR: Referenced Study Sequence is Type 2 inside Referenced Request Sequence, Type 3 at the top.
    ecg = pydicom.dcmread(pydicom_file("waveform_ecg.dcm"))
    deidentify_dataset(ecg, DeidOptions(), TEST_KEYRING)
    assert "AcquisitionContextSequence" in ecg and len(ecg.AcquisitionContextSequence) == 0
    assert required_where_it_stands(COMPREHENSIVE_SR, ("ReferencedRequestSequence",), "ReferencedStudySequence")
    assert not required_where_it_stands(COMPREHENSIVE_SR, (), "ReferencedStudySequence")
    assert not required_where_it_stands(US_IMAGE, (), "ReferencedStudySequence")
    sr = _with_referenced_study("test-SR.dcm")
    request = Dataset()
    request.StudyInstanceUID = sr.StudyInstanceUID
    request.ReferencedStudySequence = copy.deepcopy(sr.ReferencedStudySequence)
    sr.ReferencedRequestSequence = Sequence([request])
    deidentify_dataset(sr, DeidOptions(), TEST_KEYRING)
    assert "ReferencedStudySequence" not in sr
    assert len(sr.ReferencedRequestSequence[0].ReferencedStudySequence) == 0
