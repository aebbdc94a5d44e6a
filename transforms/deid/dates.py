"""Shifting DICOM dates (DA, DT; TM is unchanged by a whole-day shift) and dates written in free text.

A value we cannot parse raises `UnshiftableDate`: the caller quarantines the file rather than publish
a date it could not move (the exception never carries the value).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

DATE_PLACEHOLDER = "[DATE]"


class UnshiftableDate(ValueError):
    """A date value that cannot be parsed; carries no value."""


_DA = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")          # YYYYMMDD, or ACR-NEMA YYYY.MM.DD
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d*(?:\.\d*)?)([+-]\d{4})?$")


def shift_date(value: date, days: int) -> date:
    try:
        return value + timedelta(days=days)
    except OverflowError as exc:
        raise UnshiftableDate("date_out_of_range") from exc


def shift_da(value: str, days: int) -> str:
    """Shift one DA value; a range 'A-B' (query form) is shifted on both sides; '' stays ''."""
    text = value.strip(" \x00")
    if not text:
        return ""
    if "-" in text:
        return "-".join(shift_da(part, days) if part else "" for part in text.split("-"))
    match = _DA.match(text)
    if not match:
        raise UnshiftableDate("unparsable_da")
    return shift_date(_to_date(*match.groups()), days).strftime("%Y%m%d")


def shift_dt(value: str, days: int) -> str:
    """Shift one DT value, keeping its precision (YYYY, YYYYMM, ...), time of day and UTC offset."""
    text = value.strip(" \x00")
    if not text:
        return ""
    match = _DT.match(text)
    if not match:
        raise UnshiftableDate("unparsable_dt")
    year, month, day, rest, offset = match.groups()
    shifted = shift_date(_to_date(year, month or "01", day or "01"), days)
    precision = 4 + (2 if month else 0) + (2 if day else 0)
    return shifted.strftime("%Y%m%d")[:precision] + rest + (offset or "")


def _to_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise UnshiftableDate("invalid_calendar_date") from exc


# Dates in free text: ISO-like, compact, numeric with slashes/dots/dashes, and month names.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_TEXT_DATE = re.compile(
    r"(?<![\d.])(?:"
    r"(?P<iso>(?P<iy>(?:19|20)\d{2})(?P<isep>[-/.]?)(?P<im>0[1-9]|1[0-2])(?P=isep)(?P<id>0[1-9]|[12]\d|3[01]))"
    r"|(?P<num>(?P<na>\d{1,2})(?P<nsep>[-/.])(?P<nb>\d{1,2})(?P=nsep)(?P<ny>(?:19|20)\d{2}))"
    r"|(?P<dmy>(?P<dd>\d{1,2})(?:st|nd|rd|th)?[ -]" + _MONTH_NAME.replace("mon", "dmon") +
    r"[ ,-]+(?P<dy>(?:19|20)\d{2}))"
    r"|(?P<mdy>" + _MONTH_NAME.replace("mon", "mmon") + r" (?P<md>\d{1,2})(?:st|nd|rd|th)?,? (?P<my>(?:19|20)\d{2}))"
    r")(?![\d])",
    re.IGNORECASE,
)


def shift_dates_in_text(text: str, days: int, day_first: bool = False) -> str:
    """Every recognisable calendar date in `text` moved by `days`, written back in its own format."""
    return _TEXT_DATE.sub(lambda match: _shift_text_match(match, days, day_first), text)


def redact_dates_in_text(text: str) -> str:
    """Every recognisable calendar date in `text` replaced by a placeholder (dates not retained)."""
    return _TEXT_DATE.sub(DATE_PLACEHOLDER, text)


def _shift_text_match(match: re.Match, days: int, day_first: bool) -> str:
    groups = match.groupdict()
    try:
        if groups["iso"]:
            sep = groups["isep"]
            moved = shift_date(_to_date(groups["iy"], groups["im"], groups["id"]), days)
            return moved.strftime(f"%Y{sep}%m{sep}%d")
        if groups["num"]:
            return _shift_numeric(groups, days, day_first)
        if groups["dmy"]:
            moved = shift_date(_to_date(groups["dy"], _month_number(groups["dmon"]), groups["dd"]), days)
            return f"{moved.day} {_month_like(groups['dmon'], moved.month)} {moved.year}"
        moved = shift_date(_to_date(groups["my"], _month_number(groups["mmon"]), groups["md"]), days)
        return f"{_month_like(groups['mmon'], moved.month)} {moved.day}, {moved.year}"
    except UnshiftableDate:
        return DATE_PLACEHOLDER   # looks like a date but is not a calendar date: do not keep it


def _shift_numeric(groups: dict, days: int, day_first: bool) -> str:
    a, b, year, sep = int(groups["na"]), int(groups["nb"]), groups["ny"], groups["nsep"]
    day_first = a > 12 or (day_first and b <= 12)
    day, month = (a, b) if day_first else (b, a)
    moved = shift_date(_to_date(year, str(month), str(day)), days)
    first, second = (moved.day, moved.month) if day_first else (moved.month, moved.day)
    return f"{first:02d}{sep}{second:02d}{sep}{moved.year}"


def _month_number(name: str) -> str:
    return str(_MONTHS.index(name[:3].lower()) + 1)


def _month_like(original: str, month: int) -> str:
    """The new month name in the style of the original (abbreviated or full, its capitalisation)."""
    bare = original.rstrip(".")
    original_full = date(2000, int(_month_number(bare)), 1).strftime("%B")
    full = date(2000, month, 1).strftime("%B")
    name = full[:3] if len(bare) < len(original_full) else full
    if original.isupper():
        return name.upper()
    return name if original[:1].isupper() else name.lower()
