"""The per-file PHI dictionary: every rendering of the PHI values in the file's own header, keyed for
matching (metadata-assisted recognition).

Built once per file from the header rows already parsed in bronze (`bronze.dicom_elements`, the rows
of `transforms.metadata.flatten_elements`), never by re-reading the file. It is a frozen, picklable
value, so a Spark task can build it once and match every frame of the file against it.

Entries too short to mean anything alone are left out: digit-only keys under 4 digits ("Study ID 1"
would erase every "1") and single letters; name parts that are also technique, marker or anatomy
words ("Ma" vs "mA 200", "Head", "Long axis") are only matched inside a longer rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from pydicom.dataset import Dataset

from transforms.phi import renderings
from transforms.phi.errors import RecognizerError
from transforms.phi.normalize import folded_key, plain_key, token_keys
from transforms.phi.sources import category_of
from transforms.phi.vocabulary import KEEP_WORDS, TECHNIQUE_WORDS

MIN_DIGIT_KEY = 4
MIN_KEY = 2
MAX_ENTRY_TOKENS = 10
MAX_KEY = 128               # longer values are never one line of an image; their parts still are
CATEGORY_PRIORITY = ("NAME", "ID", "ACCESSION", "PHONE", "ADDRESS", "INSTITUTION", "DATE", "AGE", "TIME",
                     "OTHER_PHI")
ROW_FIELDS = ("keyword", "vr", "value", "element_path")


@dataclass(frozen=True, repr=False)
class Entry:
    plain: str                  # the comparison key (see normalize)
    folded: str
    category: str
    parts: tuple[str, ...]      # the plain key of each token (a TextMatcher phrase is " ".join(parts))

    @property
    def tokens(self) -> int:
        return len(self.parts)

    @property
    def evidence(self) -> int:
        """Characters that carry evidence: initials do not ("Head A" may not fuzzily match "Head")."""
        return sum(len(part) for part in self.parts if len(part) > 1)


@dataclass(frozen=True, eq=False)
class PhiDictionary:
    """Hashed by identity, so a matcher can cache its per-dictionary arrays (one file, many frames)."""

    entries: tuple[Entry, ...] = field(default=(), repr=False)                # identified: never printed
    exact: Mapping[str, int] = field(default_factory=dict, repr=False)       # plain key -> entry index
    folded_digits: Mapping[str, int] = field(default_factory=dict, repr=False)   # folded key of digit entries
    max_tokens: int = 0
    max_key_len: int = 0

    def __repr__(self) -> str:
        return f"PhiDictionary(<{len(self.entries)} entries>, max_tokens={self.max_tokens})"

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def empty(cls) -> "PhiDictionary":
        return cls()

    @classmethod
    def from_renderings(cls, renderings_by_category: Iterable[tuple[str, str]]) -> "PhiDictionary":
        """A dictionary of (category, display text) pairs, e.g. ("NAME", "John Doe")."""
        chosen: dict[str, Entry] = {}
        for category, text in renderings_by_category:
            entry = _entry(category, text)
            if entry is None:
                continue
            previous = chosen.get(entry.plain)
            if previous is None or _rank(entry.category) < _rank(previous.category):
                chosen[entry.plain] = entry
        entries = tuple(sorted(chosen.values(), key=lambda e: e.plain))
        return cls(entries=entries, exact={e.plain: i for i, e in enumerate(entries)},
                   folded_digits={e.folded: i for i, e in enumerate(entries) if e.plain.isdigit()},
                   max_tokens=max((e.tokens for e in entries), default=0),
                   max_key_len=max((len(e.plain) for e in entries), default=0))

    @classmethod
    def from_header_elements(cls, rows: Iterable[Any]) -> "PhiDictionary":
        """From `bronze.dicom_elements` rows: dicts, Spark Rows or objects with `keyword`, `vr`, `value`,
        `element_path`, or plain tuples in that order. Multi-values are split on the backslash.
        Raises RecognizerError("dictionary_failed") on rows it cannot read (the file is quarantined)."""
        try:
            return cls.from_renderings(_header_renderings(rows))
        except Exception as exc:  # noqa: BLE001 - no dictionary, no judgement: quarantine, never publish
            raise RecognizerError("dictionary_failed", type(exc).__name__) from None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "PhiDictionary":
        from transforms.metadata import flatten_elements

        rows, _ = flatten_elements(ds)
        return cls.from_header_elements(rows)


def _header_renderings(rows: Iterable[Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for row in rows:
        keyword, vr, value, path = _row_fields(row)
        if not value or not isinstance(value, str):
            continue
        category = category_of(keyword, vr, _is_private(path))
        if category is None:
            continue
        for single in value.split("\\"):
            pairs.extend(value_renderings(category, (vr or "").upper(), single))
    return pairs


def value_renderings(category: str, vr: str, value: str) -> list[tuple[str, str]]:
    """(category, rendering) pairs of one header value."""
    value = value.strip()
    if not value:
        return []
    if vr == "PN" or category == "NAME":
        wholes, parts = renderings.name_renderings(value)
        return [("NAME", text) for text in wholes | {p for p in parts if _usable_name_part(p)}]
    if vr == "DA":
        day = renderings.parse_date(value)
        return [("DATE", text) for text in renderings.date_renderings(day)] if day else []
    if vr == "DT":
        dates, times = renderings.datetime_renderings(value)
        return [("DATE", text) for text in dates] + [("TIME", text) for text in times]
    if vr == "TM":
        return [("TIME", text) for text in renderings.time_renderings(value)]
    if vr == "AS":
        return [("AGE", text) for text in renderings.age_renderings(value)]
    if category in ("ID", "ACCESSION", "OTHER_PHI"):
        return [(category, text) for text in renderings.identifier_renderings(value)]
    if category == "ADDRESS":
        return [(category, text) for text in renderings.address_renderings(value)]
    return [(category, value)]


def _usable_name_part(part: str) -> bool:
    """A name part that is also radiology vocabulary ("Head", "Long", "Ma") is matched only inside a
    longer rendering of the name: alone on an image it is far more often the word than the person."""
    return plain_key(part) not in KEEP_WORDS | TECHNIQUE_WORDS


def _entry(category: str, text: str) -> Entry | None:
    keys = token_keys(text)
    plain = "".join(keys)
    if len(plain) < MIN_KEY or len(plain) > MAX_KEY or len(keys) > MAX_ENTRY_TOKENS:
        return None
    if plain.isdigit() and len(plain) < MIN_DIGIT_KEY:
        return None
    return Entry(plain=plain, folded=folded_key(plain), category=category, parts=keys)


def _rank(category: str) -> int:
    return CATEGORY_PRIORITY.index(category) if category in CATEGORY_PRIORITY else len(CATEGORY_PRIORITY)


def _row_fields(row: Any) -> tuple[str | None, str | None, Any, str]:
    if isinstance(row, Mapping):
        return row.get("keyword"), row.get("vr"), row.get("value"), row.get("element_path") or ""
    if hasattr(row, "keyword") and hasattr(row, "value"):
        return row.keyword, row.vr, row.value, getattr(row, "element_path", "") or ""
    keyword, vr, value, path = tuple(row)[:4]
    return keyword, vr, value, path or ""


def _is_private(element_path: str) -> bool:
    """A private element: the group of the last tag in the path is odd ("00291020[0].00291001")."""
    last = element_path.rsplit(".", 1)[-1][:4]
    try:
        return int(last, 16) % 2 == 1
    except ValueError:
        return False
