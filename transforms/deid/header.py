"""De-identify the header of one DICOM dataset: Table E.1-1 with its options, and nothing unexamined.

Every element, in the file meta and at every sequence depth, gets exactly one decision:
* listed in Table E.1-1 -> the resolved rule of `profile.action_table(options)`;
* private -> removed (or kept from the curated safe-private list under Retain Safe Private);
* overlay (60xx) and curve (50xx) groups -> removed;
* unlisted and able to carry text, names, dates, ages or UIDs -> removed or replaced (keep lists apart);
* anything else (numbers, code strings, pixel and waveform data) -> kept untouched.

Speed: the dataset is changed in place, elements we keep are never decoded (pydicom writes their raw
bytes back), sequences are rewritten at the byte level, and pixel data is never read: a dataset from
`dicom_io.read_header` keeps its deferred Pixel Data element as it is.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset

from transforms.deid.dates import Shift, UnshiftableDate
from transforms.deid.errors import DeidError
from transforms.deid.file_meta import MEDIA_SOP_CLASS_UID, SOP_CLASS_UID, ascii_of, rewrite_file_meta
from transforms.deid.options import DeidOptions
from transforms.deid.profile import action_table
from transforms.deid.pseudonyms import clean_identifier, date_shift_days, patient_pseudonym, time_shift_seconds
from transforms.deid.record import apply_record
from transforms.deid.run import PLAIN, Run, TextCleaner
from transforms.deid.walk import walk_dataset
from transforms.deid.writer import write_dataset
from transforms.dicom_io import file_size, find_incompleteness, read_header
from transforms.keyring import DEMO_SECRET, MODE_ENV, Keyring, SecretError
from warehouse.settings import Mode, settings

PATIENT_KEY_SOURCES = ("PatientID", "StudyInstanceUID", "SOPInstanceUID")


@dataclass
class DeidResult:
    """The de-identified dataset and everything the caller records about it (no original values)."""

    dataset: Dataset
    audit: list[dict[str, Any]]        # element_path, tag, keyword, vr, action, original_hash
    patient_pseudonym: str
    patient_key_source: str            # which element keyed the patient (see docs/deid-profile.md)
    date_shift_days: int | None        # None unless dates="shift"
    time_shift_seconds: int | None     # None unless dates="shift" (times of day move too)
    uid_map: dict[str, str]            # keyring.hexdigest("audit", original UID) -> new UID
    options: DeidOptions               # the options actually applied (clean_* need a text cleaner)
    method_codes: tuple[str, ...]      # CID 7050 code values written in the record

    @property
    def sop_instance_uid(self) -> str | None:
        return ascii_of(self.dataset, 0x00080018)

    @property
    def study_instance_uid(self) -> str | None:
        return ascii_of(self.dataset, 0x0020000D)

    @property
    def series_instance_uid(self) -> str | None:
        return ascii_of(self.dataset, 0x0020000E)

    def to_bytes(self) -> bytes:
        return write_dataset(self.dataset)


def deidentify_dataset(ds: Dataset, options: DeidOptions, keyring: Keyring | None = None,
                       text_cleaner: TextCleaner | None = None, *, audit_all: bool = False) -> DeidResult:
    """De-identify `ds` in place (file meta included) and return it with its audit and pseudonyms.

    `text_cleaner` is the Clean Descriptors / Structured Content / Graphics hook: None removes the free
    text those options would keep, and the options are then not claimed in the record. `audit_all`
    also records the elements kept unchanged (default: only what changed). Raises DeidError when the
    file cannot be de-identified safely; `ds` must then be discarded. `keyring` None reads the secret
    from the environment (Keyring.from_env): without a real secret, only demo/test mode may run.
    """
    keyring = usable_keyring(keyring)
    table = action_table(options, text_cleaner is not None)
    try:
        patient_key, source = patient_key_of(ds)
        run = Run(table=table, keyring=keyring, text_cleaner=text_cleaner,
                  patient_pseudonym=patient_pseudonym(keyring, patient_key),
                  shift=Shift(date_shift_days(keyring, patient_key), time_shift_seconds(keyring, patient_key)),
                  audit_all=audit_all,
                  encoding=_encoding_of(ds),
                  sop_class=sop_class_of(ds))
        walk_dataset(run, ds, "", PLAIN)
        rewrite_file_meta(run, ds)
        codes = apply_record(ds, table.options, run.encoding)
        shifting = table.options.dates == "shift"
    except DeidError:
        raise
    except UnshiftableDate as exc:
        raise DeidError("unshiftable_date", cause=str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on bad values; quarantine
        raise DeidError("deid_failed", cause=type(exc).__name__) from exc
    return DeidResult(dataset=ds, audit=run.audit, patient_pseudonym=run.patient_pseudonym,
                      patient_key_source=source,
                      date_shift_days=run.shift.days if shifting else None,
                      time_shift_seconds=run.shift.seconds if shifting else None,
                      uid_map=run.uid_map, options=table.options,
                      method_codes=tuple(code.value for code in codes))


def deidentify_file(path: str | os.PathLike, options: DeidOptions, keyring: Keyring | None = None,
                    text_cleaner: TextCleaner | None = None, **kwargs: Any) -> tuple[bytes, DeidResult]:
    """Read the header (pixel data left on disk), check it is whole, de-identify, write to bytes."""
    try:
        ds = read_header(path)
        incomplete = find_incompleteness(ds, file_size(path))
    except Exception as exc:  # noqa: BLE001 - HeaderError or worse: the header cannot be fully parsed
        raise DeidError("unreadable_header", cause=getattr(exc, "reason", type(exc).__name__)) from exc
    if incomplete:
        raise DeidError(incomplete)
    result = deidentify_dataset(ds, options, keyring, text_cleaner, **kwargs)
    return _write_or_quarantine(result), result


def deidentify_bytes(data: bytes, options: DeidOptions, keyring: Keyring | None = None,
                     text_cleaner: TextCleaner | None = None, **kwargs: Any) -> tuple[bytes, DeidResult]:
    """The same for a file already in memory (e.g. a Spark binaryFile row)."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        incomplete = find_incompleteness(ds, len(data))
    except Exception as exc:  # noqa: BLE001
        raise DeidError("unreadable_header", cause=type(exc).__name__) from exc
    if incomplete:
        raise DeidError(incomplete)
    result = deidentify_dataset(ds, options, keyring, text_cleaner, **kwargs)
    return _write_or_quarantine(result), result


def _write_or_quarantine(result: DeidResult) -> bytes:
    try:
        return write_dataset(result.dataset)
    except Exception as exc:  # noqa: BLE001 - a value pydicom cannot encode: never publish half a file
        raise DeidError("unwritable_output", cause=type(exc).__name__) from exc


def usable_keyring(keyring: Keyring | None) -> Keyring:
    """The keyring to use; refuses the demo secret outside demo/test mode, however it was built."""
    if keyring is None:
        return Keyring.from_env()                     # raises SecretError without a real secret
    if keyring.secret == DEMO_SECRET.encode() and settings().mode not in (Mode.demo, Mode.test):
        raise SecretError(f"the demo secret is refused outside {MODE_ENV}=demo|test")
    return keyring


def patient_key_of(ds: Dataset) -> tuple[str, str]:
    """What identifies the patient for pseudonyms and the date shift, and which element it came from.

    PatientID when present; otherwise the StudyInstanceUID (then SOPInstanceUID), prefixed with its
    source, so that a file without a PatientID is never merged with another patient: at worst one
    patient gets one pseudonym per study. IssuerOfPatientID is ignored because modalities fill it
    inconsistently, which would split a patient.
    """
    for keyword in PATIENT_KEY_SOURCES:
        value = _text_or_none(ds, keyword)
        if value:
            return (value, keyword) if keyword == "PatientID" else (f"{keyword}:{value}", keyword)
    meta = getattr(ds, "file_meta", None)
    value = ascii_of(meta, 0x00020003) if meta is not None else None
    if value:
        return f"MediaStorageSOPInstanceUID:{value}", "MediaStorageSOPInstanceUID"
    raise DeidError("no_patient_key")


def sop_class_of(ds: Dataset) -> str | None:
    """The SOP Class UID of the dataset, else of its file meta (read without decoding the element)."""
    meta = getattr(ds, "file_meta", None)
    return ascii_of(ds, SOP_CLASS_UID) or (ascii_of(meta, MEDIA_SOP_CLASS_UID) if meta is not None else None)


def _text_or_none(ds: Dataset, keyword: str) -> str | None:
    """A text value, decoded without replacing the stored element (it stays raw, to be hashed as
    stored and written back as read)."""
    raw = ds._dict.get(tag_for_keyword(keyword))
    if raw is None:
        return None
    value = raw.value
    try:
        if isinstance(raw, RawDataElement) and isinstance(value, bytes):
            value = value.decode("ascii") if value.isascii() else \
                convert_raw_data_element(raw, encoding=ds._character_set, ds=ds).value
    except Exception as exc:  # noqa: BLE001
        raise DeidError("unparsable_element", where=keyword, cause=type(exc).__name__) from exc
    text = clean_identifier(str(value)) if value is not None else ""
    return text or None


def _encoding_of(ds: Dataset) -> tuple[bool, bool]:
    implicit, little = ds.original_encoding
    return (bool(implicit), little is not False)
