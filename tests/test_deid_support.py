"""Helpers for the de-identification tests: real files, injected PHI, leak search, dciodvfy.

No test here; other test_deid_* modules import these. Every helper reports element paths and counts,
never values, so a failing assertion cannot print PHI.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.conftest import PYDICOM_FILES, pydicom_file
from transforms.dciodvfy import dciodvfy_available, error_kinds  # noqa: F401 - re-exported to tests
from transforms.keyring import Keyring

CHARSET_FILES = PYDICOM_FILES.parent / "charset_files"
TEST_KEYRING = Keyring(b"deidlake-unit-test-secret-0123456789")
OTHER_KEYRING = Keyring(b"deidlake-unit-test-other-secret-9876")

# Values written by the tests into datasets: each must vanish from every output.
INJECTED_PHI = {
    "patient_name": "Marpletonia^Zquivelda",
    "patient_id": "MRN-99887766",
    "birth_date": "19610723",
    "address": "42 Quarrington Lane, Smallbury",
    "unlisted_text": "Seen by Dr Hollowmere",
    "private_text": "Zquivelda private note",
    "nested_name": "Ostrowiak^Bellamira",
    "overlay_text": "Overlay says Zquivelda",
    "curve_text": "Curve label Marpletonia",
    "accession": "ACC-55443322",
    "institution": "Hospital of Smallbury",
    "meta_ae": "SMALLBURY_CT1",
    "study_date": "20190314",
    "text_date": "scan 03/14/2019",
    "utf8_name": "Ægirdóttir^Þórunn",
}


def read(path: str | Path) -> Dataset:
    return pydicom.dcmread(str(path))


def reread(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def phi_dataset() -> Dataset:
    """CT_small with PHI injected where tools commonly miss it (unlisted, private, nested, overlay,
    curve, file meta, free text), plus a non-ASCII name in UTF-8."""
    ds = read(pydicom_file("CT_small.dcm"))
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = INJECTED_PHI["utf8_name"]
    ds.OtherPatientNames = INJECTED_PHI["patient_name"]
    ds.PatientID = INJECTED_PHI["patient_id"]
    ds.PatientBirthDate = INJECTED_PHI["birth_date"]
    ds.PatientAddress = INJECTED_PHI["address"]
    ds.AccessionNumber = INJECTED_PHI["accession"]
    ds.InstitutionName = INJECTED_PHI["institution"]
    ds.StudyDate = INJECTED_PHI["study_date"]
    ds.StudyDescription = INJECTED_PHI["text_date"]
    ds.add_new(0x00540400, "SH", INJECTED_PHI["unlisted_text"][:16])          # ImageID: not in E.1-1
    ds.add_new(0x00204000, "LT", INJECTED_PHI["unlisted_text"])               # ImageComments
    block = ds.private_block(0x0029, "ACME PRIVATE", create=True)
    block.add_new(0x01, "LO", INJECTED_PHI["private_text"])
    person = Dataset()
    person.PersonName = INJECTED_PHI["nested_name"]
    holder = Dataset()
    holder.add_new(0x0040A730, "SQ", Sequence([person]))                      # ContentSequence (D)
    ds.add_new(0x00189346, "SQ", Sequence([holder]))                          # an unlisted sequence
    ds.add_new(0x60000022, "LO", INJECTED_PHI["overlay_text"])               # OverlayDescription
    ds.add_new(0x50002500, "LO", INJECTED_PHI["curve_text"])                 # CurveLabel
    ds.file_meta.SourceApplicationEntityTitle = INJECTED_PHI["meta_ae"]
    return ds


def rendered_values(ds: Dataset) -> Iterable[tuple[str, str]]:
    """(path, text) for every element, file meta and private elements included; pixel data left out."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from _render(meta, "")
    yield from _render(ds, "")


def _render(ds: Dataset, prefix: str) -> Iterable[tuple[str, str]]:
    for elem in ds:
        path = f"{prefix}{int(elem.tag):08X}"
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or ()):
                yield from _render(item, f"{path}[{index}].")
        elif elem.tag != 0x7FE00010:
            value = elem.value
            if isinstance(value, bytes):
                yield path, value.decode("latin-1")
            else:
                yield path, str(value)
                yield path, repr(value)


def leak_paths(secrets: Iterable[str], output: Dataset, output_bytes: bytes | None = None) -> list[str]:
    """Where any secret (case-insensitive) appears: element paths, or "bytes" for the raw file."""
    needles = [s.lower() for s in secrets if s and len(s) >= 4]
    found = []
    for path, text in rendered_values(output):
        lowered = text.lower()
        if any(needle in lowered for needle in needles):
            found.append(path)
    if output_bytes is not None:
        for encoding in ("utf-8", "latin-1"):
            raw = output_bytes.lower()
            if any(needle.encode(encoding, "ignore") in raw for needle in needles if needle.isascii()
                   or encoding == "utf-8"):
                found.append(f"bytes[{encoding}]")
    return sorted(set(found))


def original_phi(ds: Dataset) -> set[str]:
    """Values of a real file that must not survive: names, IDs, dates, instance UIDs, free text of
    the elements PS3.15 lists as identifying. (Test-side list, independent of the engine's table.)"""
    keywords = ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "OtherPatientNames",
                "PatientAddress", "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName",
                "NameOfPhysiciansReadingStudy", "InstitutionName", "InstitutionAddress", "StationName",
                "AccessionNumber", "StudyID", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
                "InstanceCreationDate", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                "FrameOfReferenceUID", "ReferencedSOPInstanceUID", "VerifyingObserverName",
                "VerifyingOrganization", "PersonName", "TextValue", "StudyDescription", "SeriesDescription",
                "DeviceSerialNumber", "RequestingPhysician", "PatientMotherBirthName", "ObservationDateTime",
                "InstanceCreatorUID", "MediaStorageSOPInstanceUID", "UID", "ContentCreatorName",
                "CodingSchemeUID")
    values: set[str] = set()
    public: list[str] = []
    for elem in _all_elements(ds):
        if elem.keyword in PUBLIC_KEYWORDS and elem.value:
            public.append(str(elem.value))
        if elem.keyword in keywords and elem.value not in (None, ""):
            items = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            for item in items:
                text = str(item).strip()
                if len(text) >= 4 and text not in pydicom.uid.UID_dictionary:
                    values.add(text)
    # A vendor name used as institution name ("TOSHIBA" in "TOSHIBA_MEC") is not a leak of it.
    return {value for value in values if not any(value.lower() in text.lower() for text in public)}


PUBLIC_KEYWORDS = ("Manufacturer", "ManufacturerModelName", "SoftwareVersions")


def _all_elements(ds: Dataset):
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta
    for elem in ds.iterall():
        yield elem


def dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error kinds (values blanked: two files that differ only by de-identified values give
    the same set); the one implementation the scorer and the gate use."""
    return set(error_kinds(path, timeout_s=60))


# UIDs of a real-looking vendor header (see vendor_header): which the profile replaces, which it keeps.
VENDOR_CLASS_UID = "1.3.12.2.1107.5.9.1"                  # Siemens CSA Non-Image Storage (a private class)
SNOMED_SCHEME_UID = "2.16.840.1.113883.6.96"              # SNOMED CT's coding scheme UID (HL7 OID)
REPLACED_UIDS = {   # keyword -> a value the profile replaces (U), as vendors write them
    "ReferencedSOPInstanceUID": "1.3.12.2.1107.5.2.32.35162.2013071309205436958503917",
    "ReferencedStudyInstance": "1.3.12.2.1107.5.2.32.35162.30000013071305412346800000007",
    "ReferencedStepInstance": "1.3.12.2.1107.5.2.32.35162.30000013071305412346800000019",
    "IrradiationEventUID": "1.3.12.2.1107.5.1.4.73613.30000013071307325493700000042",
    "StorageMediaFileSetUID": "1.3.12.2.1107.5.2.32.35162.2013071312000000001",
}


def vendor_header(name: str = "MR_small.dcm") -> Dataset:
    """A real pydicom test file with what real vendor headers carry besides its own UIDs: referenced SOP
    classes and instances (one class under a vendor's root), a referenced study and performed procedure
    step, an irradiation event and a file-set UID, coded entries with their coding scheme, context group
    and mapping resource UIDs, a coding scheme identification, and a private block holding the vendor
    class UID."""
    ds = read(pydicom_file(name))
    ds.ReferencedImageSequence = Sequence([
        _reference("1.2.840.10008.5.1.4.1.1.4", REPLACED_UIDS["ReferencedSOPInstanceUID"]),
        _reference(VENDOR_CLASS_UID, REPLACED_UIDS["ReferencedSOPInstanceUID"] + ".1")])
    ds.ReferencedStudySequence = Sequence([_reference("1.2.840.10008.3.1.2.3.1",
                                                      REPLACED_UIDS["ReferencedStudyInstance"])])
    ds.ReferencedPerformedProcedureStepSequence = Sequence([_reference("1.2.840.10008.3.1.2.3.3",
                                                                       REPLACED_UIDS["ReferencedStepInstance"])])
    ds.IrradiationEventUID = REPLACED_UIDS["IrradiationEventUID"]
    ds.StorageMediaFileSetUID = REPLACED_UIDS["StorageMediaFileSetUID"]
    region = _code("T-A0100", "SRT", "Brain")
    region.ContextIdentifier, region.ContextUID = "4031", "1.2.840.10008.6.1.308"
    region.MappingResource, region.MappingResourceUID = "DCMR", "1.2.840.10008.8.1.1"
    ds.AnatomicRegionSequence = Sequence([region])
    procedure = _code("24590-2", "SCT", "MRI of brain")
    procedure.CodingSchemeUID = SNOMED_SCHEME_UID
    ds.ProcedureCodeSequence = Sequence([procedure])
    scheme = Dataset()
    scheme.CodingSchemeDesignator, scheme.CodingSchemeUID = "SCT", SNOMED_SCHEME_UID
    scheme.CodingSchemeName = "SNOMED CT"
    ds.CodingSchemeIdentificationSequence = Sequence([scheme])
    block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    block.add_new(0x08, "CS", "IMAGE NUM 4")
    block.add_new(0x60, "UI", VENDOR_CLASS_UID)
    return ds


def _reference(sop_class: str, instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, instance
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item
