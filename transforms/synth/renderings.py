"""How people, dates, ages and times are written on screens and in free text.

Real scanners and RIS systems print the same value in many ways ("DOE^JOHN" as "DOE, JOHN" or
"J. Doe"; 19760616 as "06/16/1976" or "16-Jun-1976"); the corpus uses these renderings so that a
de-identifier that only knows the DICOM form is caught. Month names are spelled here, not taken from
the C locale, so that output does not depend on the machine.
"""

from __future__ import annotations

import datetime as dt
import random

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_date(value: dt.date, style: str) -> str:
    """One of DATE_STYLES; 'dicom' is the DA form."""
    mon = MONTHS[value.month - 1]
    forms = {
        "dicom": f"{value:%Y%m%d}",
        "iso": f"{value:%Y-%m-%d}",
        "us": f"{value:%m/%d/%Y}",
        "eu_dots": f"{value:%d.%m.%Y}",
        "eu_slash": f"{value:%d/%m/%Y}",
        "year_mon_day": f"{value.year} {mon} {value.day:02d}",
        "day_mon_year": f"{value.day:02d}-{mon}-{value.year}",
        "mon_day_year": f"{mon} {value.day}, {value.year}",
    }
    return forms[style]


DATE_STYLES = ("dicom", "iso", "us", "eu_dots", "eu_slash", "year_mon_day", "day_mon_year",
               "mon_day_year")


def render_time(value: dt.time, style: str) -> str:
    forms = {
        "dicom": f"{value:%H%M%S}",
        "colons": f"{value:%H:%M:%S}",
        "short": f"{value:%H:%M}",
    }
    return forms[style]


TIME_STYLES = ("dicom", "colons", "short")


def render_age(years: int, style: str) -> str:
    forms = {"dicom": f"{years:03d}Y", "compact": f"{years}Y", "spaced": f"{years} y",
             "yrs": f"{years} yrs", "yo": f"{years}yo"}
    return forms[style]


AGE_STYLES = ("dicom", "compact", "spaced", "yrs", "yo")

NAME_STYLES = ("pn", "family_comma_given", "given_family", "initial_family", "family_given_upper",
               "family_comma_given_middle")


def render_name(family: str, given: str, middle: str, style: str) -> str:
    """A person's name as a screen or a report would print it."""
    forms = {
        "pn": "^".join(p for p in (family.upper(), given.upper()) if p),
        "family_comma_given": f"{family.upper()}, {given.upper()}",
        "given_family": f"{given} {family}",
        "initial_family": f"{given[:1]}. {family}",
        "family_given_upper": f"{family.upper()} {given.upper()}",
        "family_comma_given_middle": (f"{family}, {given} {middle[:1]}." if middle
                                      else f"{family}, {given}"),
    }
    return forms[style]


def pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]
