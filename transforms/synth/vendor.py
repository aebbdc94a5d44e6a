"""Header elements of real vendors' files that a de-identifier must get right without being told: UIDs that
identify nothing (SOP classes under a vendor's root, the implementation class, coding schemes, context
groups, mapping resources) next to UIDs that do (referenced instances, performed procedure steps,
irradiation events), sequences nesting both, and vendor private blocks.

The identifying ones go through `PhiHeader.put_uid` (category UID: PS3.15 replaces them); the others are
listed in the truth's `non_phi_uids`, so a checker can tell a gate that holds a file for them (issue 22:
15 of 18 false holds were for ReferencedSOPClassUID 1.3.12.2.1107.5.9.1 and friends).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from transforms.synth.header import PhiHeader
from transforms.synth.identities import derive_seed, seeded_uid


@dataclass(frozen=True)
class Vendor:
    manufacturer: str
    models: tuple[str, ...]
    root: str                          # the vendor's UID root (instance UIDs of its devices start here)
    implementation_class_uid: str
    implementation_version: str
    private_creator: str
    private_group: int
    private_class_uid: str             # a vendor-private SOP class, referenced from its images


VENDORS = (
    Vendor("SIEMENS", ("SOMATOM Definition AS", "Avanto", "Skyra", "AXIOM-Artis", "ACUSON Sequoia"),
           "1.3.12.2.1107.5", "1.3.12.2.1107.5.2", "MR_VE11C", "SIEMENS CSA HEADER", 0x0029,
           "1.3.12.2.1107.5.9.1"),
    Vendor("GE MEDICAL SYSTEMS",
           ("LightSpeed VCT", "Optima MR450w", "Revolution CT", "LOGIQ E9", "Senographe Essential"),
           "1.2.840.113619", "1.2.840.113619.6.374", "CTP_2.0", "GEMS_IDEN_01", 0x0009,
           "1.2.840.113619.4.26"),
    Vendor("Philips Medical Systems", ("Ingenia", "iCT 256", "EPIQ 7G", "DigitalDiagnost"),
           "1.3.46.670589", "1.3.46.670589.11.0.0.51.4.56.1", "Philips MR 56.1", "Philips MR Imaging DD 001", 0x2005,
           "1.3.46.670589.11.0.0.12.4"),
    Vendor("TOSHIBA", ("Aquilion ONE", "Aplio 500", "Vantage Titan"),
           "1.2.392.200036.9116", "1.2.392.200036.9116.2.6.1.48", "TM_CT_7.0", "TOSHIBA_MEC_1.0", 0x7005,
           "1.2.392.200036.9116.7.8.1.1.1"),
    Vendor("FUJIFILM Corporation", ("FCR CAPSULA XLII", "FDR D-EVO II", "ARIETTA 850"),
           "1.2.392.200036.9125", "1.2.392.200036.9125.0.19950720112207", "FUJIFILM_1.0", "FUJIFILM MEDICAL", 0x0009,
           "1.2.392.200036.9125.1.1.2"),
)
CODING_SCHEMES = (("SCT", "2.16.840.1.113883.6.96", "SNOMED CT"),
                  ("DCM", "1.2.840.10008.2.16.4", "DICOM Controlled Terminology"),
                  ("LN", "2.16.840.1.113883.6.1", "LOINC"))
CONTEXT_GROUP_UID_ANATOMY = "1.2.840.10008.6.1.308"     # CID 4031 Common Anatomic Regions
DCMR_MAPPING_RESOURCE_UID = "1.2.840.10008.8.1.1"
MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"
REGION_CODES = {"CT": ("51185008", "Chest"), "MR": ("69536005", "Head"), "CR": ("51185008", "Chest"),
                "DX": ("51185008", "Chest"), "MG": ("76752008", "Breast"), "US": ("818983003", "Abdomen"),
                "XA": ("80891009", "Heart"), "OT": ("51185008", "Chest")}


def vendor_instance_uid(vendor: Vendor, base: str, label: object) -> str:
    """An instance UID under the vendor's root, as its devices issue them (identifying: replaced by PS3.15)."""
    number = derive_seed(0, base, label)
    return f"{vendor.root}.2.{number % 10**12 + 1}.{number // 10**12 % 10**12 + 1}"


def pick_vendor(rng: random.Random) -> Vendor:
    return VENDORS[rng.randrange(len(VENDORS))]


def add_vendor_elements(header: PhiHeader, vendor: Vendor, modality: str, sop_class_uid: str,
                        instance_uid: str, rng: random.Random) -> list[dict[str, str]]:
    """Vendor identity, referenced instances and classes, coding schemes; returns the non-PHI UIDs put in
    ({element_path, value, kind}) for the truth."""
    ds = header.dataset
    kept: list[dict[str, str]] = []
    ds.file_meta.ImplementationClassUID = vendor.implementation_class_uid
    ds.file_meta.ImplementationVersionName = vendor.implementation_version[:16]
    kept.append({"element_path": "00020012", "value": vendor.implementation_class_uid, "kind": "implementation_class"})
    ds.Manufacturer = vendor.manufacturer
    ds.ManufacturerModelName = rng.choice(vendor.models)
    ds.SoftwareVersions = f"VB{rng.randrange(10, 80)}{rng.choice('ABCDE')}"

    references = []
    localizer = Dataset()
    localizer.ReferencedSOPClassUID = sop_class_uid
    references.append(localizer)
    csa = Dataset()
    csa.ReferencedSOPClassUID = vendor.private_class_uid      # a vendor-private SOP class: identifies nothing
    references.append(csa)
    existing = list(ds.get("ReferencedImageSequence", []))
    ds.ReferencedImageSequence = Sequence(existing + references)
    for offset, item in enumerate(references, start=len(existing)):
        prefix = f"00081140[{offset}]."
        header.put_uid(item, prefix, "ReferencedSOPInstanceUID", vendor_instance_uid(vendor, instance_uid, offset))
        kept.append({"element_path": prefix + "00081150", "value": str(item.ReferencedSOPClassUID),
                     "kind": "referenced_sop_class"})

    step = Dataset()
    step.ReferencedSOPClassUID = MPPS_SOP_CLASS
    header.put_uid(step, "00081111[0].", "ReferencedSOPInstanceUID", seeded_uid(0, instance_uid, "mpps"))
    ds.ReferencedPerformedProcedureStepSequence = Sequence([step])
    kept.append({"element_path": "00081111[0].00081150", "value": MPPS_SOP_CLASS, "kind": "referenced_sop_class"})

    if modality in ("CT", "DX", "CR", "MG", "XA"):
        header.put_uid(ds, "", "IrradiationEventUID", seeded_uid(0, instance_uid, "irradiation"))

    schemes = []
    for index, (designator, scheme_uid, name) in enumerate(CODING_SCHEMES):
        item = Dataset()
        item.CodingSchemeDesignator = designator
        item.CodingSchemeUID = scheme_uid
        item.CodingSchemeName = name
        schemes.append(item)
        kept.append({"element_path": f"00080110[{index}].0008010C", "value": scheme_uid, "kind": "coding_scheme"})
    ds.CodingSchemeIdentificationSequence = Sequence(schemes)

    code, meaning = REGION_CODES.get(modality, REGION_CODES["OT"])
    region = Dataset()
    region.CodeValue, region.CodingSchemeDesignator, region.CodeMeaning = code, "SCT", meaning
    region.ContextIdentifier = "4031"
    region.ContextUID = CONTEXT_GROUP_UID_ANATOMY
    region.ContextGroupVersion = "20170914000000"
    region.MappingResource = "DCMR"
    region.MappingResourceUID = DCMR_MAPPING_RESOURCE_UID
    ds.AnatomicRegionSequence = Sequence([region])
    kept.append({"element_path": "00082218[0].00080117", "value": CONTEXT_GROUP_UID_ANATOMY, "kind": "context_group"})
    kept.append({"element_path": "00082218[0].00080118", "value": DCMR_MAPPING_RESOURCE_UID,
                 "kind": "mapping_resource"})

    block = ds.private_block(vendor.private_group, vendor.private_creator, create=True)
    block.add_new(0x10, "UI", vendor.private_class_uid)
    block.add_new(0x11, "LO", f"{vendor.manufacturer.split()[0]} {rng.choice(vendor.models)}"[:64])
    block.add_new(0x12, "OB", b"SV10\x04\x03\x02\x01" + bytes(rng.randrange(256) for _ in range(24)))
    kept.append({"element_path": f"{block.get_tag(0x10):08X}", "value": vendor.private_class_uid,
                 "kind": "private_vendor_class"})
    return kept
