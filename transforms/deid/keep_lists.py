"""What we keep although Table E.1-1 does not list it: the documented exceptions to "remove every
unlisted element that can carry free text or names", and the curated safe-private list.

Every entry is justified by category in docs/deid-profile.md. The lists are short on purpose: an
element missing here is removed (the safe failure), an element wrongly here leaks.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from pydicom.datadict import tag_for_keyword

# VRs that can carry free text, names or addresses. AE (application entity titles name devices and
# sites) and UR (URLs carry host names and query strings) are included; UN is handled apart (an
# element of unknown VR may hold anything).
TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC", "AE", "UR"})
DATE_VRS = frozenset({"DA", "DT", "TM"})


def _tags(*keywords: str) -> frozenset[int]:
    tags = set()
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"not a DICOM keyword: {keyword}")
        tags.add(int(tag))
    return frozenset(tags)


# Coded entries: kept only when the item's Coding Scheme Designator is a public scheme (below); a local
# scheme (99xxx, site codes) can encode people or places, so its codes are pseudonymised instead.
CODE_VALUE_TAGS = _tags("CodeValue", "LongCodeValue", "URNCodeValue")
CODE_MEANING_TAG = int(tag_for_keyword("CodeMeaning"))
CODING_SCHEME_DESIGNATOR_TAG = int(tag_for_keyword("CodingSchemeDesignator"))
CODING_SCHEME_VERSION_TAG = int(tag_for_keyword("CodingSchemeVersion"))
CODING_SCHEME_UID_TAG = int(tag_for_keyword("CodingSchemeUID"))
CODE_COMPONENT_TAGS = CODE_VALUE_TAGS | {CODE_MEANING_TAG, CODING_SCHEME_DESIGNATOR_TAG, CODING_SCHEME_VERSION_TAG,
                                         CODING_SCHEME_UID_TAG}

# Coding schemes published by standards bodies (PS3.16 Table 8-1): a code from these names a concept
# from a public vocabulary, never a person or a site.
PUBLIC_CODING_SCHEMES = frozenset({
    "DCM", "SCT", "SRT", "SNM3", "99SDM", "LN", "UCUM", "FMA", "RADLEX", "NCIt", "NCIT", "UMLS",
    "MDC", "ACR", "BI", "NEU", "NICIP", "HPC", "ISO", "IEC", "ISO3166_1", "ISO639_1", "ISO639_2",
    "RFC5646", "I10", "I10P", "I9C", "I11", "ICD10", "ICD11", "C4", "C5", "CD2", "ATC", "RXNORM",
    "NDC", "PUBCHEM_CID", "ITIS_TSN", "NCBITaxon", "UBERON", "HGNC", "ENSEMBL", "GO", "IBSI",
    "MSH", "MEDDRA", "NYUMCCG", "DC", "CTV3", "SNOMED-CT", "SCPECG",
})

# Unlisted public text-VR elements that are safe to keep, by category (see docs/deid-profile.md).
KEEP_TEXT_CATEGORIES: Mapping[str, frozenset[int]] = MappingProxyType({
    # Make and model name the kind of equipment, not the unit (Device Serial Number, Station Name and
    # Device UID are in Table E.1-1 and follow Retain Device Identity).
    "equipment_type": _tags("Manufacturer", "ManufacturerModelName", "SoftwareVersions"),
    # Technique parameters filled from vendor or DICOM defined terms; needed to use the images.
    "acquisition_technique": _tags(
        "ConvolutionKernel", "SequenceName", "PulseSequenceName", "ImagedNucleus", "TransmitCoilName",
        "ReceiveCoilName", "FilterType", "ContrastBolusRoute", "AcquisitionDeviceProcessingCode",
        "ProcessingFunction", "PlateType", "TransducerData"),
    # How to display or interpret pixel values; fixed technical vocabularies.
    "pixel_interpretation": _tags(
        "RescaleType", "WindowCenterWidthExplanation", "LUTExplanation", "PositionReferenceIndicator",
        "DimensionDescriptionLabel", "FrameLabel", "MultiplexGroupLabel", "ChannelLabel"),
    # Names and versions of the software that derived the object (segmentation, CAD): like
    # ManufacturerModelName, they name a product.
    "algorithm": _tags("SegmentAlgorithmName", "AlgorithmName", "AlgorithmVersion"),
})
KEEP_TEXT_TAGS: frozenset[int] = frozenset().union(*KEEP_TEXT_CATEGORIES.values())

# Unlisted free text that some IOD requires (Type 1 or 2): removing it would make the output invalid,
# keeping it could leak. It is cleaned when a text cleaner runs under Clean Descriptors, otherwise
# emptied (Type 2: "Z") or replaced by the dummy (Type 1: "D").
REQUIRED_FREE_TEXT: Mapping[int, str] = MappingProxyType({
    int(tag_for_keyword(keyword)): action for keyword, action in (
        ("ContentDescription", "Z"),      # Content Identification Macro, Type 2
        ("SegmentLabel", "D"),            # Segment Description Macro, Type 1
        ("TextValue", "D"),               # SR TEXT content item, Type 1C
        ("UnformattedTextValue", "D"),    # Waveform annotation / GSPS text object, Type 1C
    )
})

# UI elements that name definitions (classes, syntaxes, coding schemes), never an instance: kept.
# Every other UI element not in Table E.1-1 is replaced like a listed one (U), unless its value is a
# UID registered in PS3.6 (a well-known UID identifies no one).
DEFINITION_UID_TAGS = _tags(
    "SOPClassUID", "ReferencedSOPClassUID", "ReferencedSOPClassUIDInFile", "MediaStorageSOPClassUID",
    "TransferSyntaxUID", "ReferencedTransferSyntaxUIDInFile", "RelatedGeneralSOPClassUID",
    "OriginalSpecializedSOPClassUID", "SOPClassesInStudy", "CodingSchemeUID", "ContextUID",
    "MappingResourceUID", "RequestedSOPClassUID", "AffectedSOPClassUID")

# PS3.15 Annex E.3.10 (Retain Safe Private Option) lists private attributes known to carry no identity.
# We keep a short subset: numeric or coded diffusion and PET quantitation values that downstream
# analysis needs, checked against pydicom's private dictionary (names and VRs below).
# Key: (private creator, group, element offset within the block).
SAFE_PRIVATE: Mapping[tuple[str, int, int], tuple[str, str]] = MappingProxyType({
    ("SIEMENS MR HEADER", 0x0019, 0x0A): ("US", "NumberOfImagesInMosaic"),
    ("SIEMENS MR HEADER", 0x0019, 0x0B): ("DS", "SliceMeasurementDuration"),
    ("SIEMENS MR HEADER", 0x0019, 0x0C): ("IS", "B_value"),
    ("SIEMENS MR HEADER", 0x0019, 0x0D): ("CS", "DiffusionDirectionality"),
    ("SIEMENS MR HEADER", 0x0019, 0x0E): ("FD", "DiffusionGradientDirection"),
    ("SIEMENS MR HEADER", 0x0019, 0x27): ("FD", "B_matrix"),
    ("GEMS_PARM_01", 0x0043, 0x39): ("IS", "Slop_int_6... slop_int_9 (b-value)"),
    ("GEMS_ACQU_01", 0x0019, 0xBB): ("DS", "User data 20 (diffusion direction)"),
    ("GEMS_ACQU_01", 0x0019, 0xBC): ("DS", "User data 21 (diffusion direction)"),
    ("GEMS_ACQU_01", 0x0019, 0xBD): ("DS", "User data 22 (diffusion direction)"),
    ("Philips Imaging DD 001", 0x2001, 0x03): ("FL", "Diffusion B-Factor"),
    ("Philips Imaging DD 001", 0x2001, 0x04): ("CS", "Diffusion Direction"),
    ("Philips MR Imaging DD 001", 0x2005, 0xB0): ("FL", "Diffusion Direction RL"),
    ("Philips MR Imaging DD 001", 0x2005, 0xB1): ("FL", "Diffusion Direction AP"),
    ("Philips MR Imaging DD 001", 0x2005, 0xB2): ("FL", "Diffusion Direction FH"),
    ("Philips PET Private Group", 0x7053, 0x00): ("DS", "SUV Scale Factor"),
    ("Philips PET Private Group", 0x7053, 0x09): ("DS", "Activity Concentration Scale Factor"),
})
# A safe private element is kept only with one of these VRs as stored (implicit VR files say UN):
# a text VR where a number is expected means the element is not what the list thinks it is.
SAFE_PRIVATE_STORED_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "DS", "IS", "CS", "UN"})


def is_safe_private(creator: str, group: int, element: int) -> bool:
    return (creator.strip(), group, element & 0xFF) in SAFE_PRIVATE
