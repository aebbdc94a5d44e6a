"""Shifting DICOM dates and times (DA, TM, DT) and dates written in free text, by one per-patient
shift of D whole days plus S seconds (Modified Dates option).

* DT: the instant moves by exactly D days + S seconds (precision and UTC offset kept).
* TM: the time of day moves by S seconds, modulo 24 hours.
* DA: moves by D days, plus one day when its paired TM (StudyDate/StudyTime...) crosses midnight,
  so a DA+TM pair moves exactly like the DT of the same instant. A date without a time moves D days.
* Dates in free text move by D days.

A value we cannot parse raises `UnshiftableDate`: the caller quarantines the file rather than publish
a date it could not move (the exception never carries the value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from pydicom.datadict import dictionary_VR, keyword_dict

DATE_PLACEHOLDER = "[DATE]"
DAY_SECONDS = 86400


class UnshiftableDate(ValueError):
    """A date or time value that cannot be parsed; carries no value."""


@dataclass(frozen=True)
class Shift:
    days: int
    seconds: int

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds)


_DA = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")          # YYYYMMDD, or ACR-NEMA YYYY.MM.DD
_TM = re.compile(r"^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(\.\d{1,6})?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


def shift_date(value: date, days: int) -> date:
    try:
        return value + timedelta(days=days)
    except OverflowError as exc:
        raise UnshiftableDate("date_out_of_range") from exc


def shift_da(value: str, shift: Shift | int, paired_time: str | None = None) -> str:
    """Shift one DA value; a range 'A-B' (query form) is shifted on both sides; '' stays ''.

    `paired_time`: the TM of the same event as read, if any; its crossing of midnight carries a day.
    """
    days, seconds = (shift.days, shift.seconds) if isinstance(shift, Shift) else (shift, 0)
    text = value.strip(" \x00")
    if not text:
        return ""
    if "-" in text:
        return "-".join(shift_da(part, shift, paired_time) if part else "" for part in text.split("-"))
    match = _DA.match(text)
    if not match:
        raise UnshiftableDate("unparsable_da")
    carry = _carry(paired_time, seconds)
    return shift_date(_to_date(*match.groups()), days + carry).strftime("%Y%m%d")


def shift_tm(value: str, seconds: int) -> str:
    """Shift one TM value by `seconds` modulo 24 hours, keeping its precision; '' stays ''."""
    text = value.strip(" \x00")
    if not text:
        return ""
    if "-" in text:
        return "-".join(shift_tm(part, seconds) if part else "" for part in text.split("-"))
    hours, minutes, secs, fraction = _parse_tm(text)
    total = (hours * 3600 + (minutes or 0) * 60 + (secs or 0) + seconds) % DAY_SECONDS
    shifted = f"{total // 3600:02d}"
    if minutes is not None:
        shifted += f"{total % 3600 // 60:02d}"
    if secs is not None:
        shifted += f"{total % 60:02d}" + (fraction or "")
    return shifted


def shift_dt(value: str, shift: Shift | int) -> str:
    """Shift one DT value by the full shift, keeping its precision and its UTC offset."""
    days, seconds = (shift.days, shift.seconds) if isinstance(shift, Shift) else (shift, 0)
    text = value.strip(" \x00")
    if not text:
        return ""
    match = _DT.match(text)
    if not match:
        raise UnshiftableDate("unparsable_dt")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    parts = [year, month, day, hour, minute, second]
    precision = sum(1 for part in parts if part)
    if hour is None:
        seconds = 0                                    # a date without a time moves whole days only
    try:
        instant = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                           min(int(second or 0), 59))
        moved = instant + timedelta(days=days, seconds=seconds)
    except (ValueError, OverflowError) as exc:
        raise UnshiftableDate("invalid_datetime") from exc
    stamp = moved.strftime("%Y%m%d%H%M%S")[: 4 + 2 * (precision - 1)]
    return stamp + ((fraction or "") if second else "") + (offset or "")


def _carry(paired_time: str | None, seconds: int) -> int:
    """1 when the paired time of day plus the shift passes midnight (an unparsable one: 0)."""
    if not paired_time or not seconds:
        return 0
    try:
        hours, minutes, secs, _ = _parse_tm(paired_time.strip(" \x00").split("-")[0])
    except UnshiftableDate:
        return 0
    return (hours * 3600 + (minutes or 0) * 60 + (secs or 0) + seconds) // DAY_SECONDS


def _parse_tm(text: str) -> tuple[int, int | None, int | None, str | None]:
    match = _TM.match(text)
    if not match:
        raise UnshiftableDate("unparsable_tm")
    hours, minutes, secs, fraction = match.groups()
    values = (int(hours), int(minutes) if minutes else None, min(int(secs), 59) if secs else None)
    if values[0] > 23 or (values[1] or 0) > 59:
        raise UnshiftableDate("invalid_time")
    return values[0], values[1], values[2], fraction


def _to_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise UnshiftableDate("invalid_calendar_date") from exc


@cache
def paired_time_tags() -> dict[int, int]:
    """DA tag -> TM tag of the same event, from the dictionary (StudyDate -> StudyTime, ...)."""
    pairs = {}
    for keyword, tag in keyword_dict.items():
        if "Date" in keyword and not keyword.endswith("DateTime"):
            time_tag = keyword_dict.get(keyword.replace("Date", "Time"))
            if time_tag is not None and dictionary_VR(tag) == "DA" and dictionary_VR(time_tag) == "TM":
                pairs[int(tag)] = int(time_tag)
    return pairs


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
