"""The de-identification record every output carries (PS3.15 E.1.1 and PS3.3 C.7.1.1 / C.12.1):
PatientIdentityRemoved, LongitudinalTemporalInformationModified, DeidentificationMethod and
DeidentificationMethodCodeSequence with the CID 7050 code of the profile and of each option applied.

Codes come from pydicom's copy of PS3.16 (CID 7050), not typed by hand.
"""

from __future__ import annotations

from functools import lru_cache

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset as pydicom_write_dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from transforms.deid.options import DeidOptions

CID7050 = codes.cid7050
BASIC_PROFILE: Code = CID7050.BasicApplicationConfidentialityProfile
CLEAN_PIXEL_DATA: Code = CID7050.CleanPixelDataOption
CLEAN_VISUAL_FEATURES: Code = CID7050.CleanRecognizableVisualFeaturesOption

_OPTION_CODES: tuple[tuple[str, Code], ...] = (
    ("clean_graphics", CID7050.CleanGraphicsOption),
    ("clean_structured_content", CID7050.CleanStructuredContentOption),
    ("clean_descriptors", CID7050.CleanDescriptorsOption),
    ("dates=full", CID7050.RetainLongitudinalTemporalInformationFullDatesOption),
    ("dates=shift", CID7050.RetainLongitudinalTemporalInformationModifiedDatesOption),
    ("retain_patient_characteristics", CID7050.RetainPatientCharacteristicsOption),
    ("retain_device_identity", CID7050.RetainDeviceIdentityOption),
    ("retain_uids", CID7050.RetainUidsOption),
    ("retain_safe_private", CID7050.RetainSafePrivateOption),
    ("retain_institution_identity", CID7050.RetainInstitutionIdentityOption),
)
TEMPORAL_STATE = {"remove": "REMOVED", "full": "UNMODIFIED", "shift": "MODIFIED"}
METHOD_PREFIX = "deidlake"
MAX_LO = 64


def method_codes(options: DeidOptions) -> list[Code]:
    """The profile code and one code per option in force, in CID 7050 order."""
    chosen = set(options.names)
    return [BASIC_PROFILE] + [code for name, code in _OPTION_CODES if name in chosen]


def apply_record(ds: Dataset, options: DeidOptions, encoding: tuple[bool, bool] = (False, True)) -> list[Code]:
    """Write the record for `options` (the options actually applied) into `ds`; returns the codes.

    `encoding` is the dataset's (implicit VR, little endian): the elements are inserted already
    encoded (built once per option set and encoding), because this runs once per file.
    """
    for element in _record_elements(options, encoding):
        ds._dict[element.tag] = element
    return method_codes(options)


@lru_cache(maxsize=64)
def _record_elements(options: DeidOptions, encoding: tuple[bool, bool]) -> tuple[RawDataElement, ...]:
    applied = method_codes(options)
    record = Dataset()
    record.PatientIdentityRemoved = "YES"
    record.LongitudinalTemporalInformationModified = TEMPORAL_STATE[options.dates]
    record.DeidentificationMethod = _method_text(options, applied)
    record.DeidentificationMethodCodeSequence = Sequence([_code_item(code) for code in applied])
    return _encoded(record, encoding)


def _encoded(ds: Dataset, encoding: tuple[bool, bool]) -> tuple[RawDataElement, ...]:
    """`ds` written and read back by pydicom: its elements as raw (already encoded) elements."""
    implicit, little = encoding
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
    pydicom_write_dataset(buffer, ds)
    buffer.seek(0)
    parsed = read_dataset(buffer, implicit, little)
    return tuple(parsed._dict.values())


def add_method_code(ds: Dataset, code: Code) -> None:
    """Record one more method (e.g. the pixel step's Clean Pixel Data) in an already recorded file."""
    sequence = ds.get("DeidentificationMethodCodeSequence")
    if sequence is None:
        ds.DeidentificationMethodCodeSequence = sequence = Sequence()
    if any(item.get("CodeValue") == code.value and item.get("CodingSchemeDesignator") == code.scheme_designator
           for item in sequence):
        return
    sequence.append(_code_item(code))
    text = ds.get("DeidentificationMethod")
    values = [] if not text else ([text] if isinstance(text, str) else list(text))
    ds.DeidentificationMethod = values + [code.meaning[:MAX_LO]]


def add_clean_pixel_data(ds: Dataset) -> None:
    """For the pixel step, once it has redacted burned-in text: adds 113101 Clean Pixel Data Option."""
    add_method_code(ds, CLEAN_PIXEL_DATA)


def _method_text(options: DeidOptions, applied: list[Code]) -> list[str]:
    """LO is 64 characters, so the description is multi-valued: our id, then one meaning per code."""
    return [f"{METHOD_PREFIX} {options.fingerprint}"[:MAX_LO]] + [code.meaning[:MAX_LO] for code in applied]


def _code_item(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return item
