"""DICOM PS3.15 Table E.1-1 (the Basic Application Level Confidentiality Profile and its options) as
an action table, built from the standard's own data rather than a hand-typed list.

The JSON in `data/` is the table as published by Innolitics' dicom-standard project (MIT, see
data/LICENSE.txt). For one `DeidOptions` value, every row is resolved once into a single `Rule`
(what to do with the element), cached, and looked up by integer tag while a file is walked.

Resolution (documented in docs/deid-profile.md):
* Compound Basic Profile actions take their *last* alternative (X/Z -> Z, X/D -> D, Z/D -> D,
  X/Z/D -> D, X/Z/U* -> U): the alternatives differ in IOD conformance only, never in what they
  disclose, and we do not know the IOD type of an element, so we take the one valid for every IOD.
* Option columns of the selected options override the Basic Profile: where one says C and another K,
  C wins (the more protective); a C we cannot carry out for that VR falls back to the Basic Profile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Mapping

from pydicom.datadict import dictionary_VR

from transforms.deid.options import DeidOptions
from transforms.deid.profile_data import profile_text
BASIC = "basicProfile"

# Option column of the JSON -> predicate on the options saying whether that column is in force.
OPTION_COLUMNS: Mapping[str, str] = MappingProxyType({
    "rtnSafePrivOpt": "retain_safe_private",
    "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity",
    "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics",
    "rtnLongFullDatesOpt": "dates=full",
    "rtnLongModifDatesOpt": "dates=shift",
    "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content",
    "cleanGraphOpt": "clean_graphics",
})
DATE_COLUMNS = frozenset({"rtnLongFullDatesOpt", "rtnLongModifDatesOpt"})
TEXT_CLEANING_COLUMNS = frozenset({"cleanDescOpt", "rtnPatCharsOpt", "cleanStructContOpt", "cleanGraphOpt"})
DATE_VRS = frozenset({"DA", "DT", "TM"})
CLEANABLE_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "CS"})

CURVE_GROUPS = frozenset(range(0x5000, 0x5020, 2))
OVERLAY_GROUPS = frozenset(range(0x6000, 0x6020, 2))


class Op(StrEnum):
    """What the walker does with one element (the resolved, VR-aware form of an action letter)."""

    KEEP = "keep"
    REMOVE = "remove"
    EMPTY = "empty"                         # Z (an SQ becomes a sequence with no items)
    DUMMY = "dummy"                         # D for a non-PN, non-UI, non-SQ element
    UID = "uid"                             # U (and D of a UI element)
    SHIFT = "shift"                         # C under Modified Dates
    CLEAN_TEXT = "clean_text"               # C by the text cleaner
    RECURSE = "recurse"                     # keep the sequence, walk its items in the same context
    RECURSE_DUMMY = "recurse_dummy"         # D on a sequence: items kept, unlisted text -> dummy
    RECURSE_CLEAN = "recurse_clean"         # C on a sequence: items kept, unlisted text cleaned
    RECURSE_RETAIN = "recurse_retain"       # K by a retain option: the codes inside are kept as they are
    PSEUDO_PATIENT_ID = "pseudo_patient_id"
    PSEUDO_PATIENT_NAME = "pseudo_patient_name"
    PSEUDO_ACCESSION = "pseudo_accession"
    PSEUDO_PERSON = "pseudo_person"         # D of a PN element: a keyed pseudonym is a valid dummy
    SAFE_PRIVATE = "safe_private"           # keep only if on the curated safe-private list
    LOCAL_CODE = "local_code"               # a code value/designator of a local coding scheme


@dataclass(frozen=True)
class Rule:
    op: Op
    action: str      # the letter recorded in the audit: X, Z, D, U, C, K (possibly with a reason)
    decided_by: str  # "basicProfile" or the option column that decided


@dataclass(frozen=True)
class ProfileRow:
    tag: int | None          # None for the pattern rows
    pattern: str | None      # "curve", "overlay", "private" for the pattern rows
    name: str
    basic: str
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionTable:
    """The resolved rules for one option set; `rules` is keyed by the integer tag."""

    options: DeidOptions
    has_text_cleaner: bool
    rules: Mapping[int, Rule]
    curve: Rule
    overlay: Rule
    private: Rule
    memo: dict = field(default_factory=dict, compare=False, repr=False)   # rules.rule_for's cache


# Tags whose Z/D the issue asks to replace with keyed pseudonyms (consistent across files/batches).
PSEUDONYM_TAGS: Mapping[int, Op] = MappingProxyType({
    0x00100020: Op.PSEUDO_PATIENT_ID,
    0x00100010: Op.PSEUDO_PATIENT_NAME,
    0x00080050: Op.PSEUDO_ACCESSION,
})


@cache
def load_rows() -> tuple[ProfileRow, ...]:
    """Every row of Table E.1-1, tags parsed, patterns recognised."""
    return tuple(_parse_row(raw) for raw in json.loads(profile_text()))


def _parse_row(raw: dict) -> ProfileRow:
    columns = {key: value for key, value in raw.items() if key in OPTION_COLUMNS}
    name = " ".join(raw["name"].split())
    tag_id = raw["id"].lower()
    pattern = _pattern_of(tag_id)
    tag = None if pattern else int(tag_id, 16)
    return ProfileRow(tag=tag, pattern=pattern, name=name, basic=raw[BASIC], columns=columns)


def _pattern_of(tag_id: str) -> str | None:
    if tag_id.startswith("gggg"):
        return "private"
    if tag_id.startswith("50xx"):
        return "curve"
    if tag_id.startswith("60xx"):
        return "overlay"   # (60xx,3000) and (60xx,4000); we remove every element of an overlay group
    if "x" in tag_id:
        raise ValueError(f"unrecognised tag pattern in the profile table: {tag_id}")
    return None


def resolve_compound(action: str) -> str:
    """X/Z -> Z, X/D -> D, Z/D -> D, X/Z/D -> D, X/Z/U* -> U: the alternative valid in every IOD."""
    return action.split("/")[-1].rstrip("*")


def active_columns(options: DeidOptions) -> frozenset[str]:
    active = set()
    for column, flag in OPTION_COLUMNS.items():
        if flag.startswith("dates="):
            if options.dates == flag.split("=", 1)[1]:
                active.add(column)
        elif getattr(options, flag):
            active.add(column)
    return frozenset(active)


@lru_cache(maxsize=64)
def action_table(options: DeidOptions, has_text_cleaner: bool = False) -> ActionTable:
    """The table for one option set, built once per process and option set."""
    options = options.effective(has_text_cleaner)
    active = active_columns(options)
    rules: dict[int, Rule] = {}
    patterns: dict[str, Rule] = {}
    for row in load_rows():
        vr = _pattern_vr(row.pattern) if row.pattern else _dictionary_vr(row.tag)
        rule = resolve_row(row, vr, active, options, has_text_cleaner)
        if row.pattern:
            patterns[row.pattern] = rule
        else:
            rules[row.tag] = rule
    return ActionTable(options=options, has_text_cleaner=has_text_cleaner, rules=MappingProxyType(rules),
                       curve=_as_removal(patterns["curve"], "X:curve"),
                       overlay=_as_removal(patterns["overlay"], "X:overlay"),
                       private=_private_rule(patterns["private"]))


def _as_removal(rule: Rule, action: str) -> Rule:
    """Curves and overlays are bitmaps/arrays: nothing here can clean them, so they always go."""
    return Rule(Op.REMOVE, action, rule.decided_by)


def _private_rule(rule: Rule) -> Rule:
    if rule.decided_by == "rtnSafePrivOpt":
        return Rule(Op.SAFE_PRIVATE, "C", "rtnSafePrivOpt")
    return Rule(Op.REMOVE, "X:private", BASIC)


def _pattern_vr(pattern: str) -> str:
    return "SQ" if pattern == "private" else "OB"


def _dictionary_vr(tag: int) -> str:
    return dictionary_VR(tag).split(" or ")[0]


def resolve_row(row: ProfileRow, vr: str, active: frozenset[str], options: DeidOptions,
                has_text_cleaner: bool) -> Rule:
    """One effective rule for a row under the active option columns (see module docstring)."""
    chosen = {column: letter for column, letter in row.columns.items() if column in active}
    cleaning = [column for column, letter in chosen.items() if letter == "C"]
    if row.pattern == "private" and "rtnSafePrivOpt" in cleaning:
        return Rule(Op.SAFE_PRIVATE, "C", "rtnSafePrivOpt")
    if cleaning:
        for column in cleaning:
            op = _cleaning_op(column, vr, options, has_text_cleaner)
            if op is not None:
                return Rule(op, "C", column)
        return _basic_rule(row, vr)       # a C we cannot carry out: the Basic Profile applies
    keeping = [column for column, letter in chosen.items() if letter == "K"]
    if keeping:
        return Rule(Op.RECURSE_RETAIN if vr == "SQ" else Op.KEEP, "K", keeping[0])
    return _basic_rule(row, vr)


def _cleaning_op(column: str, vr: str, options: DeidOptions, has_text_cleaner: bool) -> Op | None:
    if column in DATE_COLUMNS:
        return Op.SHIFT if vr in DATE_VRS and options.dates == "shift" else None
    if column in TEXT_CLEANING_COLUMNS and has_text_cleaner:
        if vr == "SQ":
            return Op.RECURSE_CLEAN
        if vr in CLEANABLE_TEXT_VRS:
            return Op.CLEAN_TEXT
    return None


def _basic_rule(row: ProfileRow, vr: str) -> Rule:
    letter = resolve_compound(row.basic)
    op = _letter_op(letter, vr)
    if row.tag in PSEUDONYM_TAGS and op in (Op.EMPTY, Op.DUMMY, Op.PSEUDO_PERSON):
        return Rule(PSEUDONYM_TAGS[row.tag], "D:pseudonym", BASIC)
    return Rule(op, letter, BASIC)


def _letter_op(letter: str, vr: str) -> Op:
    if letter == "K":
        return Op.RECURSE if vr == "SQ" else Op.KEEP
    if letter == "X":
        return Op.REMOVE
    if letter == "Z":
        return Op.EMPTY
    if letter == "D":
        return {"SQ": Op.RECURSE_DUMMY, "PN": Op.PSEUDO_PERSON, "UI": Op.UID}.get(vr, Op.DUMMY)
    if letter == "U":
        return {"UI": Op.UID, "SQ": Op.RECURSE}.get(vr, Op.REMOVE)
    raise ValueError(f"unknown action letter in the profile table: {letter}")
