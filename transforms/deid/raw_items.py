"""Sequence items at the byte level: split a sequence value into items, an item into elements, and
write them back.

Why hand-written: pydicom turns every sequence item into a Dataset object and writes it back element
by element, which is where most of the time of a header rewrite went (an SR or an enhanced
multi-frame header has hundreds of items; pydicom's plain read+write copies them as one block).
The framing rules (PS3.5 7.1 and 7.5) are small: tag, VR (explicit only), a 2- or 4-byte length,
undefined lengths closed by delimitation items. Values are never interpreted here. Framing is
checked strictly, which pydicom does not do (it silently truncates an item that overruns its
sequence): a malformed item raises MalformedItem and the file is quarantined.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from transforms.deid.run import dictionary_vr

ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
ALL_VRS = LONG_VRS | frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN",
                                "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"})
MAX_DEPTH = 64


class MalformedItem(ValueError):
    """The bytes do not frame as DICOM items/elements; `reason` is machine-readable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Element:
    tag: int
    vr: str            # as stored; for implicit VR the dictionary's ("UN" if unknown)
    value: bytes       # the value (undefined length: the content, without its closing delimiter)
    raw: bytes         # the element exactly as stored, to be written back when unchanged
    undefined: bool


class Codec:
    """One transfer syntax's framing: implicit or explicit VR, little or big endian."""

    def __init__(self, implicit: bool, little: bool):
        self.implicit, self.little = implicit, little
        order = "<" if little else ">"
        self._tag = struct.Struct(order + "HH")
        self._u16 = struct.Struct(order + "H")
        self._u32 = struct.Struct(order + "L")

    # --- reading ---------------------------------------------------------------------------------

    def items(self, data: bytes) -> list[bytes]:
        """The item payloads of a sequence value (defined-length or undefined-length content)."""
        payloads, pos, end = [], 0, len(data)
        while pos < end:
            tag, length = self._item_header(data, pos, end)
            if tag == SEQUENCE_END:
                break
            if tag != ITEM:
                raise MalformedItem("not_an_item")
            start = pos + 8
            if length == UNDEFINED:
                stop, pos = self._undefined_item_extent(data, start, end, 0)
                payloads.append(data[start:stop])
            else:
                if start + length > end:
                    raise MalformedItem("item_overruns_sequence")
                payloads.append(data[start:start + length])
                pos = start + length
        return payloads

    def elements(self, data: bytes) -> list[Element]:
        """The elements of one item payload, in stored order."""
        found, pos, end = [], 0, len(data)
        while pos < end:
            element, pos = self._element(data, pos, end, 0)
            if element.tag >> 16 == 0xFFFE:
                raise MalformedItem("stray_delimiter")
            found.append(element)
        return found

    def _element(self, data: bytes, pos: int, end: int, depth: int) -> tuple[Element, int]:
        if pos + 8 > end:
            raise MalformedItem("truncated_element_header")
        group, number = self._tag.unpack_from(data, pos)
        tag = (group << 16) | number
        if group == 0xFFFE:                              # item tags carry no VR, even in explicit VR
            length = self._u32.unpack_from(data, pos + 4)[0]
            header, vr = 8, "NONE"
        elif self.implicit:
            length = self._u32.unpack_from(data, pos + 4)[0]
            header, vr = 8, dictionary_vr(tag)
        else:
            vr = data[pos + 4:pos + 6].decode("latin-1")
            if vr not in ALL_VRS:
                raise MalformedItem("bad_vr")
            if vr in LONG_VRS:
                if pos + 12 > end:
                    raise MalformedItem("truncated_element_header")
                length, header = self._u32.unpack_from(data, pos + 8)[0], 12
            else:
                length, header = self._u16.unpack_from(data, pos + 6)[0], 8
        start = pos + header
        if length == UNDEFINED:
            stop, after = self._undefined_extent(data, start, end, tag, vr, depth)
            return Element(tag, vr, data[start:stop], data[pos:after], True), after
        if start + length > end:
            raise MalformedItem("element_overruns_item")
        return Element(tag, vr, data[start:start + length], data[pos:start + length], False), start + length

    def _undefined_extent(self, data: bytes, start: int, end: int, tag: int, vr: str,
                          depth: int) -> tuple[int, int]:
        """(end of content, end after the sequence delimiter) of an undefined-length value."""
        if depth > MAX_DEPTH:
            raise MalformedItem("nesting_too_deep")
        nested = self if vr != "UN" else IMPLICIT_LE          # UN of undefined length: implicit VR LE
        pos = start
        while True:
            tag_here, length = nested._item_header(data, pos, end)
            if tag_here == SEQUENCE_END:
                return pos, pos + 8
            if tag_here != ITEM:
                raise MalformedItem("not_an_item")
            if length == UNDEFINED:
                if vr in ("OB", "OW"):
                    raise MalformedItem("undefined_fragment")
                _, pos = nested._undefined_item_extent(data, pos + 8, end, depth + 1)
            else:
                if pos + 8 + length > end:
                    raise MalformedItem("item_overruns_sequence")
                pos += 8 + length

    def _undefined_item_extent(self, data: bytes, start: int, end: int, depth: int) -> tuple[int, int]:
        """(end of content, end after the item delimiter) of an undefined-length item."""
        pos = start
        while pos < end:
            element, after = self._element(data, pos, end, depth + 1)
            if element.tag == ITEM_END:
                return pos, after
            pos = after
        raise MalformedItem("missing_item_delimiter")

    def _item_header(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        if pos + 8 > end:
            raise MalformedItem("truncated_item_header")
        group, number = self._tag.unpack_from(data, pos)
        return (group << 16) | number, self._u32.unpack_from(data, pos + 4)[0]

    # --- writing ---------------------------------------------------------------------------------

    def element(self, tag: int, vr: str, value: bytes) -> bytes:
        """An element with a defined length."""
        return self.header(tag, vr, len(value)) + value

    def header(self, tag: int, vr: str, length: int) -> bytes:
        """Tag, VR (explicit VR only) and length; `length` may be UNDEFINED for SQ, UN, OB, OW."""
        head = self._tag.pack(tag >> 16, tag & 0xFFFF)
        if self.implicit:
            return head + self._u32.pack(length)
        if vr in LONG_VRS:
            return head + vr.encode() + b"\x00\x00" + self._u32.pack(length)
        if length > 0xFFFF:
            raise MalformedItem("value_too_long_for_vr")
        return head + vr.encode() + self._u16.pack(length)

    def sequence_delimiter(self) -> bytes:
        return self._tag.pack(0xFFFE, 0xE0DD) + self._u32.pack(0)

    def item(self, payload: bytes) -> bytes:
        return self._tag.pack(0xFFFE, 0xE000) + self._u32.pack(len(payload)) + payload

    def sequence_value(self, payloads: list[bytes]) -> bytes:
        return b"".join(self.item(payload) for payload in payloads)


IMPLICIT_LE = Codec(implicit=True, little=True)
_CODECS = {(implicit, little): Codec(implicit, little) for implicit in (True, False) for little in (True, False)}


def codec_for(implicit: bool, little: bool) -> Codec:
    return _CODECS[(bool(implicit), bool(little))]
