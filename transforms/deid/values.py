"""The replacement value of one element, given its rule: dummies, pseudonyms, UIDs, shifted dates,
cleaned text. Shared by both walkers; never sees more than one element."""

from __future__ import annotations

from typing import Any, Callable

from pydicom.multival import MultiValue
from pydicom.uid import UID_dictionary

from transforms.deid import keep_lists as keep
from transforms.deid.dates import (Shift, UnshiftableDate, redact_dates_in_text, shift_da, shift_dates_in_text,
                                   shift_dt, shift_tm)
from transforms.deid.dummy_values import DUMMY_TEXT, MAX_CHARS, dummy_for
from transforms.deid.encode import EMPTY_VALUE
from transforms.deid.errors import DeidError
from transforms.deid.profile import Op
from transforms.deid.pseudonyms import (accession_pseudonym, audit_hash, clean_identifier, code_pseudonym,
                                        new_uid, person_pseudonym)
from transforms.deid.run import Run

LOCAL_CODING_SCHEME = "99DEIDLAKE"
UNCHANGED = object()                                  # the rule leaves this value as it is
VALUE_FREE = frozenset({Op.EMPTY, Op.DUMMY, Op.PSEUDO_PATIENT_ID, Op.PSEUDO_PATIENT_NAME})
ASCII_VALUED = frozenset({Op.UID, Op.SHIFT})          # UI, DA, DT are ASCII whatever the charset
FILLS_EMPTY = frozenset({Op.PSEUDO_PATIENT_ID, Op.PSEUDO_PATIENT_NAME})


def new_value(run: Run, tag: int, vr: str, value: Any, op: Op, where: str, scheme: str = "",
              paired_time: str | None = None) -> Any:
    """The value replacing `value` (None for value-free rules); UNCHANGED when nothing is to change.

    `paired_time`: for a DA, the TM of the same event as read (see dates.shift_da)."""
    if op is Op.EMPTY:
        return EMPTY_VALUE
    if op is Op.DUMMY:
        return _dummy(vr, where)
    if op is Op.PSEUDO_PATIENT_ID or op is Op.PSEUDO_PATIENT_NAME:
        return run.patient_pseudonym
    if op is Op.UID:
        return map_values(value, lambda uid: mapped_uid(run, uid))
    if op is Op.SHIFT:
        return _shifted(vr, value, run.shift, where, paired_time)
    if op is Op.CLEAN_TEXT:
        return map_values(value, lambda text: _clean_text(run, text, vr))
    if op is Op.PSEUDO_ACCESSION:
        return map_values(value, lambda number: accession_pseudonym(run.keyring, str(number)))
    if op is Op.PSEUDO_PERSON:
        return map_values(value, lambda name: person_pseudonym(run.keyring, str(name)))
    if op is Op.LOCAL_CODE:
        return _local_code(run, tag, vr, value, scheme)
    raise DeidError("unhandled_rule", where=where, cause=str(op))


def ascii_value(data: bytes) -> str | list[str]:
    """A UI/DA/DT value straight from its bytes (ASCII by definition), multi-values split."""
    text = data.decode("ascii", "replace").strip(" \x00")
    return text.split("\\") if "\\" in text else text


def map_values(value: Any, replace: Callable[[Any], Any]) -> Any:
    """Apply `replace` to each non-empty value of a possibly multi-valued element."""
    if isinstance(value, (list, MultiValue)):
        return [replace(item) if item not in (None, "") else item for item in value]
    if value in (None, ""):
        return value
    return replace(value)


def mapped_uid(run: Run, uid: Any) -> str:
    text = clean_identifier(str(uid))
    if not text or text in UID_dictionary:                 # a registered UID identifies no one
        return text
    mapped = new_uid(run.keyring, text)
    run.uid_map[audit_hash(run.keyring, text)] = mapped
    return mapped


def _dummy(vr: str, where: str) -> Any:
    try:
        return dummy_for(vr)
    except KeyError as exc:
        raise DeidError("no_dummy_for_vr", where=where, cause=vr) from exc


def _shifted(vr: str, value: Any, shift: Shift, where: str, paired_time: str | None) -> Any:
    try:
        if vr == "DA":
            return map_values(value, lambda item: shift_da(str(item), shift, paired_time))
        if vr == "TM":
            return map_values(value, lambda item: shift_tm(str(item), shift.seconds))
        if vr == "DT":
            return map_values(value, lambda item: shift_dt(str(item), shift))
    except UnshiftableDate as exc:
        raise DeidError("unshiftable_date", where=where, cause=str(exc)) from exc
    raise DeidError("unshiftable_date", where=where, cause=f"vr_{vr}")


def _clean_text(run: Run, text: Any, vr: str) -> str:
    """Dates in the text follow the dates mode, then the PHI cleaner runs; the result fits the VR."""
    value = str(text)
    dates = run.table.options.dates
    if dates == "shift":
        value = shift_dates_in_text(value, run.shift.days)
    elif dates == "remove":
        value = redact_dates_in_text(value)
    cleaned = run.text_cleaner(value) if run.text_cleaner is not None else DUMMY_TEXT
    return cleaned[: MAX_CHARS.get(vr, len(cleaned))]


def _local_code(run: Run, tag: int, vr: str, value: Any, scheme: str) -> Any:
    """A code of a local scheme: an opaque keyed token, so equal codes stay equal and nothing leaks."""
    if tag == keep.CODING_SCHEME_DESIGNATOR_TAG:
        return LOCAL_CODING_SCHEME
    token = code_pseudonym(run.keyring, scheme, str(value))
    return f"urn:x-deidlake:{token}" if vr == "UR" else token
