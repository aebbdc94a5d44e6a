"""De-identify the header of one DICOM dataset: Table E.1-1 with its options, and nothing unexamined.

Every element, in the file meta and at every sequence depth, gets exactly one decision:
* listed in Table E.1-1 -> the resolved rule of `profile.action_table(options)`;
* private -> removed (or kept from the curated safe-private list under Retain Safe Private);
* overlay (60xx) and curve (50xx) groups -> removed;
* unlisted and able to carry text, names, dates, ages or UIDs -> removed or replaced (keep lists apart);
* anything else (numbers, code strings, pixel and waveform data) -> kept untouched.

Speed: the dataset is changed in place, elements we keep are never decoded (pydicom writes their raw
bytes back), and pixel data is never read: a dataset from `dicom_io.read_header` keeps its deferred
Pixel Data element as it is.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr, write_file_meta_info
from pydicom.filewriter import write_dataset as pydicom_write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import (UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, UID_dictionary)

from transforms.deid import keep_lists as keep
from transforms.deid.dates import UnshiftableDate, redact_dates_in_text, shift_da, shift_dates_in_text, shift_dt
from transforms.deid.dummy_values import DUMMY_TEXT, MAX_CHARS, dummy_for
from transforms.deid.encode import EMPTY_VALUE, ascii_element
from transforms.deid.errors import DeidError
from transforms.deid.options import DeidOptions
from transforms.deid.profile import CURVE_GROUPS, OVERLAY_GROUPS, ActionTable, Op, Rule, action_table
from transforms.deid.pseudonyms import (accession_pseudonym, audit_hash, clean_identifier, code_pseudonym,
                                        date_shift_days, new_uid, patient_pseudonym, person_pseudonym)
from transforms.deid.record import apply_record
from transforms.dicom_io import file_size, find_incompleteness, read_header
from transforms.keyring import DEMO_SECRET, MODE_ENV, Keyring, SecretError

TextCleaner = Callable[[str], str]

IMPLEMENTATION_CLASS_UID = "2.25.160894331566127329127424066416371745711"   # uuid5(URL, "deidlake")
IMPLEMENTATION_VERSION_NAME = "DEIDLAKE_0_1"
LOCAL_CODING_SCHEME = "99DEIDLAKE"
TRAILING_PADDING = 0xFFFCFFFC
META_KEPT = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010})
MEDIA_INSTANCE_UID = 0x00020003
PLAIN, DUMMY_CONTEXT, CLEAN_CONTEXT = "plain", "dummy", "clean"
PATIENT_KEY_SOURCES = ("PatientID", "StudyInstanceUID", "SOPInstanceUID")


@dataclass
class DeidResult:
    """The de-identified dataset and everything the caller records about it (no original values)."""

    dataset: Dataset
    audit: list[dict[str, Any]]
    patient_pseudonym: str
    patient_key_source: str            # which element keyed the patient (see docs/deid-profile.md)
    date_shift_days: int | None        # None unless dates="shift"
    uid_map: dict[str, str]            # keyring.hexdigest("audit", original UID) -> new UID
    options: DeidOptions               # the options actually applied (clean_* need a text cleaner)
    method_codes: tuple[str, ...]      # CID 7050 code values written in the record

    @property
    def sop_instance_uid(self) -> str | None:
        return _text_or_none(self.dataset, "SOPInstanceUID")

    @property
    def study_instance_uid(self) -> str | None:
        return _text_or_none(self.dataset, "StudyInstanceUID")

    @property
    def series_instance_uid(self) -> str | None:
        return _text_or_none(self.dataset, "SeriesInstanceUID")

    def to_bytes(self) -> bytes:
        return write_dataset(self.dataset)


@dataclass
class _Run:
    """The state of one file's walk."""

    table: ActionTable
    keyring: Keyring
    text_cleaner: TextCleaner | None
    patient_pseudonym: str
    shift_days: int
    audit_all: bool
    audit: list[dict[str, Any]] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict)
    changes: int = 0                   # every edit counts: an unchanged sequence is written as read
    encoding: tuple[bool, bool] = (False, True)   # (implicit VR, little endian) of the dataset
    item_scheme: str = ""              # Coding Scheme Designator of the item being walked, as read


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
        run = _Run(table=table, keyring=keyring, text_cleaner=text_cleaner,
                   patient_pseudonym=patient_pseudonym(keyring, patient_key),
                   shift_days=date_shift_days(keyring, patient_key), audit_all=audit_all,
                   encoding=_encoding_of(ds))
        _walk(run, ds, "", PLAIN)
        _rewrite_file_meta(run, ds)
        codes = apply_record(ds, table.options, run.encoding)
    except DeidError:
        raise
    except UnshiftableDate as exc:
        raise DeidError("unshiftable_date", cause=str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on bad values; quarantine
        raise DeidError("deid_failed", cause=type(exc).__name__) from exc
    return DeidResult(dataset=ds, audit=run.audit, patient_pseudonym=run.patient_pseudonym,
                      patient_key_source=source,
                      date_shift_days=run.shift_days if table.options.dates == "shift" else None,
                      uid_map=run.uid_map, options=table.options,
                      method_codes=tuple(code.value for code in codes))


def deidentify_file(path: str | os.PathLike, options: DeidOptions, keyring: Keyring | None = None,
                    text_cleaner: TextCleaner | None = None, **kwargs: Any) -> tuple[bytes, DeidResult]:
    """Read the header (pixel data left on disk), de-identify, and write the whole file to bytes."""
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
    except Exception as exc:  # noqa: BLE001
        raise DeidError("unreadable_header", cause=type(exc).__name__) from exc
    result = deidentify_dataset(ds, options, keyring, text_cleaner, **kwargs)
    return _write_or_quarantine(result), result


def write_dataset(ds: Dataset) -> bytes:
    """Part 10 bytes of `ds` in its own transfer syntax (deferred values are read from their file).

    pydicom's own pieces (write_file_meta_info, write_dataset) without dcmwrite's deep copy of the
    file meta and double validation: we own the file meta, and this runs once per file.
    """
    try:
        return _write_part10(ds)
    except (TypeError, ValueError):
        if not _has_raw_without_vr(ds):
            raise
        # The body is implicit VR while the transfer syntax says explicit (seen in the wild, and
        # pydicom cannot copy such raw elements): give every element its VR and write it properly.
        _decode_raw_without_vr(ds)
        correct_ambiguous_vr(ds, ds.original_encoding[1] is not False)
        return _write_part10(ds)


def _write_part10(ds: Dataset) -> bytes:
    meta = ds.file_meta
    syntax = UID(_ascii_of(meta, 0x00020010) or "")
    if syntax == DeflatedExplicitVRLittleEndian or not syntax.is_transfer_syntax:
        buffer = io.BytesIO()                          # rare: let dcmwrite deflate / decide
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    fp = DicomBytesIO()
    fp.write(getattr(ds, "preamble", None) or b"\x00" * 128)
    fp.write(b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    fp.is_implicit_VR, fp.is_little_endian = syntax.is_implicit_VR, syntax.is_little_endian
    pydicom_write_dataset(fp, ds)
    return fp.getvalue()


def _has_raw_without_vr(ds: Dataset) -> bool:
    return any(isinstance(raw, RawDataElement) and raw.VR is None for raw in ds._dict.values())


def _decode_raw_without_vr(ds: Dataset) -> None:
    for tag, raw in list(ds._dict.items()):
        if isinstance(raw, RawDataElement) and raw.VR is None:
            elem = ds[tag]
            if elem.VR == "SQ":
                for item in elem.value or ():
                    _decode_raw_without_vr(item)


def _write_or_quarantine(result: DeidResult) -> bytes:
    try:
        return write_dataset(result.dataset)
    except Exception as exc:  # noqa: BLE001 - a value pydicom cannot encode: never publish half a file
        raise DeidError("unwritable_output", cause=type(exc).__name__) from exc


def _encoding_of(ds: Dataset) -> tuple[bool, bool]:
    implicit, little = ds.original_encoding
    return (bool(implicit), little is not False)


def usable_keyring(keyring: Keyring | None) -> Keyring:
    """The keyring to use; refuses the demo secret outside demo/test mode, however it was built."""
    if keyring is None:
        return Keyring.from_env()                     # raises SecretError without a real secret
    if keyring.secret == DEMO_SECRET.encode() and os.environ.get(MODE_ENV, "production") not in ("demo", "test"):
        raise SecretError(f"the demo secret is refused outside {MODE_ENV}=demo|test")
    return keyring


# --- the patient --------------------------------------------------------------------------------

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
    value = _text_or_none(meta, "MediaStorageSOPInstanceUID") if meta is not None else None
    if value:
        return f"MediaStorageSOPInstanceUID:{value}", "MediaStorageSOPInstanceUID"
    raise DeidError("no_patient_key")


def _text_or_none(ds: Dataset | None, keyword: str) -> str | None:
    if ds is None:
        return None
    try:
        value = ds.get(keyword)
    except Exception as exc:  # noqa: BLE001
        raise DeidError("unparsable_element", where=keyword, cause=type(exc).__name__) from exc
    text = clean_identifier(str(value)) if value is not None else ""
    return text or None


# --- the walk -----------------------------------------------------------------------------------

def _walk(run: _Run, ds: Dataset, prefix: str, context: str) -> None:
    """Decide every element of one dataset (and recurse into its sequences)."""
    kept_private: set[int] | None = None
    scheme: str | None = None
    for tag, raw in list(ds._dict.items()):
        tag_int = int(tag)
        group = tag_int >> 16
        if group & 1:
            if run.table.private.op is Op.SAFE_PRIVATE:
                if kept_private is None:              # before any private element of ds is removed
                    kept_private = _safe_private_tags(ds)
                if tag_int in kept_private:
                    continue
            _remove(run, ds, tag_int, raw, prefix, run.table.private.action)
        elif group in OVERLAY_GROUPS:
            _remove(run, ds, tag_int, raw, prefix, run.table.overlay.action)
        elif group in CURVE_GROUPS:
            _remove(run, ds, tag_int, raw, prefix, run.table.curve.action)
        elif tag_int & 0xFFFF == 0 or tag_int == TRAILING_PADDING:
            del ds._dict[tag]                          # group lengths (stale after edits) and padding
            run.changes += 1
        elif tag_int in keep.CODE_COMPONENT_TAGS:
            if scheme is None:                         # read before the designator itself is replaced
                scheme = _scheme_original(ds)
            run.item_scheme = scheme
            _apply(run, ds, tag_int, raw, prefix, context, _code_component_rule(run, scheme, tag_int))
        else:
            rule = run.table.rules.get(tag_int) or _unlisted_rule(run, tag_int, _vr_of(raw, tag_int), context)
            _apply(run, ds, tag_int, raw, prefix, context, rule)


def _apply(run: _Run, ds: Dataset, tag: int, raw: Any, prefix: str, context: str, rule: Rule) -> None:
    op = rule.op
    if op is Op.KEEP:
        if run.audit_all:
            _audit(run, prefix, tag, _vr_of(raw, tag), rule.action, None)
        return
    if op is Op.REMOVE:
        _remove(run, ds, tag, raw, prefix, rule.action)
        return
    if op in _RECURSIVE:
        _recurse(run, ds, tag, raw, prefix, _RECURSIVE[op] or context)
        return
    if _is_empty(raw) and op not in _FILLS_EMPTY:
        return                                         # nothing to replace; never invent a value
    vr, value = _vr_and_value(ds, tag, raw, op, prefix)
    new_value = _new_value(run, ds, tag, vr, value, op, prefix)
    if new_value is _UNCHANGED:
        return
    original_hash = _value_hash(run, raw)
    _store(run, ds, tag, vr, new_value)
    _audit(run, prefix, tag, vr, rule.action, original_hash)


def _store(run: _Run, ds: Dataset, tag: int, vr: str, value: Any) -> None:
    """Replace an element's value in place (raw bytes for ASCII text, else through pydicom)."""
    ds._dict[tag] = ascii_element(tag, vr, value, run.encoding) or DataElement(tag, vr, value)


_UNCHANGED = object()
_RECURSIVE = {Op.RECURSE: None, Op.RECURSE_DUMMY: DUMMY_CONTEXT, Op.RECURSE_CLEAN: CLEAN_CONTEXT}
_FILLS_EMPTY = frozenset({Op.PSEUDO_PATIENT_ID, Op.PSEUDO_PATIENT_NAME})
_VALUE_FREE = frozenset({Op.EMPTY, Op.DUMMY, Op.PSEUDO_PATIENT_ID, Op.PSEUDO_PATIENT_NAME})
_ASCII_VALUED = frozenset({Op.UID, Op.SHIFT})          # UI, DA, DT are ASCII whatever the charset


def _vr_and_value(ds: Dataset, tag: int, raw: Any, op: Op, prefix: str) -> tuple[str, Any]:
    """The element's VR and, only if the rule needs it, its value (decoded as cheaply as possible)."""
    if op in _VALUE_FREE:
        return _vr_of(raw, tag), None
    if op in _ASCII_VALUED and isinstance(raw, RawDataElement) and raw.value is not None:
        return _vr_of(raw, tag), _ascii_value(raw.value)
    elem = _element(ds, tag, prefix)
    return elem.VR, elem.value


def _ascii_value(data: bytes) -> str | list[str]:
    text = data.decode("ascii", "replace").strip(" \x00")
    return text.split("\\") if "\\" in text else text


def _new_value(run: _Run, ds: Dataset, tag: int, vr: str, value: Any, op: Op, prefix: str) -> Any:
    if op is Op.EMPTY:
        return EMPTY_VALUE
    if op is Op.DUMMY:
        return _dummy(vr, prefix, tag)
    if op is Op.PSEUDO_PATIENT_ID or op is Op.PSEUDO_PATIENT_NAME:
        return run.patient_pseudonym
    if op is Op.UID:
        return _map_values(value, lambda uid: _mapped_uid(run, uid))
    if op is Op.SHIFT:
        return _shifted(vr, value, run.shift_days, prefix, tag)
    if op is Op.CLEAN_TEXT:
        return _map_values(value, lambda text: _clean_text(run, text, vr))
    if op is Op.PSEUDO_ACCESSION:
        return _map_values(value, lambda number: accession_pseudonym(run.keyring, str(number)))
    if op is Op.PSEUDO_PERSON:
        return _map_values(value, lambda name: person_pseudonym(run.keyring, str(name)))
    if op is Op.LOCAL_CODE:
        return _local_code(run, ds, tag, vr, value)
    raise DeidError("unhandled_rule", where=_path(prefix, tag), cause=str(op))


def _dummy(vr: str, prefix: str, tag: int) -> Any:
    try:
        return dummy_for(vr)
    except KeyError as exc:
        raise DeidError("no_dummy_for_vr", where=_path(prefix, tag), cause=vr) from exc


def _map_values(value: Any, replace: Callable[[Any], Any]) -> Any:
    """Apply `replace` to each non-empty value of a possibly multi-valued element."""
    if isinstance(value, (list, MultiValue)):
        return [replace(item) if item not in (None, "") else item for item in value]
    if value in (None, ""):
        return value
    return replace(value)


def _recurse(run: _Run, ds: Dataset, tag: int, raw: Any, prefix: str, context: str) -> None:
    changes_before = run.changes
    elem = _element(ds, tag, prefix)
    if elem.VR != "SQ":                                # e.g. a sequence stored as UN in an implicit file
        _remove(run, ds, tag, raw, prefix, "X:not_a_sequence")
        return
    path = _path(prefix, tag)
    for index, item in enumerate(elem.value or ()):
        _walk(run, item, f"{path}[{index}].", context)
    if run.changes == changes_before and isinstance(raw, RawDataElement):
        ds._dict[tag] = raw                            # unchanged: write the original bytes back as read


def _remove(run: _Run, ds: Dataset, tag: int, raw: Any, prefix: str, action: str) -> None:
    original_hash = _value_hash(run, raw)
    del ds[tag]
    _audit(run, prefix, tag, _vr_of(raw, tag), action, original_hash)


# --- unlisted elements --------------------------------------------------------------------------

_KEEP = Rule(Op.KEEP, "K", "keep_list")


def _unlisted_rule(run: _Run, tag: int, vr: str, context: str) -> Rule:
    """An element Table E.1-1 does not list: decided by what its VR can carry."""
    options = run.table.options
    if vr in keep.TEXT_VRS:
        if tag in keep.KEEP_TEXT_TAGS:
            return _KEEP
        if tag in keep.REQUIRED_FREE_TEXT:
            return _required_text_rule(run, keep.REQUIRED_FREE_TEXT[tag], context)
        return _context_text_rule(run, vr, context)
    if vr == "UN":
        return Rule(Op.REMOVE, "X:unlisted_un", "unlisted")
    if vr in keep.DATE_VRS:
        if options.dates == "full":
            return Rule(Op.KEEP, "K", "rtnLongFullDatesOpt")
        if options.dates == "shift":
            return Rule(Op.SHIFT, "C:unlisted_date", "rtnLongModifDatesOpt")
        if context == DUMMY_CONTEXT:
            return Rule(Op.DUMMY, "D:unlisted_date", "unlisted")
        return Rule(Op.REMOVE, "X:unlisted_date", "unlisted")
    if vr == "UI":
        if options.retain_uids or tag in keep.DEFINITION_UID_TAGS:
            return _KEEP
        return Rule(Op.UID, "U:unlisted_uid", "unlisted")
    if vr == "AS" and not options.retain_patient_characteristics:
        return Rule(Op.REMOVE, "X:unlisted_age", "unlisted")
    if vr == "SQ":
        return Rule(Op.RECURSE, "K", "unlisted")
    return _KEEP


def _required_text_rule(run: _Run, action: str, context: str) -> Rule:
    """Free text an IOD requires: cleaned when possible, else emptied (Type 2) or dummied (Type 1)."""
    cleaning = run.table.options.clean_descriptors or context == CLEAN_CONTEXT
    if run.text_cleaner is not None and cleaning:
        return Rule(Op.CLEAN_TEXT, "C:required_text", "required_text")
    if action == "D" or context == DUMMY_CONTEXT:
        return Rule(Op.DUMMY, "D:required_text", "required_text")
    return Rule(Op.EMPTY, "Z:required_text", "required_text")


def _context_text_rule(run: _Run, vr: str, context: str) -> Rule:
    """Free text not in the table: removed, unless a D or C sequence asked for its items to be kept."""
    if context == PLAIN:
        return Rule(Op.REMOVE, "X:unlisted_text_vr", "unlisted")
    if vr == "PN":
        return Rule(Op.PSEUDO_PERSON, "D:unlisted_text_vr", "unlisted")
    if context == CLEAN_CONTEXT and run.text_cleaner is not None and vr in ("LO", "SH", "ST", "LT", "UT", "UC"):
        return Rule(Op.CLEAN_TEXT, "C:unlisted_text_vr", "unlisted")
    return Rule(Op.DUMMY, "D:unlisted_text_vr", "unlisted")


# --- coded entries ------------------------------------------------------------------------------

def _code_component_rule(run: _Run, scheme: str, tag: int) -> Rule:
    """Codes from public schemes are kept; codes of local schemes are pseudonymised (see keep_lists)."""
    if scheme in keep.PUBLIC_CODING_SCHEMES:
        return _KEEP
    if tag == keep.CODE_MEANING_TAG:
        if run.text_cleaner is not None and run.table.options.clean_descriptors:
            return Rule(Op.CLEAN_TEXT, "C:local_code", "local_code")
        return Rule(Op.DUMMY, "D:local_code", "local_code")
    if tag == keep.CODING_SCHEME_VERSION_TAG:
        return Rule(Op.REMOVE, "X:local_code", "local_code")
    if tag == keep.CODING_SCHEME_UID_TAG:
        return Rule(Op.UID, "U:local_code", "local_code")
    return Rule(Op.LOCAL_CODE, "D:local_code", "local_code")


def _local_code(run: _Run, ds: Dataset, tag: int, vr: str, value: Any) -> Any:
    if tag == keep.CODING_SCHEME_DESIGNATOR_TAG:
        return LOCAL_CODING_SCHEME
    token = code_pseudonym(run.keyring, run.item_scheme, str(value))
    return f"urn:x-deidlake:{token}" if vr == "UR" else token


def _scheme_original(ds: Dataset) -> str:
    """The item's Coding Scheme Designator as read ("" when absent: then the codes count as local)."""
    raw = ds._dict.get(pydicom.tag.Tag(keep.CODING_SCHEME_DESIGNATOR_TAG))
    value = getattr(raw, "value", "") or ""
    return clean_identifier(value.decode("latin-1") if isinstance(value, bytes) else str(value))


# --- private elements (Retain Safe Private) ------------------------------------------------------

def _safe_private_tags(ds: Dataset) -> set[int]:
    """The private elements of `ds` on the safe-private list, with their private creator elements."""
    private = [tag for tag in ds._dict if tag.group & 1]
    creators: dict[tuple[int, int], str] = {}
    for tag in private:
        if 0x10 <= tag.element <= 0xFF:
            creators[(tag.group, tag.element)] = _creator_text(ds._dict[tag])
    kept: set[int] = set()
    for tag in private:
        if tag.element < 0x1000 or tag.group < 0x0009:
            continue
        creator = creators.get((tag.group, tag.element >> 8))
        if creator and keep.is_safe_private(creator, tag.group, tag.element) and _safe_value(ds._dict[tag]):
            kept.update({int(tag), (tag.group << 16) | (tag.element >> 8)})
    return kept


def _creator_text(raw: Any) -> str:
    value = raw.value
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00")
    return str(value or "").strip(" \x00")


def _safe_value(raw: Any) -> bool:
    """A safe-private element must hold what the list says (numbers or codes), not text."""
    vr = raw.VR or "UN"
    if vr not in keep.SAFE_PRIVATE_STORED_VRS:
        return False
    if vr == "UN" and isinstance(raw.value, bytes):
        return all(byte in b"0123456789+-.eE \\_ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00" for byte in raw.value) or \
            len(raw.value) % 2 == 0 and len(raw.value) <= 64
    return True


# --- values -------------------------------------------------------------------------------------

def _mapped_uid(run: _Run, uid: Any) -> str:
    text = clean_identifier(str(uid))
    if not text or text in UID_dictionary:                 # a registered UID identifies no one
        return text
    mapped = new_uid(run.keyring, text)
    run.uid_map[audit_hash(run.keyring, text)] = mapped
    return mapped


def _shifted(vr: str, value: Any, days: int, prefix: str, tag: int) -> Any:
    try:
        if vr == "DA":
            return _map_values(value, lambda item: shift_da(str(item), days))
        if vr == "DT":
            return _map_values(value, lambda item: shift_dt(str(item), days))
    except UnshiftableDate as exc:
        raise DeidError("unshiftable_date", where=_path(prefix, tag), cause=str(exc)) from exc
    if vr == "TM":
        return _UNCHANGED                                  # a whole-day shift leaves times of day alone
    raise DeidError("unshiftable_date", where=_path(prefix, tag), cause=f"vr_{vr}")


def _clean_text(run: _Run, text: Any, vr: str) -> str:
    """Dates in the text follow the dates mode, then the PHI cleaner runs; the result fits the VR."""
    value = str(text)
    dates = run.table.options.dates
    if dates == "shift":
        value = shift_dates_in_text(value, run.shift_days)
    elif dates == "remove":
        value = redact_dates_in_text(value)
    cleaned = run.text_cleaner(value) if run.text_cleaner is not None else DUMMY_TEXT
    return cleaned[: MAX_CHARS.get(vr, len(cleaned))]


def _element(ds: Dataset, tag: int, prefix: str) -> DataElement:
    try:
        return ds[tag]
    except Exception as exc:  # noqa: BLE001 - a value pydicom cannot decode: we cannot judge it
        raise DeidError("unparsable_element", where=_path(prefix, tag), cause=type(exc).__name__) from exc


def _is_empty(raw: Any) -> bool:
    if isinstance(raw, RawDataElement):
        return raw.length == 0
    value = raw.value
    return value is None or (not isinstance(value, (int, float)) and len(value) == 0)


@lru_cache(maxsize=4096)
def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return "UN"


def _vr_of(raw: Any, tag: int) -> str:
    """The VR that decides: the stored one, or the dictionary's when the file says nothing or UN
    about a public element (pydicom converts such values to the dictionary VR when it reads them)."""
    vr = raw.VR
    if vr is None or (vr == "UN" and not (tag >> 16) & 1):
        return _dictionary_vr(tag)
    return str(vr)


@lru_cache(maxsize=4096)
def _keyword(tag: int) -> str | None:
    return keyword_for_tag(tag) or None


def _path(prefix: str, tag: int) -> str:
    return f"{prefix}{int(tag):08X}"


def _value_hash(run: _Run, raw: Any) -> str | None:
    """Keyed hash of the value as stored (padding stripped); None for a value left on disk."""
    value = raw.value
    if value is None or isinstance(value, Sequence):
        return None
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value).rstrip(b"\x00 ")
    elif isinstance(value, (list, MultiValue)):
        data = "\\".join(str(item) for item in value).encode("utf-8")
    else:
        data = str(value).encode("utf-8")
    return audit_hash(run.keyring, data)


def _audit(run: _Run, prefix: str, tag: int, vr: str, action: str, original_hash: str | None) -> None:
    if action != "K":
        run.changes += 1
    run.audit.append({
        "element_path": _path(prefix, tag), "tag": f"{tag:08X}", "keyword": _keyword(tag),
        "vr": vr, "action": action, "original_hash": original_hash,
    })


# --- file meta ----------------------------------------------------------------------------------

def _rewrite_file_meta(run: _Run, ds: Dataset) -> None:
    """Keep what describes the file; point it at the new instance; name ourselves; drop the rest."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    for tag, raw in list(meta._dict.items()):
        tag_int = int(tag)
        if tag_int in META_KEPT:
            continue
        if tag_int == MEDIA_INSTANCE_UID:
            new_instance = _new_media_instance_uid(run, ds, meta)
            if new_instance is not None:
                original_hash = _value_hash(run, raw)
                _set_meta(meta, MEDIA_INSTANCE_UID, "UI", new_instance)
                _audit(run, "", tag_int, "UI", "U:file_meta", original_hash)
            continue
        _remove(run, meta, tag_int, raw, "", "X:file_meta")
    _complete_file_meta(ds, meta)
    _set_meta(meta, 0x00020012, "UI", IMPLEMENTATION_CLASS_UID)
    _set_meta(meta, 0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    if getattr(ds, "preamble", None) is None:
        ds.preamble = b"\x00" * 128


def _set_meta(meta: FileMetaDataset, tag: int, vr: str, value: str) -> None:
    """File meta is always explicit VR little endian."""
    meta._dict[pydicom.tag.Tag(tag)] = ascii_element(tag, vr, value, (False, True))


def _complete_file_meta(ds: Dataset, meta: FileMetaDataset) -> None:
    """A bare dataset (no Part 10 header) is written as a proper file: describe it from itself."""
    if 0x00020010 not in meta._dict:
        implicit, little = ds.original_encoding
        syntax = (ImplicitVRLittleEndian if implicit else
                  ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian)
        _set_meta(meta, 0x00020010, "UI", syntax)
    for meta_tag, ds_tag in ((0x00020002, 0x00080016), (0x00020003, 0x00080018)):
        value = _ascii_of(ds, ds_tag)
        if meta_tag not in meta._dict and value:
            _set_meta(meta, meta_tag, "UI", value)


def _new_media_instance_uid(run: _Run, ds: Dataset, meta: FileMetaDataset) -> str | None:
    sop_instance = _ascii_of(ds, 0x00080018)
    if sop_instance:
        return sop_instance
    current = _ascii_of(meta, MEDIA_INSTANCE_UID)
    if not current or run.table.options.retain_uids:
        return None
    return _mapped_uid(run, current)


def _ascii_of(ds: Dataset, tag: int) -> str | None:
    """A UI value read without decoding the element (it is ASCII whatever the character set)."""
    raw = ds._dict.get(tag)
    if raw is None:
        return None
    value = raw.value
    text = _ascii_value(value) if isinstance(value, bytes) else value
    if isinstance(text, (list, MultiValue)):
        text = "\\".join(str(item) for item in text)
    return clean_identifier(str(text or "")) or None


def iter_values(ds: Dataset) -> Iterable[tuple[str, Any]]:
    """Every (element path, value) of a dataset, file meta first: for leak checks and tests."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from _iter(meta, "")
    yield from _iter(ds, "")


def _iter(ds: Dataset, prefix: str) -> Iterable[tuple[str, Any]]:
    for elem in ds:
        path = _path(prefix, elem.tag)
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or ()):
                yield from _iter(item, f"{path}[{index}].")
        else:
            yield path, elem.value
