"""The pattern recognizers: every regular expression of the recognizer, in one place.

Both engines use these same definitions: the Python engine compiles them with `re`; the Spark NLP
pipeline hands them to RegexMatcher (Java regex) with `(?U)` prepended. So they are written in the
subset both dialects read alike: no named groups, no possessive quantifiers, `(?i:...)` scoped flags,
explicit character classes instead of `\\b` where the two would disagree on non-ASCII letters.

`value_group` picks the PHI part of a match when the pattern needs context to fire ("Dr. Gray": the
title is kept, the name is PHI). Validity is written into the expressions (months 1-12, days 1-31,
years 1800-2099), so that version strings ("V7.4.0017") and technique numbers do not read as dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f\u0386-\u038f\u0391-\u03ab\u0400-\u042f"
LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u017f\u03ac-\u03ce\u0430-\u045f"
LETTER = UPPER + LOWER
NO_ALNUM_BEFORE = "(?<![0-9A-Za-z])"
NO_ALNUM_AFTER = "(?![0-9A-Za-z])"
NO_WORD_BEFORE = f"(?<![0-9{LETTER}])"
NO_WORD_AFTER = f"(?![0-9{LETTER}])"

DAY = "(?:0?[1-9]|[12][0-9]|3[01])"
MONTH = "(?:0?[1-9]|1[0-2])"
YEAR4 = "(?:1[89][0-9]{2}|20[0-9]{2})"
YEAR = f"(?:{YEAR4}|[0-9]{{2}})"
MONTH_NAME = ("(?i:jan(?:uary|uar)?|feb(?:ruary|ruar)?|m(?:ar(?:ch)?|\u00e4r(?:z)?|rz)|apr(?:il)?|"
              "ma[iy]|jun[ei]?|jul[iy]?|aug(?:ust)?|sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|"
              "de[cz](?:ember)?)\\.?")
TIME_OF_DAY = "(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?"
WORD = f"[{UPPER}][{LETTER}'\u2019-]{{0,40}}"          # a capitalised word (title or upper case)
NAME_WORD = f"[{UPPER}][{LETTER}'\u2019-]{{1,40}}"
STREET_SUFFIX = ("(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|"
                 "square|sq|terrace|ter|parkway|pkwy|highway|hwy|circle|cir|trail|alley|plaza|crescent|"
                 "close|row|walk|park|heights|hill|gardens)\\.?")
STREET_SUFFIX_DE = "(?i:stra(?:\u00dfe|sse)|str\\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee)"
UNIT = "(?:\\s*,?\\s*(?i:apt|apartment|suite|ste|unit|floor|fl|room|rm|#)\\.?\\s*[0-9A-Za-z-]{1,6})?"
INSTITUTION = ("(?i:hospitals?|clinics?|medical cent(?:er|re)|health (?:cent(?:er|re)|system)|"
               "infirmary|sanatorium|klinikum|kliniken|klinik|krankenhaus|universit\u00e4tsklinikum|"
               "uniklinik|spital|h\u00f4pital|clinique|ospedale|szpital|przychodnia|"
               "\u0431\u043e\u043b\u044c\u043d\u0438\u0446\u0430|\u043a\u043b\u0438\u043d\u0438\u043a\u0430|"
               "\u03bd\u03bf\u03c3\u03bf\u03ba\u03bf\u03bc\u03b5\u03af\u03bf|imaging cent(?:er|re)|"
               "radiology cent(?:er|re))")
CJK_INSTITUTION = "[\u3040-\u30ff\u4e00-\u9fff]{1,12}(?:\u75c5\u9662|\u533b\u9662|\u30af\u30ea\u30cb\u30c3\u30af)"
CONNECTOR = "(?:and|&|of|und|f\u00fcr|de|del|der|des|du|di|la|le|the)"
INSTITUTION_TAIL = f"(?: (?:of |[{LOWER}]{{1,3}}\\. ?)?{WORD})"   # a word after the keyword ("Klinikum Stuttgart")


@dataclass(frozen=True)
class PatternSpec:
    name: str            # identifier (RegexMatcher's rule identifier)
    category: str
    regex: str
    score: float = 0.9
    value_group: int = 0

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    @property
    def java_regex(self) -> str:
        """The same expression for Java's engine, with Unicode character classes."""
        return "(?U)" + self.regex


def _bounded(body: str) -> str:
    return f"{NO_ALNUM_BEFORE}{body}{NO_ALNUM_AFTER}"


PATTERNS: tuple[PatternSpec, ...] = (
    # Dates: numeric day/month/year in either order, ISO, DICOM DA/DT, month names in four orders.
    PatternSpec("date_numeric", "DATE", _bounded(f"(?:{DAY}[./-]{MONTH}|{MONTH}[./-]{DAY})[./-]{YEAR}")),
    PatternSpec("date_iso", "DATE", _bounded(f"{YEAR4}[./-]{MONTH}[./-]{DAY}(?:[T ]{TIME_OF_DAY})?")),
    PatternSpec("date_dicom", "DATE", _bounded(
        f"{YEAR4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:(?:[01][0-9]|2[0-3])[0-5][0-9]"
        f"(?:[0-5][0-9](?:\\.[0-9]{{1,6}})?)?)?")),
    PatternSpec("date_day_month_name", "DATE", _bounded(
        f"{DAY}\\.?[ -]?{MONTH_NAME}(?:[ ,.-]{{0,2}}'?{YEAR})?")),
    PatternSpec("date_month_name_day", "DATE", _bounded(
        f"{MONTH_NAME}[ -]?{DAY}(?:st|nd|rd|th)?(?:,? ?[ -]?{YEAR4})?")),
    PatternSpec("date_year_month_name", "DATE", _bounded(f"{YEAR4}[ -]{MONTH_NAME}(?:[ -]{DAY})?")),
    PatternSpec("date_month_name_year", "DATE", _bounded(f"{MONTH_NAME},? {YEAR4}")),
    PatternSpec("time", "TIME", _bounded(f"{TIME_OF_DAY}(?: ?(?i:[ap]\\.?m\\.?))?")),
    # Ages: DICOM AS ("045Y", "006M") and written forms ("45Y", "45 yrs", "45yo", "45 J.").
    PatternSpec("age_dicom", "AGE", _bounded("(?:[0-9]{3}Y|0[0-9]{2}[MWD])")),
    PatternSpec("age_written", "AGE", _bounded(
        "[0-9]{1,3} ?(?i:y(?:ears?|rs?|o|/o)?|j(?:ahre)?|lat|let|"
        "\u0433\\.?|\u043b\u0435\u0442|\u03b5\u03c4\u03ce\u03bd)\\.?(?: old)?")),
    # Contact data.
    PatternSpec("email", "EMAIL", "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@"
                "[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,4}\\.[A-Za-z]{2,24}"),
    PatternSpec("url", "OTHER_PHI", "(?i:https?://|www\\.)[^\\s]{1,200}"),
    PatternSpec("ssn", "SSN", _bounded("[0-9]{3}-[0-9]{2}-[0-9]{4}")),
    PatternSpec("phone_north_american", "PHONE", _bounded(
        "(?:(?:\\+|00)?1[ .-]?)?(?:\\([0-9]{3}\\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
        "(?: ?(?i:x|ext\\.?) ?[0-9]{1,5})?")),
    PatternSpec("phone_international", "PHONE", _bounded(
        "(?:\\+|00)[1-9][0-9]{0,2}[ .-]?(?:\\(0?[0-9]{1,5}\\)[ .-]?)?[0-9]{1,5}(?:[ .-]?[0-9]{2,5}){1,4}")),
    PatternSpec("phone_national", "PHONE", _bounded(
        "(?:\\(0[0-9]{1,5}\\) ?[0-9]{3,8}|0[0-9]{2,5}[ /-][0-9]{4,8}|[78] ?\\([0-9]{3}\\) ?[0-9]{3}-[0-9]{2}-[0-9]{2})"
        "(?:[ -][0-9]{1,5})?")),
    # Identifiers: long digit runs (with a short letter prefix or suffix), UIDs.
    PatternSpec("id_prefixed", "ID",
                _bounded("(?:(?i:mrn|pid|pat|acc)[-#]?|(?i:mr|id)[-#])[0-9](?:[0-9-]{0,20}[0-9])?"), score=0.8),
    PatternSpec("uid", "UID", "(?<![0-9A-Za-z.])[0-2](?:\\.[0-9]+){4,}(?![0-9A-Za-z]|\\.[0-9])"),
    PatternSpec("id_long_number", "ID",
                "(?<![0-9A-Za-z.,])(?:[A-Za-z]{1,4}[-#]?)?[0-9]{7,}(?:[A-Za-z]{1,3}[0-9]*)?"
                "(?![0-9A-Za-z]|[.,][0-9])", score=0.8),
    # Sex written as a bracketed code beside the name ("DOE^JOHN [M]"); OCR reads "]" as J, I, l, 1, |.
    PatternSpec("sex_bracketed", "SEX", "(?<![0-9A-Za-z])[\\[(] ?[MFOUmfou] ?[\\])JIl1|]", score=0.8),
    # Person names by shape: DICOM PN, "LAST, FIRST", and after a title (the title is kept).
    PatternSpec("name_pn", "NAME",
                f"{NO_WORD_BEFORE}[{LETTER}][{LETTER}'-]{{0,60}}\\^[{LETTER}' -]{{0,60}}"
                f"(?:\\^[{LETTER}.' -]{{0,30}}){{0,3}}", score=0.85),
    PatternSpec("name_last_comma_first", "NAME",
                f"{NO_WORD_BEFORE}{NAME_WORD}, ?{NAME_WORD}(?: [{UPPER}]\\.?)?{NO_WORD_AFTER}", score=0.6),
    PatternSpec("name_initial_surname", "NAME",
                f"{NO_WORD_BEFORE}[{UPPER}]\\. ?(?:[{UPPER}]\\. ?)?{NAME_WORD}(?: {NAME_WORD})?{NO_WORD_AFTER}",
                score=0.6),
    PatternSpec("name_after_title", "NAME",
                f"{NO_WORD_BEFORE}(?:Dr|DR|Prof|PROF|Mr|MR|Mrs|MRS|Ms|MS|Herr|Frau|Dott|Sr|Sra)(?:\\. ?| )"
                f"((?:[{UPPER}]\\. ?)?{NAME_WORD}(?: {NAME_WORD}){{0,2}})",
                score=0.7, value_group=1),
    # Places: institution-shaped phrases, street addresses, postal code + town, military and PO boxes.
    # A bare keyword ("Hospital", a field label) names no institution: a word before or after it must.
    PatternSpec("institution", "INSTITUTION",
                f"{NO_WORD_BEFORE}(?:(?:(?:St\\.?|{NAME_WORD},?|{CONNECTOR}) ){{1,5}}{INSTITUTION}{INSTITUTION_TAIL}{{0,3}}"
                f"|{INSTITUTION}{INSTITUTION_TAIL}{{1,3}})", score=0.7),
    PatternSpec("institution_cjk", "INSTITUTION", CJK_INSTITUTION, score=0.7),
    PatternSpec("street_address", "ADDRESS",
                _bounded(f"[0-9]{{1,6}}[A-Za-z]? (?:{WORD} ){{1,4}}{STREET_SUFFIX}{UNIT}"), score=0.7),
    PatternSpec("street_address_de", "ADDRESS",
                f"{NO_WORD_BEFORE}(?:[{UPPER}][{LETTER}]{{1,30}}[ -])?[{LETTER}]{{0,30}}{STREET_SUFFIX_DE}"
                f" ?[0-9]{{1,4}}[a-z]?{NO_ALNUM_AFTER}", score=0.7),
    PatternSpec("postal_town", "ADDRESS",
                _bounded(f"(?:[0-9]{{5}}|[0-9]{{2}}-[0-9]{{3}}) [{UPPER}][{LOWER}]{{2,40}}"
                         f"(?:[ -][{UPPER}][{LOWER}]{{1,40}})?"),
                score=0.6),
    PatternSpec("town_state_zip", "ADDRESS",
                f"{NO_WORD_BEFORE}{WORD}(?: {WORD}){{0,2}}, ?[A-Z]{{2}} [0-9]{{5}}(?:-[0-9]{{4}})?{NO_ALNUM_AFTER}",
                score=0.7),
    PatternSpec("box_address", "ADDRESS", _bounded(
        "(?:(?i:p\\.? ?o\\.? ?box|psc|unit|box|cmr) [0-9]{3,5}(?:, ?(?i:box) [0-9]{3,5})?|"
        "(?:APO|FPO|DPO) (?:AA|AE|AP) [0-9]{5})"), score=0.7),
)


def pattern_by_name(name: str) -> PatternSpec:
    for spec in PATTERNS:
        if spec.name == name:
            return spec
    raise KeyError(name)
