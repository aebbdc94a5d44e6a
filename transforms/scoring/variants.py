"""The renderings of a PHI value that count as that value leaking, and the rules for short values.

Every element's text is normalised the same way before searching: Unicode compatibility form,
accents removed, case folded, every run of characters other than letters and digits turned into
one space. So "DOE^JOHN", "Doe, John" and "doe john" all read "doe john", and a date written
16-Jun-1976 reads "16 jun 1976". Patterns are token-bounded: "LEE" does not match inside "KLEEN".

Minimum lengths (a shorter value is only reported when it is found at its own element path, where
the scorer compares it exactly; elsewhere it would match by chance):
- names: a family name of 3+ letters (2+ for CJK/kana, where one character is a syllable) alone;
  otherwise two parts of the name (2+ letters each) in the same element. A given name alone is not
  a leak: tools put common dummy names in, and a lone given name identifies little.
- IDs and accession numbers: 4+ significant characters (after leading zeros are stripped).
- dates: full dates only (day, month and year); never a year alone or two-digit years.
- times: with seconds (HHMMSS or HH:MM:SS); HH:MM alone is too common.
- ages: the number with its unit (045Y, 45 y, 45 yrs, 45 years, 45yo), never the bare number.
- phone numbers: 7+ digits, searched in the digits of each element (punctuation varies).
- addresses: each comma-separated part of 6+ characters; institutions and other text: 4+.
- UIDs: the whole UID.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MIN_FAMILY_CHARS = 3
MIN_FAMILY_CHARS_CJK = 2
MIN_NAME_PART_CHARS = 2
MIN_ID_CHARS = 4
MIN_PHONE_DIGITS = 7
MIN_ADDRESS_PART_CHARS = 6
MIN_TEXT_CHARS = 4
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
AGE_UNITS = {"Y": ("y", "yr", "yrs", "year", "years", "yo", "j", "a"), "M": ("m", "mo", "mos", "month", "months"),
             "W": ("w", "wk", "wks", "week", "weeks"), "D": ("d", "day", "days")}


def normalize(text: str) -> str:
    """Folded text with single spaces between alphanumeric runs, padded by one space each side."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " " + " ".join(re.findall(r"[^\W_]+", stripped)) + " "


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def is_cjk(text: str) -> bool:
    return any(0x3040 <= ord(ch) <= 0x30FF or 0x4E00 <= ord(ch) <= 0x9FFF for ch in text)


def _tokens_pattern(tokens: list[str]) -> re.Pattern[str]:
    return re.compile(" " + " ".join(re.escape(t) for t in tokens) + " ")


def _phrase(text: str) -> list[str]:
    return normalize(text).split()


@dataclass(frozen=True)
class Matcher:
    """Decides whether one element's text holds the value. `min_ok` False: too short to search."""

    patterns: tuple[re.Pattern[str], ...] = ()
    digit_runs: tuple[str, ...] = ()
    name_parts: tuple[tuple[str, ...], ...] = ()   # per PN group: (family, given, middle)

    @property
    def searchable(self) -> bool:
        return bool(self.patterns or self.digit_runs or self.name_parts)

    def found_in(self, normalized_text: str, digits: str) -> bool:
        if any(p.search(normalized_text) for p in self.patterns):
            return True
        if digits and any(run in digits for run in self.digit_runs):
            return True
        return any(_name_found(parts, normalized_text) for parts in self.name_parts)


def _name_found(parts: tuple[str, ...], text: str) -> bool:
    family = parts[0]
    if family and _long_enough_family(family):
        # CJK text is written without spaces between family and given name: substring there.
        if (family in text) if is_cjk(family) else (f" {family} " in text):
            return True
    present = [p for p in parts if p and len(p.replace(" ", "")) >= MIN_NAME_PART_CHARS and f" {p} " in text]
    return len(present) >= 2


def _long_enough_family(family: str) -> bool:
    chars = len(family.replace(" ", ""))
    return chars >= (MIN_FAMILY_CHARS_CJK if is_cjk(family) else MIN_FAMILY_CHARS)


def name_matcher(pn: str, rendered: str | None = None) -> Matcher:
    """Each PN component group (alphabetic, ideographic, phonetic) gives family/given/middle."""
    groups = []
    for group in pn.split("="):
        components = (group.split("^") + ["", "", ""])[:3]
        groups.append(tuple(" ".join(_phrase(c)) for c in components))
    return Matcher(name_parts=tuple(g for g in groups if any(g)))


def date_matcher(value: str, rendered: str | None = None) -> Matcher:
    digits = digits_of(value)[:8]
    if len(digits) < 8:
        return _rendered_only(rendered)
    year, month, day = digits[:4], digits[4:6], digits[6:8]
    months = {month, str(int(month)), MONTHS[int(month) - 1][:3], MONTHS[int(month) - 1]} \
        if 1 <= int(month) <= 12 else {month}
    days = {day, str(int(day))}
    patterns = [re.compile(rf" (?:{year}{month}{day}|{day}{month}{year}|{month}{day}{year})(?:\d{{2}}|\d{{4}}|\d{{6}})? ")]
    for m in months:
        for d in days:
            for order in ((year, m, d), (d, m, year), (m, d, year)):
                patterns.append(_tokens_pattern(list(order)))
    return Matcher(patterns=tuple(patterns) + _rendered_patterns(rendered))


def time_matcher(value: str, rendered: str | None = None) -> Matcher:
    digits = digits_of(value.split(".")[0])
    if len(digits) < 6:
        return _rendered_only(rendered, min_chars=6)
    hh, mm, ss = digits[:2], digits[2:4], digits[4:6]
    return Matcher(patterns=(re.compile(rf" {hh}{mm}{ss} "), _tokens_pattern([hh, mm, ss]))
                   + _rendered_patterns(rendered, min_chars=6))


def id_matcher(value: str, rendered: str | None = None) -> Matcher:
    """The ID as written, without separators, and without leading zeros."""
    compact = "".join(_phrase(value))
    prefix = re.match(r"[^\d]*", compact).group(0)
    significant = prefix + compact[len(prefix):].lstrip("0")
    if len(significant) < MIN_ID_CHARS:
        return Matcher()
    forms = {compact, significant}
    patterns = [_tokens_pattern([form]) for form in forms]
    tokens = _phrase(value)
    if len(tokens) > 1:
        patterns.append(_tokens_pattern(tokens))
    return Matcher(patterns=tuple(patterns) + _rendered_patterns(rendered))


def age_matcher(value: str, rendered: str | None = None) -> Matcher:
    match = re.fullmatch(r"0*(\d+)\s*([DWMY])", value.strip().upper())
    if not match:
        return _rendered_only(rendered)
    number, unit = match.groups()
    units = "|".join(AGE_UNITS[unit])
    return Matcher(patterns=(re.compile(rf" 0*{number} ?(?:{units}) "),
                             re.compile(rf" 0*{number} (?:{units}) old "))
                   + _rendered_patterns(rendered))


def phone_matcher(value: str, rendered: str | None = None) -> Matcher:
    digits = digits_of(value)
    runs = (digits,) if len(digits) >= MIN_PHONE_DIGITS else ()
    national = digits.lstrip("0")
    return Matcher(digit_runs=runs + ((national,) if len(national) >= MIN_PHONE_DIGITS and national != digits else ()))


def address_matcher(value: str, rendered: str | None = None) -> Matcher:
    parts = [p for p in re.split(r"[,\n;]", value) if len("".join(_phrase(p))) >= MIN_ADDRESS_PART_CHARS]
    patterns = [_tokens_pattern(_phrase(p)) for p in parts]
    return Matcher(patterns=tuple(patterns) + text_matcher(value, rendered).patterns)


def text_matcher(value: str, rendered: str | None = None) -> Matcher:
    tokens = _phrase(value)
    if len("".join(tokens)) < MIN_TEXT_CHARS:
        return _rendered_only(rendered)
    return Matcher(patterns=(_tokens_pattern(tokens),) + _rendered_patterns(rendered))


def uid_matcher(value: str, rendered: str | None = None) -> Matcher:
    return Matcher(patterns=(_tokens_pattern(_phrase(value)),)) if value.strip() else Matcher()


def _rendered_patterns(rendered: str | None, min_chars: int = MIN_TEXT_CHARS) -> tuple[re.Pattern[str], ...]:
    if not rendered:
        return ()
    tokens = _phrase(rendered)
    return (_tokens_pattern(tokens),) if len("".join(tokens)) >= min_chars else ()


def _rendered_only(rendered: str | None, min_chars: int = MIN_TEXT_CHARS) -> Matcher:
    return Matcher(patterns=_rendered_patterns(rendered, min_chars))


MATCHERS = {
    "NAME": name_matcher, "DATE": date_matcher, "TIME": time_matcher, "ID": id_matcher,
    "ACCESSION": id_matcher, "AGE": age_matcher, "PHONE": phone_matcher, "ADDRESS": address_matcher,
    "INSTITUTION": text_matcher, "OTHER_PHI": text_matcher, "UID": uid_matcher,
}


def matcher_for(category: str, value: str, rendered: str | None = None) -> Matcher:
    return MATCHERS.get(category, text_matcher)(value, rendered)
