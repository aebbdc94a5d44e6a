"""The DICOM header of a synthetic image, and the list of every PHI value put into it.

Every value that identifies the patient, the staff, the institution or the instance goes through
`PhiHeader.put` (or `put_text` for free text that carries PHI inside it), which records the element
path in our format (8 hex digits per tag, `00400275[0].00401001` inside sequences), the value and
its category. Nothing PHI is set behind the recorder's back, so the truth is complete by
construction; the tests check that each recorded path resolves to its value in the written file.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from transforms.synth.identities import Patient, Person, Series, Study, seeded_uid
from transforms.synth.kinds import Geometry, KindSpec
from transforms.synth.renderings import DATE_STYLES, pick, render_date, render_name

PRIVATE_GROUP = 0x0029
PRIVATE_CREATOR = "ACME IMAGING 1.0"
PRIVATE_NOTES_CREATOR = "DEIDLAKE SYNTH NOTES"
DETACHED_PATIENT_SOP_CLASS = "1.2.840.10008.3.1.2.1.1"
TRUTH_MANUFACTURER = "ACME Imaging"
LO_MAX = 64


@dataclass(frozen=True)
class HeaderPhi:
    """One PHI value in the header. `rendered` is set when the value sits inside free text: it is
    the exact substring there, and `value` is its canonical form (PN, DA, ...)."""

    element_path: str
    tag: str
    keyword: str
    value: str
    category: str
    vr: str
    value_index: int = 0
    rendered: str | None = None
    private_creator: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class UidReference:
    """An element that refers to another instance by its (original) SOP Instance UID."""

    element_path: str
    referenced_sop_instance_uid: str


@dataclass
class PhiHeader:
    """A dataset under construction and the PHI recorded into it."""

    dataset: Dataset
    phi: list[HeaderPhi] = field(default_factory=list)
    references: list[UidReference] = field(default_factory=list)

    def put(self, ds: Dataset, prefix: str, keyword: str, value: Any, category: str | None) -> None:
        """Set ds.keyword; record each value (multi-valued elements record one item per value)."""
        setattr(ds, keyword, value)
        if category is None:
            return
        tag = tag_for_keyword(keyword)
        values = value if isinstance(value, (list, tuple)) else [value]
        for index, one in enumerate(values):
            self.phi.append(HeaderPhi(f"{prefix}{tag:08X}", f"{tag:08X}", keyword, str(one), category,
                                      dictionary_VR(tag), value_index=index))

    def put_text(self, ds: Dataset, prefix: str, keyword: str, pieces: list[Any],
                 tag: int | None = None) -> None:
        """Free text made of plain strings and (rendered, canonical, category) PHI pieces.
        Repeating-group elements (60xx overlays) need their `tag`: pydicom sets them by tag only."""
        text = "".join(p if isinstance(p, str) else p[0] for p in pieces)
        if tag is None:
            tag = tag_for_keyword(keyword)
            setattr(ds, keyword, text)
        else:
            ds.add_new(tag, "LO", text)
        for piece in pieces:
            if not isinstance(piece, str):
                rendered, canonical, category = piece
                self.phi.append(HeaderPhi(f"{prefix}{tag:08X}", f"{tag:08X}", keyword, canonical,
                                          category, str(ds[tag].VR), rendered=rendered))

    def put_private(self, ds: Dataset, prefix: str, creator: str, offset: int, vr: str, value: Any,
                    pieces: list[tuple[str, str, str]]) -> None:
        """A private element; `pieces` are the PHI (rendered, canonical, category) it contains."""
        block = ds.private_block(PRIVATE_GROUP, creator, create=True)
        block.add_new(offset, vr, value)
        tag = block.get_tag(offset)
        for rendered, canonical, category in pieces:
            whole = rendered == canonical == (value.decode("latin-1") if isinstance(value, bytes) else value)
            self.phi.append(HeaderPhi(f"{prefix}{tag:08X}", f"{tag:08X}", "", canonical, category, vr,
                                      rendered=None if whole else rendered, private_creator=creator))

    def put_uid(self, ds: Dataset, prefix: str, keyword: str, value: str) -> None:
        self.put(ds, prefix, keyword, value, "UID")


def _da(value: dt.date) -> str:
    return f"{value:%Y%m%d}"


def _tm(value: dt.time) -> str:
    return f"{value:%H%M%S}"


def _fit(text: str, limit: int = LO_MAX) -> str:
    """Cut at a word boundary to the VR's length (a cut value is still what the truth records)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(", ")


def _phone(text: str) -> str:
    """SH holds 16 characters: drop extensions, then punctuation if still too long."""
    core = text.split("x")[0].strip()
    if len(core) > 16:
        core = "".join(ch for ch in core if ch.isdigit() or ch == "+")
    return core[:16]


@dataclass(frozen=True)
class InstanceContext:
    """Everything about one file that its header needs."""

    kind: KindSpec
    geometry: Geometry
    patient: Patient
    study: Study
    series: Series
    instance: int
    sop_instance_uid: str
    first_instance_uid: str | None           # the series' first instance, referenced by later ones
    with_overlay: bool


def build_header(ctx: InstanceContext, rng: random.Random) -> PhiHeader:
    header = PhiHeader(Dataset())
    ds = header.dataset
    ds.file_meta = FileMetaDataset()
    header.put_uid(ds.file_meta, "", "MediaStorageSOPInstanceUID", ctx.sop_instance_uid)
    ds.file_meta.MediaStorageSOPClassUID = ctx.kind.sop_class_uid
    if ctx.patient.charset:
        ds.SpecificCharacterSet = list(ctx.patient.charset) if len(ctx.patient.charset) > 1 \
            else ctx.patient.charset[0]
    _patient_module(header, ctx, rng)
    _study_module(header, ctx, rng)
    _series_and_equipment(header, ctx, rng)
    _instance_module(header, ctx, rng)
    _nested_sequences(header, ctx, rng)
    _private_elements(header, ctx, rng)
    _kind_modules(ds, ctx, rng)
    if ctx.kind.name in ("CT", "MR"):
        header.put_uid(ds, "", "FrameOfReferenceUID", ctx.series.frame_of_reference_uid)
    return header


def _patient_module(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    ds, p = h.dataset, ctx.patient
    h.put(ds, "", "PatientName", p.person.pn(), "NAME")
    h.put(ds, "", "PatientID", p.patient_id, "ID")
    ds.IssuerOfPatientID = p.issuer
    h.put(ds, "", "PatientBirthDate", _da(p.birth_date), "DATE")
    h.put(ds, "", "PatientSex", p.sex, "OTHER_PHI")
    h.put(ds, "", "PatientAge", ctx.study.age, "AGE")
    h.put(ds, "", "PatientAddress", _fit(p.home.address), "ADDRESS")
    h.put(ds, "", "PatientTelephoneNumbers", _phone(p.home.phone), "PHONE")
    h.put(ds, "", "PatientMotherBirthName", f"{p.mother_birth_family}^", "NAME")
    maiden = Person(p.mother_birth_family, p.person.given)
    h.put(ds, "", "OtherPatientNames", maiden.pn(), "NAME")
    other = Dataset()
    h.put(other, "00101002[0].", "PatientID", p.other_id, "ID")
    other.IssuerOfPatientID = p.other_id_issuer
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])


def _study_module(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    ds, s, p = h.dataset, ctx.study, ctx.patient
    h.put_uid(ds, "", "StudyInstanceUID", s.uid)
    h.put(ds, "", "StudyDate", _da(s.date), "DATE")
    h.put(ds, "", "StudyTime", _tm(s.time), "TIME")
    h.put(ds, "", "AccessionNumber", s.accession, "ACCESSION")
    h.put(ds, "", "StudyID", s.requested_procedure_id[-6:], "ID")
    h.put(ds, "", "ReferringPhysicianName", s.referring.pn(), "NAME")
    h.put(ds, "", "NameOfPhysiciansReadingStudy", s.reading.pn(), "NAME")
    name = render_name(p.person.family, p.person.given, p.person.middle, "family_comma_given")
    base = {"CT": "CT CHEST W/O CONTRAST", "MR": "MRI BRAIN", "CR": "CHEST PA", "DX": "CHEST 2 VIEWS",
            "US": "ECHO TTE", "XA": "CORONARY ANGIO", "MG": "SCREENING MAMMO", "SC": "SECONDARY CAPTURE"}[ctx.kind.name]
    if len(base) + 3 + len(name) > LO_MAX:
        name = render_name(p.person.family, p.person.given, "", "initial_family")
    h.put_text(ds, "", "StudyDescription", [base, " - ", (name, p.person.pn(), "NAME")])


def _series_and_equipment(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    ds, se, st = h.dataset, ctx.series, ctx.study
    ds.Modality = ctx.kind.modality
    h.put_uid(ds, "", "SeriesInstanceUID", se.uid)
    ds.SeriesNumber = se.number
    h.put(ds, "", "SeriesDate", _da(st.date), "DATE")
    h.put(ds, "", "SeriesTime", _tm(se.time), "TIME")
    ds.SeriesDescription = f"{ctx.kind.modality} series {se.number}"
    h.put(ds, "", "PerformingPhysicianName", se.performing.pn(), "NAME")
    h.put(ds, "", "OperatorsName", [se.operator.pn(), st.requesting.pn()], "NAME")
    ds.Manufacturer = TRUTH_MANUFACTURER
    ds.ManufacturerModelName = f"Synth {ctx.kind.modality} 3000"
    h.put(ds, "", "InstitutionName", st.institution.name, "INSTITUTION")
    h.put(ds, "", "InstitutionAddress", st.institution.address, "ADDRESS")
    ds.InstitutionalDepartmentName = "Radiology"
    h.put(ds, "", "StationName", se.station_name, "OTHER_PHI")
    h.put(ds, "", "DeviceSerialNumber", se.device_serial, "ID")
    ds.SoftwareVersions = "1.0"
    family = ctx.patient.person.family
    date = render_date(st.date, pick(rng, DATE_STYLES))
    if rng.random() < 0.5 and len(family) < 30:
        h.put_text(ds, "", "ProtocolName", [f"{ctx.kind.modality} ", (family, ctx.patient.person.pn(), "NAME"),
                                             " protocol"])
    else:
        h.put_text(ds, "", "ProtocolName", [f"{ctx.kind.modality} routine ", (date, _da(st.date), "DATE")])


def _instance_module(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    ds, st, se = h.dataset, ctx.study, ctx.series
    ds.SOPClassUID = ctx.kind.sop_class_uid
    h.put_uid(ds, "", "SOPInstanceUID", ctx.sop_instance_uid)
    ds.InstanceNumber = ctx.instance
    h.put(ds, "", "InstanceCreationDate", _da(st.date), "DATE")
    h.put(ds, "", "InstanceCreationTime", _tm(se.time), "TIME")
    acquired = dt.datetime.combine(st.date, se.time) + dt.timedelta(seconds=ctx.instance)
    h.put(ds, "", "AcquisitionDate", _da(acquired.date()), "DATE")
    h.put(ds, "", "AcquisitionTime", _tm(acquired.time()), "TIME")
    h.put(ds, "", "ContentDate", _da(acquired.date()), "DATE")
    h.put(ds, "", "ContentTime", _tm(acquired.time()), "TIME")
    if ctx.kind.name in ("DX", "MG", "XA", "US"):
        h.put(ds, "", "AcquisitionDateTime", f"{acquired:%Y%m%d%H%M%S}", "DATE")
    ds.BurnedInAnnotation = "YES"
    person, pid = ctx.patient.person, ctx.patient.patient_id
    name = render_name(person.family, person.given, person.middle, pick(rng, ("given_family", "family_comma_given")))
    date = render_date(st.date, pick(rng, DATE_STYLES))
    h.put_text(ds, "", "ImageComments", ["Pt ", (name, person.pn(), "NAME"), " MRN ", (pid, pid, "ID"),
                                         " scanned ", (date, _da(st.date), "DATE")])


def _nested_sequences(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    """PHI inside sequences: request attributes, referenced patient, procedure code, references."""
    ds, st = h.dataset, ctx.study
    request = Dataset()
    prefix = "00400275[0]."
    h.put(request, prefix, "RequestedProcedureID", st.requested_procedure_id, "ID")
    h.put(request, prefix, "ScheduledProcedureStepID", f"SPS{st.requested_procedure_id[2:]}", "ID")
    h.put(request, prefix, "AccessionNumber", st.accession, "ACCESSION")
    requester = render_name(st.requesting.family, st.requesting.given, "", "initial_family")
    h.put_text(request, prefix, "RequestedProcedureDescription",
               [f"{ctx.kind.modality} exam req. by Dr ", (requester, st.requesting.pn(), "NAME")])
    ds.RequestAttributesSequence = Sequence([request])

    patient_ref = Dataset()
    patient_ref.ReferencedSOPClassUID = DETACHED_PATIENT_SOP_CLASS
    h.put_uid(patient_ref, "00081120[0].", "ReferencedSOPInstanceUID",
              _derived_uid(ctx.sop_instance_uid, "patient"))
    ds.ReferencedPatientSequence = Sequence([patient_ref])

    code = Dataset()
    code.CodeValue = f"{ctx.kind.modality}PROC{rng.randrange(10, 99)}"
    code.CodingSchemeDesignator = "99ACME"
    referring = render_name(st.referring.family, st.referring.given, "", "given_family")
    h.put_text(code, "00081032[0].", "CodeMeaning",
               [f"{ctx.kind.modality} per Dr ", (referring, st.referring.pn(), "NAME")])
    ds.ProcedureCodeSequence = Sequence([code])

    h.put(ds, "", "PerformedProcedureStepStartDate", _da(st.date), "DATE")
    if ctx.first_instance_uid:
        ref = Dataset()
        ref.ReferencedSOPClassUID = ctx.kind.sop_class_uid
        h.put_uid(ref, "00081140[0].", "ReferencedSOPInstanceUID", ctx.first_instance_uid)
        ds.ReferencedImageSequence = Sequence([ref])
        h.references.append(UidReference("00081140[0].00081155", ctx.first_instance_uid))


def _derived_uid(base: str, label: str) -> str:
    """A second UID fixed by the first (for the referenced patient record)."""
    return seeded_uid(0, base, label)


def _private_elements(h: PhiHeader, ctx: InstanceContext, rng: random.Random) -> None:
    """Vendor-style private data: PHI copies, a binary blob with text in it, a private sequence."""
    ds, p, st = h.dataset, ctx.patient, ctx.study
    pn = p.person.pn().split("=")[0]
    h.put_private(ds, "", PRIVATE_CREATOR, 0x01, "LO", pn, [(pn, p.person.pn(), "NAME")])
    h.put_private(ds, "", PRIVATE_CREATOR, 0x02, "LO", p.patient_id, [(p.patient_id, p.patient_id, "ID")])
    h.put_private(ds, "", PRIVATE_CREATOR, 0x03, "DA", _da(p.birth_date),
                  [(_da(p.birth_date), _da(p.birth_date), "DATE")])
    blob_text = f"PatName={pn};PatID={p.patient_id};Acc={st.accession};"
    encoded = blob_text.encode("utf-8")                  # vendors write their blobs in UTF-8 or Latin-1
    blob = b"\x01\x00CSA1" + encoded + b"\x00" * (len(encoded) % 2)
    h.put_private(ds, "", PRIVATE_CREATOR, 0x10, "OB", blob,
                  [(pn, p.person.pn(), "NAME"), (p.patient_id, p.patient_id, "ID"),
                   (st.accession, st.accession, "ACCESSION")])
    item = Dataset()
    operator = ctx.series.operator.pn().split("=")[0]
    block = item.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    item_tag = block.get_tag(0x01)
    block.add_new(0x01, "LO", operator)
    outer = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    outer.add_new(0x20, "SQ", Sequence([item]))
    seq_tag = outer.get_tag(0x20)
    h.phi.append(HeaderPhi(f"{seq_tag:08X}[0].{item_tag:08X}", f"{item_tag:08X}", "",
                           ctx.series.operator.pn(), "NAME", "LO",
                           rendered=None if operator == ctx.series.operator.pn() else operator,
                           private_creator=PRIVATE_CREATOR))
    note_date = render_date(st.date, "iso")
    h.put_private(ds, "", PRIVATE_NOTES_CREATOR, 0x01, "LT",
                  f"Read at {st.institution.name} on {note_date}",
                  [(st.institution.name, st.institution.name, "INSTITUTION"), (note_date, _da(st.date), "DATE")])


def _kind_modules(ds: Dataset, ctx: InstanceContext, rng: random.Random) -> None:
    """The non-PHI attributes each IOD requires (pixel module, plane, acquisition, cine)."""
    kind, geo = ctx.kind, ctx.geometry
    ds.SamplesPerPixel = kind.samples_per_pixel
    ds.PhotometricInterpretation = kind.photometric
    ds.Rows, ds.Columns = geo.rows, geo.columns
    ds.BitsAllocated, ds.BitsStored = kind.bits_allocated, kind.bits_stored
    ds.HighBit = kind.bits_stored - 1
    ds.PixelRepresentation = 1 if kind.signed else 0
    if kind.samples_per_pixel == 3:
        ds.PlanarConfiguration = 0
    ds.PatientOrientation = "" if kind.name in ("CT", "MR") else ["P", "F"] if kind.name != "MG" else ["P", "L"]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if kind.name in ("CT", "MR") else ["ORIGINAL", "PRIMARY"]
    if kind.name != "MG":
        ds.BodyPartExamined = {"MR": "HEAD", "US": "HEART", "XA": "HEART"}.get(kind.name, "CHEST")
    if geo.frames > 1:
        ds.NumberOfFrames = geo.frames
        ds.FrameTime = 40.0 if kind.name == "US" else 66.67
        ds.FrameIncrementPointer = Tag(0x00181063)
        ds.CineRate = 25 if kind.name == "US" else 15
    if kind.rescale_intercept is not None:
        ds.RescaleIntercept, ds.RescaleSlope = kind.rescale_intercept, 1.0
        ds.RescaleType = "HU"
    if kind.window:
        ds.WindowCenter, ds.WindowWidth = kind.window
    if kind.name in ("CT", "MR"):
        _cross_sectional(ds, ctx)
    elif kind.name in ("CR", "DX", "MG"):
        _projection(ds, ctx)
    elif kind.name == "XA":
        ds.KVP = 75
        ds.RadiationSetting = "GR"
        ds.PixelIntensityRelationship = "LIN"
        ds.PositionerMotion = "STATIC"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
        ds.PositionerPrimaryAngle, ds.PositionerSecondaryAngle = 30.0, 15.0
        ds.Exposure, ds.ExposureTime, ds.XRayTubeCurrent = 12, 8, 650
    ds.LossyImageCompression = "00"


def _cross_sectional(ds: Dataset, ctx: InstanceContext) -> None:
    spacing = 350.0 / ctx.geometry.columns if ctx.kind.name == "CT" else 230.0 / ctx.geometry.columns
    ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
    ds.SliceThickness = 5.0
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-175.0, -175.0, -100.0 + 5.0 * ctx.instance]
    ds.SliceLocation = -100.0 + 5.0 * ctx.instance
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    if ctx.kind.name == "CT":
        ds.KVP = 120
        ds.PixelPaddingValue = -2000
        ds.AcquisitionNumber = 1
    else:
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions = "SE", "NONE", ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime, ds.EchoTime, ds.EchoTrainLength = 520.0, 14.0, 1
        ds.MagneticFieldStrength, ds.ImagingFrequency, ds.ImagedNucleus = 1.5, 63.87, "1H"


def _projection(ds: Dataset, ctx: InstanceContext) -> None:
    spacing = 0.15 if ctx.kind.name != "MG" else 0.07
    ds.ImagerPixelSpacing = [spacing, spacing]
    ds.ViewPosition = "PA" if ctx.kind.name != "MG" else "MLO"
    ds.KVP = 110 if ctx.kind.name != "MG" else 28
    if ctx.kind.name in ("DX", "MG"):
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PixelIntensityRelationship = "LOG"
        ds.PixelIntensityRelationshipSign = 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0.0, 1.0, "US"
        ds.PresentationLUTShape = "INVERSE" if ctx.kind.photometric == "MONOCHROME1" else "IDENTITY"
        ds.DetectorType = "SCINTILLATOR"
        ds.AcquisitionContextSequence = Sequence()
        ds.ImageLaterality = "U"
        ds.PositionerType = ""
        region = ("T-D3000", "Chest") if ctx.kind.name == "DX" else ("T-04000", "Breast")
        ds.AnatomicRegionSequence = Sequence([_code(*region)])
        view = ("R-10214", "postero-anterior") if ctx.kind.name == "DX" else ("R-10226", "medio-lateral oblique")
        ds.ViewCodeSequence = Sequence([_code(*view)])
        if ctx.kind.name == "MG":
            ds.ViewCodeSequence[0].ViewModifierCodeSequence = Sequence()
    if ctx.kind.name == "MG":
        ds.ImageLaterality = "L"
        ds.PositionerType = "MAMMOGRAPHIC"
        ds.BreastImplantPresent = "NO"
        ds.PartialView = "NO"
        ds.OrganExposed = "BREAST"


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SRT", meaning
    return item
