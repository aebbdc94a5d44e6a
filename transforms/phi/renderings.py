"""How one header value can appear as text on an image or in a report.

A header holds "DOE^JOHN^A", "19760616", "00012345", "037Y"; screens print "John Doe", "DOE, J.",
"06/16/1976", "16.06.1976", "1976 Jun 16", "12345", "37 yrs". Each function returns the renderings of
one value as display strings; the dictionary keys them with `normalize.plain_key`, which already
makes punctuation, case, diacritics and the order of separators irrelevant ("DOE, JOHN" = "Doe^John"
= "DOE JOHN"). So only the forms that differ in letters or digits are listed here.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_EN_FULL = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
MONTHS_DE = ("Jan", "Feb", "M\u00e4r", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez")
NAME_PREFIXES = frozenset({"dr", "prof", "mr", "mrs", "ms", "miss", "herr", "frau", "sir", "md", "phd",
                           "jr", "sr", "ii", "iii", "iv"})
NAME_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
                            "zu", "ter", "ten", "bin", "ibn", "al", "el"})
GERMAN_TRANSLITERATION = str.maketrans({"\u00e4": "ae", "\u00f6": "oe", "\u00fc": "ue", "\u00c4": "Ae",
                                        "\u00d6": "Oe", "\u00dc": "Ue", "\u00df": "ss"})
WORD_SPLIT = re.compile(r"[\s\-]+")


def pn_groups(value: str) -> list[tuple[str, str, str]]:
    """(family, given, middle) of each PN component group (alphabetic, ideographic, phonetic)."""
    groups = []
    for group in value.split("="):
        parts = (group.split("^") + ["", "", ""])[:3]
        family, given, middle = (part.strip() for part in parts)
        if family or given:
            groups.append((family, given, middle))
    return groups


def name_renderings(value: str) -> tuple[set[str], set[str]]:
    """(whole-name renderings, single name parts) of a PN value.

    Whole names in every order with and without the middle name and with initials; parts are each
    family/given/middle name and each word of a multi-word or hyphenated one (particles like "van"
    and titles like "Dr" are not parts on their own).
    """
    wholes: set[str] = set()
    parts: set[str] = set()
    for family, given, middle in pn_groups(value):
        for fam, giv, mid in {(family, given, middle), _transliterated(family, given, middle)}:
            wholes |= _whole_names(fam, giv, mid)
            parts |= _name_parts(fam, giv, mid)
    return wholes, parts


def _transliterated(*names: str) -> tuple[str, ...]:
    return tuple(name.translate(GERMAN_TRANSLITERATION) for name in names)


def _whole_names(family: str, given: str, middle: str) -> set[str]:
    if not (family and given):
        return {family or given} if (family or given) else set()
    g, m = given[:1], middle[:1]
    forms = {f"{given} {family}", f"{family} {given}", f"{g} {family}", f"{family} {g}"}
    if middle:
        forms |= {f"{given} {middle} {family}", f"{family} {given} {middle}", f"{given} {m} {family}",
                  f"{family} {given} {m}", f"{g} {m} {family}", f"{family} {g} {m}",
                  f"{middle} {family}"}
    return forms


def _name_parts(*names: str) -> set[str]:
    parts = set()
    for name in names:
        if not name:
            continue
        parts.add(name)
        words = [w for w in WORD_SPLIT.split(name) if w]
        if len(words) > 1:
            parts |= {w for w in words if w.casefold().strip(".") not in NAME_PARTICLES | NAME_PREFIXES}
    return {p for p in parts if p.casefold().strip(".") not in NAME_PREFIXES}


def parse_date(value: str) -> dt.date | None:
    """The date of a DA value (or the date part of a DT); None if it is not a valid date."""
    digits = value.strip()[:8]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def date_renderings(day: dt.date) -> set[str]:
    """Numeric forms in day-month-year, month-day-year and year-month-day order, with 4- and 2-digit
    years and with or without leading zeros, and month-name forms in English and German."""
    d, m, y = day.day, day.month, day.year
    yy = f"{y % 100:02d}"
    forms = {f"{y:04d}{m:02d}{d:02d}"}
    for dd, mm in ((f"{d:02d}", f"{m:02d}"), (str(d), str(m))):
        for year in (str(y), yy):
            forms |= {f"{dd}.{mm}.{year}", f"{mm}/{dd}/{year}"}
        forms.add(f"{y}-{mm}-{dd}")
    for months in (MONTHS_EN, MONTHS_EN_FULL, MONTHS_DE):
        name = months[m - 1]
        for dd in (f"{d:02d}", str(d)):
            forms |= {f"{dd} {name} {y}", f"{name} {dd} {y}", f"{y} {name} {dd}", f"{dd}-{name}-{yy}"}
    return forms


def time_renderings(value: str) -> set[str]:
    """A TM value (or the time part of a DT) as "085957", "08:59:57" and "08:59"."""
    digits = value.strip().split(".")[0]
    if len(digits) < 4 or not digits.isdigit():
        return set()
    hh, mm, ss = digits[:2], digits[2:4], digits[4:6]
    forms = {f"{hh}:{mm}"}
    if ss:
        forms |= {f"{hh}{mm}{ss}", f"{hh}:{mm}:{ss}"}
    return forms


def datetime_renderings(value: str) -> tuple[set[str], set[str]]:
    """(date renderings, time renderings) of a DT value."""
    day = parse_date(value)
    dates = date_renderings(day) if day else set()
    times = time_renderings(value[8:14]) if len(value) >= 12 else set()
    return dates, times


def age_renderings(value: str) -> set[str]:
    """An AS value ("037Y") as "037Y", "37Y", "37 yrs", "37 years", "37yo", "37 J" (never the bare number:
    "37" alone is as likely a slice number as an age)."""
    match = re.fullmatch(r"(\d{1,3})\s*([DWMYdwmy])", value.strip())
    if not match:
        return set()
    number, unit = match.group(1), match.group(2).upper()
    bare = str(int(number))
    forms = {f"{number}{unit}", f"{bare}{unit}"}
    if unit == "Y":
        forms |= {f"{bare} yrs", f"{bare} yr", f"{bare} years", f"{bare} yo", f"{bare} J", f"{bare} Jahre"}
    return forms


def identifier_renderings(value: str) -> set[str]:
    """An ID as written, without leading zeros, and each long digit run of an alphanumeric ID
    ("A2023000123" is also printed "2023000123"), with and without its leading zeros."""
    value = value.strip()
    forms = {value}
    digits = "".join(ch for ch in value if ch.isalnum())
    if digits.isdigit():
        forms.add(digits.lstrip("0") or "0")
    for run in re.findall(r"\d{5,}", value):
        forms |= {run, run.lstrip("0")}
    return {form for form in forms if form}


def address_renderings(value: str) -> set[str]:
    """The whole address and its comma- or line-separated parts (street, town, postal line)."""
    forms = {value.strip()}
    forms |= {part.strip() for part in re.split(r"[,\n\r;]|\^", value) if part.strip()}
    forms |= {form.translate(GERMAN_TRANSLITERATION) for form in forms}
    return forms
