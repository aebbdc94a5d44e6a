"""Header leakage: is any PHI value of the truth still somewhere in the output dataset?

Every element is searched, file meta, nested sequences and private elements included; binary
values (OB, UN, OW) are searched as text too (vendors hide names in private blobs, and implicit-VR
private elements read back as UN bytes). A value counts as leaked when it is still at its own
element path (compared exactly, whatever its length) or when one of its renderings (see
`variants`) is found in any element. Results name element paths and categories, never values.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Iterator

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from transforms.scoring.variants import Matcher, digits_of, matcher_for, normalize
from transforms.synth.truth import FileTruth, PhiTruth

# Pixel data and lookup-table data: numbers, never text (a palette's 16-bit entries read as bytes can
# spell "45 y" by chance: found on a realistic PALETTE COLOR ultrasound file, an age "leaked" into its LUT).
LOOKUP_TABLE_DATA = (0x00281201, 0x00281202, 0x00281203, 0x00281204, 0x00281221, 0x00281222, 0x00281223,
                     0x00283006)
SKIPPED_TAGS = frozenset({Tag(0x7FE00010), Tag(0x7FE00008), Tag(0x7FE00009), Tag(0xFFFAFFFA)}
                         | {Tag(t) for t in LOOKUP_TABLE_DATA})
BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
MAX_BINARY_BYTES = 1 << 20          # larger blobs are image-like data, not text
PRINTABLE_RUN = re.compile(rb"[\x20-\x7e\x80-\xff]{3,}")
MAX_REPORTED_PATHS = 5


@dataclass(frozen=True)
class ElementText:
    path: str
    vr: str
    raw: str             # decoded text (identified: stays in memory)
    normalized: str
    digits: str


@dataclass
class ItemLeak:
    element_path: str
    category: str
    at_path: bool
    elsewhere: list[str] = field(default_factory=list)
    searchable: bool = True

    @property
    def leaked(self) -> bool:
        return self.at_path or bool(self.elsewhere)

    def to_json(self) -> dict:
        return {"element_path": self.element_path, "category": self.category, "leaked": self.leaked,
                "at_path": self.at_path, "elsewhere": self.elsewhere[:MAX_REPORTED_PATHS],
                "searchable_elsewhere": self.searchable}


def element_texts(ds: Dataset) -> list[ElementText]:
    """Every element of the dataset (file meta first) as searchable text."""
    texts: list[ElementText] = []
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        texts.extend(_walk(meta, "", _encodings(ds)))
    texts.extend(_walk(ds, "", _encodings(ds)))
    return texts


def _encodings(ds: Dataset) -> list[str]:
    try:
        value = ds.get("SpecificCharacterSet") or ""
        return convert_encodings(list(value) if isinstance(value, MultiValue) else [value])
    except Exception:  # noqa: BLE001 - an unknown charset falls back to the defaults below
        return ["iso8859"]


def _walk(ds: Dataset, prefix: str, encodings: list[str]) -> Iterator[ElementText]:
    for tag in list(ds.keys()):
        if tag in SKIPPED_TAGS or (tag.group & 0xFF00) == 0x6000 and tag.element == 0x3000:
            continue
        path = f"{prefix}{int(tag):08X}"
        try:
            elem: DataElement = ds[tag]
        except Exception:  # noqa: BLE001 - an unparsable element cannot be searched; others can
            continue
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or []):
                yield from _walk(item, f"{path}[{index}].", encodings)
            continue
        for raw in _decoded_values(elem, encodings):
            yield ElementText(path, str(elem.VR), raw, normalize(raw), digits_of(raw) if elem.VR != "UI" else "")


def _decoded_values(elem: DataElement, encodings: list[str]) -> list[str]:
    value = elem.value
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if len(data) > MAX_BINARY_BYTES:
            return []
        return _bytes_as_text(data, encodings)
    if isinstance(value, (list, MultiValue)):
        return ["\\".join(str(v) for v in value)]
    return [str(value)]


def _bytes_as_text(data: bytes, encodings: list[str]) -> list[str]:
    """Readable runs of a binary value, decoded as UTF-8, the dataset's charset and Latin-1."""
    runs = b" ".join(PRINTABLE_RUN.findall(data))
    if not runs:
        return []
    texts = {runs.decode("latin-1")}
    for codec in ("utf-8", *encodings):
        try:
            texts.add(runs.decode(codec))
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    try:
        with warnings.catch_warnings():                 # pydicom warns on undecodable bytes
            warnings.simplefilter("ignore")
            texts.add(decode_bytes(data, encodings, set()))
    except Exception:  # noqa: BLE001 - best effort: ISO 2022 escapes in a private blob
        pass
    return sorted(texts)


def _at_path(item: PhiTruth, texts: list[ElementText], matcher: Matcher) -> bool:
    """Still at its own element: exact (normalised) equality, or a rendering inside that element."""
    wanted = normalize(item.rendered or item.value).strip()
    for text in texts:
        if text.path != item.element_path:
            continue
        values = [normalize(v).strip() for v in text.raw.split("\\")] + [text.normalized.strip()]
        if wanted and (wanted in values or (item.rendered and f" {wanted} " in text.normalized)):
            return True
        if matcher.found_in(text.normalized, text.digits):
            return True
    return False


def scan_header(truth: FileTruth, texts: list[ElementText]) -> list[ItemLeak]:
    """One result per truth PHI item."""
    results = []
    for item in truth.header_phi:
        matcher = matcher_for(item.category, item.value, item.rendered)
        leak = ItemLeak(item.element_path, item.category, _at_path(item, texts, matcher),
                        searchable=matcher.searchable)
        if matcher.searchable:
            seen: set[str] = set()
            for text in texts:
                if text.path == item.element_path or text.path in seen:
                    continue
                if matcher.found_in(text.normalized, text.digits):
                    seen.add(text.path)
                    leak.elsewhere.append(text.path)
        results.append(leak)
    return results
