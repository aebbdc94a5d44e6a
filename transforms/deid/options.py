"""The per-run choice of DICOM PS3.15 Annex E options, and how a run records the choice.

Options are chosen per run, recorded in every output (DeidentificationMethodCodeSequence) and in the
gold manifest (`fingerprint`), so a reader can tell which de-identification a file went through.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from typing import Any, Literal

from transforms.deid.profile_data import profile_digest

DatesMode = Literal["remove", "full", "shift"]
DATES_MODES: tuple[str, ...] = ("remove", "full", "shift")
RULES_VERSION = "1"   # bump when header.py changes what a given option set does to a file

# Every accepted spelling of an option name -> (field, value). The JSON column names of the profile
# table and the PS3.15 option titles are both accepted, so configs can use either vocabulary.
_ALIASES: dict[str, tuple[str, Any]] = {}


def _alias(field_name: str, value: Any, *names: str) -> None:
    for name in names:
        _ALIASES[_normalise(name)] = (field_name, value)


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_alias("retain_safe_private", True, "retain_safe_private", "rtnSafePrivOpt", "Retain Safe Private")
_alias("retain_uids", True, "retain_uids", "rtnUIDsOpt", "Retain UIDs")
_alias("retain_device_identity", True, "retain_device_identity", "rtnDevIdOpt", "Retain Device Identity")
_alias("retain_institution_identity", True, "retain_institution_identity", "rtnInstIdOpt",
       "Retain Institution Identity")
_alias("retain_patient_characteristics", True, "retain_patient_characteristics", "rtnPatCharsOpt",
       "Retain Patient Characteristics")
_alias("dates", "full", "dates=full", "full_dates", "rtnLongFullDatesOpt",
       "Retain Longitudinal Temporal Information with Full Dates")
_alias("dates", "shift", "dates=shift", "modified_dates", "shift_dates", "rtnLongModifDatesOpt",
       "Retain Longitudinal Temporal Information with Modified Dates")
_alias("dates", "remove", "dates=remove")
_alias("clean_descriptors", True, "clean_descriptors", "cleanDescOpt", "Clean Descriptors")
_alias("clean_structured_content", True, "clean_structured_content", "cleanStructContOpt",
       "Clean Structured Content")
_alias("clean_graphics", True, "clean_graphics", "cleanGraphOpt", "Clean Graphics")


class UnknownOptionError(ValueError):
    """An option name that is not one of PS3.15's (the name is configuration, never PHI)."""


# The canonical spelling of every option (the other accepted spellings are the profile table's column
# names and PS3.15's titles).
OPTION_NAMES: tuple[str, ...] = (
    "retain_safe_private", "retain_uids", "retain_device_identity", "retain_institution_identity",
    "retain_patient_characteristics", "dates=full", "dates=shift", "dates=remove", "clean_descriptors",
    "clean_structured_content", "clean_graphics")


def unknown_option_message(name: str) -> str:
    """One line: the unknown name, the closest valid one if any, and every valid name."""
    import difflib

    close = difflib.get_close_matches(name.lower(), OPTION_NAMES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown de-identification option {name!r}{hint}; valid options: {', '.join(OPTION_NAMES)}"


@dataclass(frozen=True)
class DeidOptions:
    """Which Annex E options apply on top of the Basic Application Level Confidentiality Profile.

    `dates`: "remove" is the Basic Profile behaviour; "full" is Retain Longitudinal Temporal
    Information with Full Dates; "shift" is the same option with Modified Dates (a per-patient shift).
    The three clean_* options need a text cleaner to be applied; without one, the text they would keep
    is removed instead and the option is not claimed in the output (see `effective`).
    """

    retain_safe_private: bool = False
    retain_uids: bool = False
    retain_device_identity: bool = False
    retain_institution_identity: bool = False
    retain_patient_characteristics: bool = False
    dates: DatesMode = "remove"
    clean_descriptors: bool = False
    clean_structured_content: bool = False
    clean_graphics: bool = False

    def __post_init__(self) -> None:
        if self.dates not in DATES_MODES:
            raise UnknownOptionError(f"dates must be one of {DATES_MODES}")

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> "DeidOptions":
        """Options from names such as ["retain_uids", "dates=shift", "cleanDescOpt"]."""
        chosen: dict[str, Any] = {}
        for name in names:
            key = _normalise(name)
            if key not in _ALIASES:
                raise UnknownOptionError(unknown_option_message(name))
            field_name, value = _ALIASES[key]
            if field_name in chosen and chosen[field_name] != value:
                raise UnknownOptionError(f"conflicting choices for {field_name}")
            chosen[field_name] = value
        return cls(**chosen)

    def effective(self, has_text_cleaner: bool) -> "DeidOptions":
        """The options that can actually be applied: cleaning free text needs a cleaner."""
        if has_text_cleaner:
            return self
        return replace(self, clean_descriptors=False, clean_structured_content=False, clean_graphics=False)

    @property
    def needs_text_cleaner(self) -> bool:
        """Clean Descriptors / Structured Content / Graphics keep text, which a text cleaner must clean."""
        return self.clean_descriptors or self.clean_structured_content or self.clean_graphics

    def to_record(self) -> dict[str, Any]:
        """A flat, JSON-friendly record of the choice (for output tables and manifests)."""
        record = asdict(self)
        record["rules_version"] = RULES_VERSION
        return record

    @property
    def names(self) -> tuple[str, ...]:
        """The chosen options as names accepted by `from_names` (stable order)."""
        chosen = [f.name for f in fields(self) if f.name != "dates" and getattr(self, f.name)]
        if self.dates != "remove":
            chosen.append(f"dates={self.dates}")
        return tuple(chosen)

    @cached_property
    def fingerprint(self) -> str:
        """Stable identifier of what this option set does: equal options, equal fingerprint."""
        record = self.to_record() | {"profile_sha256": profile_digest()}   # the table is part of "what it does"
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
        return f"deid-v{RULES_VERSION}-{digest}"
