"""Walk every element of a dataset, at every depth, and apply its rule.

Two walkers share `rules.rule_for` and `values.new_value`:
* `walk_dataset` changes a pydicom Dataset in place (the top level, and sequences pydicom has already
  parsed: those of undefined length);
* `walk_sequence_bytes` rewrites a sequence value that pydicom left as raw bytes, item by item, with
  `raw_items` (no Dataset per item; an unchanged sequence is written back as read).
"""

from __future__ import annotations

from typing import Any

from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.values import convert_value

from transforms.deid import keep_lists as keep
from transforms.deid.dates import paired_time_tags
from transforms.deid.encode import ascii_element
from transforms.deid.errors import DeidError
from transforms.deid.profile import Op, Rule
from transforms.deid.pseudonyms import audit_hash
from transforms.deid.raw_items import IMPLICIT_LE, Codec, Element, MalformedItem, codec_for
from transforms.deid.rules import positioned, rule_for, safe_private_tags
from transforms.deid.run import CLEAN_CONTEXT, DUMMY_CONTEXT, RETAIN_CONTEXT, Run, effective_vr, path_of
from transforms.deid.values import ASCII_VALUED, FILLS_EMPTY, UNCHANGED, VALUE_FREE, ascii_value, new_value

CHARSET_TAG = 0x00080005
RECURSIVE = {Op.RECURSE: None, Op.RECURSE_DUMMY: DUMMY_CONTEXT, Op.RECURSE_CLEAN: CLEAN_CONTEXT,
             Op.RECURSE_RETAIN: RETAIN_CONTEXT}


# --- pydicom datasets ---------------------------------------------------------------------------

def walk_dataset(run: Run, ds: Dataset, prefix: str, context: str) -> None:
    """Decide every element of one dataset in place (and recurse into its sequences)."""
    items = list(ds._dict.items())
    kept_private = _dataset_safe_private(run, ds, items)
    scheme = _dataset_scheme(ds)
    for tag, raw in items:
        tag_int = int(tag)
        if (tag_int >> 16) & 1:
            if tag_int not in kept_private:
                _remove(run, ds, tag_int, raw, prefix, run.table.private.action)
            continue
        vr = effective_vr(raw.VR, tag_int)
        rule = positioned(rule_for(run, tag_int, vr, context, scheme), tag_int, vr, prefix, run.sop_class)
        paired = _paired_time(items, tag_int) if rule.op is Op.SHIFT and vr == "DA" else None
        _apply(run, ds, tag_int, raw, vr, prefix, context, rule, scheme, paired)


def _paired_time(items: list, tag: int) -> str | None:
    """The TM of the same event as read (items are the dataset's elements before any change)."""
    time_tag = paired_time_tags().get(tag)
    if time_tag is None:
        return None
    raw = next((raw for item_tag, raw in items if item_tag == time_tag), None)
    value = getattr(raw, "value", None)
    return value.decode("ascii", "replace") if isinstance(value, bytes) else (str(value) if value else None)


def _apply(run: Run, ds: Dataset, tag: int, raw: Any, vr: str, prefix: str, context: str, rule: Rule,
           scheme: str, paired_time: str | None = None) -> None:
    op = rule.op
    if op is Op.KEEP:
        if run.audit_all:
            run.record(prefix, tag, vr, rule.action, None)
    elif op is Op.REMOVE:
        _remove(run, ds, tag, raw, prefix, rule.action)
    elif op in RECURSIVE:
        _recurse(run, ds, tag, raw, prefix, RECURSIVE[op] or context)
    elif not _is_empty(raw) or op in FILLS_EMPTY:      # an empty value stays empty: nothing to replace
        vr, value = _vr_and_value(ds, tag, raw, vr, op, prefix)
        replacement = new_value(run, tag, vr, value, op, path_of(prefix, tag), scheme, paired_time)
        if replacement is not UNCHANGED:
            original_hash = run.hash_value(raw, ds)
            ds._dict[tag] = ascii_element(tag, vr, replacement, run.encoding) or DataElement(tag, vr, replacement)
            run.record(prefix, tag, vr, rule.action, original_hash)


def _vr_and_value(ds: Dataset, tag: int, raw: Any, vr: str, op: Op, prefix: str) -> tuple[str, Any]:
    """The element's VR and, only if the rule needs it, its value (decoded as cheaply as possible)."""
    if op in VALUE_FREE:
        return vr, None
    if op in ASCII_VALUED and isinstance(raw, RawDataElement) and raw.value is not None:
        return vr, ascii_value(raw.value)
    elem = _element(ds, tag, prefix)
    return elem.VR, elem.value


def _recurse(run: Run, ds: Dataset, tag: int, raw: Any, prefix: str, context: str) -> None:
    if isinstance(raw, RawDataElement) and raw.value is not None and raw.VR != "UN" and \
            effective_vr(raw.VR, tag) == "SQ":
        _recurse_raw(run, ds, tag, raw, prefix, context)
        return
    changes_before = run.changes
    elem = _element(ds, tag, prefix)
    if elem.VR != "SQ":
        _remove(run, ds, tag, raw, prefix, "X:not_a_sequence")
        return
    path = path_of(prefix, tag)
    for index, item in enumerate(elem.value or ()):
        walk_dataset(run, item, f"{path}[{index}].", context)
    if run.changes == changes_before and isinstance(raw, RawDataElement):
        ds._dict[tag] = raw                            # unchanged: write the original bytes back as read


def _recurse_raw(run: Run, ds: Dataset, tag: int, raw: RawDataElement, prefix: str, context: str) -> None:
    codec = codec_for(raw.is_implicit_VR, raw.is_little_endian)
    encodings = _dataset_encodings(ds)
    new = walk_sequence_bytes(run, raw.value, codec, path_of(prefix, tag), context, encodings)
    if new is not None:
        ds._dict[tag] = RawDataElement(raw.tag, "SQ", len(new), new, 0, raw.is_implicit_VR, raw.is_little_endian)


def _remove(run: Run, ds: Dataset, tag: int, raw: Any, prefix: str, action: str) -> None:
    original_hash = run.hash_value(raw, ds)
    del ds[tag]
    run.record(prefix, tag, effective_vr(raw.VR, tag), action, original_hash)


def _element(ds: Dataset, tag: int, prefix: str) -> DataElement:
    try:
        return ds[tag]
    except Exception as exc:  # noqa: BLE001 - a value pydicom cannot decode: we cannot judge it
        raise DeidError("unparsable_element", where=path_of(prefix, tag), cause=type(exc).__name__) from exc


def _is_empty(raw: Any) -> bool:
    if isinstance(raw, RawDataElement):
        return raw.length == 0
    value = raw.value
    return value is None or (not isinstance(value, (int, float)) and len(value) == 0)


def _dataset_scheme(ds: Dataset) -> str:
    """The item's Coding Scheme Designator as read ("" when absent: its codes then count as local)."""
    raw = ds._dict.get(keep.CODING_SCHEME_DESIGNATOR_TAG)
    return _stored_text(getattr(raw, "value", None))


def _dataset_safe_private(run: Run, ds: Dataset, items: list) -> set[int]:
    if run.table.private.op is not Op.SAFE_PRIVATE:
        return set()
    private = {int(tag): (raw.VR or "UN", raw.value) for tag, raw in items if tag.group & 1}
    return safe_private_tags(private) if private else set()


def _dataset_encodings(ds: Dataset) -> list[str]:
    try:
        charset = ds._character_set
        return [charset] if isinstance(charset, str) else list(charset)
    except Exception as exc:  # noqa: BLE001 - an unknown character set: text cannot be judged
        raise DeidError("unreadable_character_set", cause=type(exc).__name__) from exc


def _stored_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value or "").strip(" \x00")


# --- raw sequence bytes -------------------------------------------------------------------------

def walk_sequence_bytes(run: Run, value: bytes, codec: Codec, path: str, context: str,
                        encodings: list[str]) -> bytes | None:
    """The rewritten sequence value, or None when nothing in it changed."""
    try:
        payloads = codec.items(value)
    except MalformedItem as exc:
        raise DeidError("malformed_sequence", where=path, cause=exc.reason) from exc
    changed = False
    for index, payload in enumerate(payloads):
        new = _walk_item_bytes(run, payload, codec, f"{path}[{index}].", context, encodings)
        if new is not None:
            payloads[index], changed = new, True
    return codec.sequence_value(payloads) if changed else None


def _walk_item_bytes(run: Run, payload: bytes, codec: Codec, prefix: str, context: str,
                     encodings: list[str]) -> bytes | None:
    try:
        elements = codec.elements(payload)
    except MalformedItem as exc:
        raise DeidError("malformed_sequence", where=prefix.rstrip("."), cause=exc.reason) from exc
    encodings = _item_encodings(elements, encodings)
    scheme = next((_stored_text(e.value) for e in elements if e.tag == keep.CODING_SCHEME_DESIGNATOR_TAG), "")
    kept_private = _item_safe_private(run, elements)
    out: list[bytes] = []
    changed = False
    for element in elements:
        if (element.tag >> 16) & 1:
            if element.tag in kept_private:
                out.append(element.raw)
            else:
                _record_removal(run, prefix, element, run.table.private.action)
                changed = True
            continue
        vr = effective_vr(element.vr, element.tag)
        rule = positioned(rule_for(run, element.tag, vr, context, scheme), element.tag, vr, prefix, run.sop_class)
        paired = _paired_time_bytes(elements, element.tag) if rule.op is Op.SHIFT and vr == "DA" else None
        new = _apply_bytes(run, element, vr, rule, codec, prefix, context, encodings, scheme, paired)
        if new is None:
            out.append(element.raw)
        else:
            out.append(new)
            changed = True
    return b"".join(out) if changed else None


def _paired_time_bytes(elements: list[Element], tag: int) -> str | None:
    time_tag = paired_time_tags().get(tag)
    element = next((e for e in elements if e.tag == time_tag), None) if time_tag else None
    return element.value.decode("ascii", "replace") if element is not None and element.value else None


def _apply_bytes(run: Run, element: Element, vr: str, rule: Rule, codec: Codec, prefix: str, context: str,
                 encodings: list[str], scheme: str, paired_time: str | None = None) -> bytes | None:
    """The element's new bytes (b"" when removed), or None when it stays as stored."""
    op = rule.op
    if op is Op.KEEP:
        if run.audit_all:
            run.record(prefix, element.tag, vr, rule.action, None)
        return None
    if op is Op.REMOVE:
        _record_removal(run, prefix, element, rule.action)
        return b""
    if op in RECURSIVE:
        return _recurse_bytes(run, element, vr, codec, prefix, RECURSIVE[op] or context, encodings)
    if not element.value and op not in FILLS_EMPTY:
        return None                                    # an empty value stays empty: nothing to replace
    where = path_of(prefix, element.tag)
    value = None if op in VALUE_FREE else _decoded(element, vr, codec, op, encodings, where)
    replacement = new_value(run, element.tag, vr, value, op, where, scheme, paired_time)
    if replacement is UNCHANGED:
        return None
    run.record(prefix, element.tag, vr, rule.action, _hash_stored(run, element))
    return _encoded(element.tag, vr, replacement, codec, encodings)


def _recurse_bytes(run: Run, element: Element, vr: str, codec: Codec, prefix: str, context: str,
                   encodings: list[str]) -> bytes | None:
    path = path_of(prefix, element.tag)
    if element.vr == "UN" or (codec.implicit and vr == "UN"):
        nested = IMPLICIT_LE                           # a sequence stored as UN is implicit VR LE inside
    elif vr == "SQ":
        nested = codec
    else:
        _record_removal(run, prefix, element, "X:not_a_sequence")
        return b""
    new = walk_sequence_bytes(run, element.value, nested, path, context, encodings)
    if new is None:
        return None
    return codec.element(element.tag, "UN" if nested is not codec else "SQ", new)


def _record_removal(run: Run, prefix: str, element: Element, action: str) -> None:
    run.record(prefix, element.tag, effective_vr(element.vr, element.tag), action, _hash_stored(run, element))


def _hash_stored(run: Run, element: Element) -> str | None:
    if element.vr == "SQ" or element.undefined:
        return None                                    # sequences: their elements are audited instead
    return audit_hash(run.keyring, element.value.rstrip(b"\x00 "))


def _decoded(element: Element, vr: str, codec: Codec, op: Op, encodings: list[str], where: str) -> Any:
    if op in ASCII_VALUED:
        return ascii_value(element.value)
    raw = RawDataElement(element.tag, vr, len(element.value), element.value, 0, codec.implicit, codec.little)
    try:
        return convert_value(vr, raw, encodings)
    except Exception as exc:  # noqa: BLE001 - a value pydicom cannot decode: we cannot judge it
        raise DeidError("unparsable_element", where=where, cause=type(exc).__name__) from exc


def _encoded(tag: int, vr: str, value: Any, codec: Codec, encodings: list[str]) -> bytes:
    """The element's bytes: ASCII text directly, anything else through pydicom's writer."""
    fast = ascii_element(tag, vr, value, (codec.implicit, codec.little))
    if fast is not None:
        return codec.element(tag, vr, fast.value)
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = codec.implicit, codec.little
    write_data_element(buffer, DataElement(tag, vr, value), encodings)
    return buffer.getvalue()


def _item_encodings(elements: list[Element], inherited: list[str]) -> list[str]:
    """An item may declare its own Specific Character Set (PS3.5 7.5.3)."""
    for element in elements:
        if element.tag == CHARSET_TAG and element.value:
            terms = [term.strip() for term in element.value.decode("ascii", "replace").split("\\")]
            return convert_encodings(terms)
    return inherited


def _item_safe_private(run: Run, elements: list[Element]) -> set[int]:
    if run.table.private.op is not Op.SAFE_PRIVATE:
        return set()
    private = {e.tag: (e.vr, e.value) for e in elements if (e.tag >> 16) & 1}
    return safe_private_tags(private) if private else set()
