"""Tokens and comparison keys, shared by the dictionary (header values) and the text being searched,
so that both sides are cut and normalised the same way.

A token is a run of letters/digits (combining marks included), or one CJK ideograph / kana: those
scripts write names without spaces, so one character per token lets an n-gram find "山田太郎" inside
"山田太郎様". Punctuation never enters a key: "DOE, JOHN", "Doe^John" and "DOE JOHN" all key to
"doejohn", and "06/16/1976" to "06161976".

Two keys per token sequence:
* `plain`: NFKD without combining marks, case-folded ("Müller" -> "muller", "STRASSE"/"Straße" alike);
* `folded`: `plain` with the characters OCR confuses mapped to one representative (0/o, 1/l/i, 5/s,
  8/b, 2/z), used for the fuzzy comparison of longer keys so that "O6/l6/1976" is zero edits away.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
COMBINING_MARKS = "\u0300-\u036f"
TOKEN_RE = re.compile(rf"[{CJK_RANGES}]|(?:[^\W_{CJK_RANGES}]|[{COMBINING_MARKS}])+")
OCR_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s", "8": "b", "2": "z"})


@dataclass(frozen=True)
class Token:
    start: int          # character offsets in the searched text
    end: int
    plain: str

    @property
    def is_numeric(self) -> bool:
        return self.plain.isdigit()


@lru_cache(maxsize=65536)
def plain_key(text: str) -> str:
    """Case-folded, without diacritics and without anything that is not a letter or digit."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in kept.casefold() if ch.isalnum())


def folded_key(plain: str) -> str:
    return plain.translate(OCR_FOLD)


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in TOKEN_RE.finditer(text):
        key = plain_key(match.group())
        if key:
            tokens.append(Token(match.start(), match.end(), key))
    return tokens


def token_keys(text: str) -> tuple[str, ...]:
    """The plain keys of a header value's tokens (the dictionary side of `tokenize`)."""
    return tuple(token.plain for token in tokenize(text))
