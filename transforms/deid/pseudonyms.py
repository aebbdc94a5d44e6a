"""Keyed pseudonyms, UIDs and the per-patient date shift: pure functions of the secret and the value.

Nothing is looked up or stored: the same value under the same secret gives the same pseudonym in every
file and every batch, so the study/series/instance hierarchy and every UID reference stay consistent
without a mapping table, and nobody without the secret can test a guess. Each kind of value has its
own HMAC purpose, so a PatientID and an AccessionNumber that happen to be equal do not collide.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from transforms.keyring import Keyring

UID_ROOT = "2.25."                  # ISO/IEC 9834-8: a UID made of a 128-bit integer, no registration
SHIFT_MIN_DAYS, SHIFT_MAX_DAYS = 1, 365
SHIFT_MIN_SECONDS, SHIFT_MAX_SECONDS = 3600, 7199      # times of day move by 1 to 2 hours


@lru_cache(maxsize=64)
def _prepared(secret: bytes, purpose: str) -> tuple["hashlib._Hash", "hashlib._Hash"]:
    """HMAC-SHA256's inner and outer hash states for this secret, with the purpose already fed in.

    RFC 2104 spelled out: a header hashes ~50 values, and copying two prepared hashlib states is
    about twice as fast as copying an hmac object. Tests check it equals `Keyring.digest`.
    """
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\x00")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    inner.update(purpose.encode() + b"\x00")
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


_BLOCK = 64                                              # SHA-256 block size


def keyed_digest(keyring: Keyring, purpose: str, value: str | bytes) -> bytes:
    """Exactly `keyring.digest(purpose, value)` (HMAC-SHA256 of purpose, NUL, value), faster."""
    inner_state, outer_state = _prepared(keyring.secret, purpose)
    inner = inner_state.copy()
    inner.update(value.encode("utf-8") if isinstance(value, str) else value)
    outer = outer_state.copy()
    outer.update(inner.digest())
    return outer.digest()


def keyed_hexdigest(keyring: Keyring, purpose: str, value: str | bytes, length: int = 64) -> str:
    return keyed_digest(keyring, purpose, value).hex()[:length]


def keyed_integer(keyring: Keyring, purpose: str, value: str | bytes, bits: int = 128) -> int:
    return int.from_bytes(keyed_digest(keyring, purpose, value), "big") >> (256 - bits)


def audit_hash(keyring: Keyring, value: str | bytes) -> str:
    """The audit table's keyed hash of an original value: `keyring.hexdigest("audit", value)`."""
    return keyed_hexdigest(keyring, "audit", value)


def clean_identifier(value: str) -> str:
    """The identifier as compared across files: padding and surrounding blanks do not count."""
    return value.strip(" \x00")


def new_uid(keyring: Keyring, uid: str) -> str:
    """`2.25.<int>` from the 128 high bits of HMAC(uid): at most 44 characters, no leading zero."""
    return UID_ROOT + str(keyed_integer(keyring, "uid", clean_identifier(uid), bits=128))


def patient_pseudonym(keyring: Keyring, patient_key: str) -> str:
    """PatientID / PatientName replacement: 'P' + 19 hex digits (76 bits; fits LO and PN)."""
    return "P" + keyed_hexdigest(keyring, "PatientID", patient_key, 19).upper()


def accession_pseudonym(keyring: Keyring, accession_number: str) -> str:
    """'A' + 15 hex digits: fits SH (16 characters)."""
    return "A" + keyed_hexdigest(keyring, "AccessionNumber", clean_identifier(accession_number), 15).upper()


def person_pseudonym(keyring: Keyring, name: str) -> str:
    """A dummy person name that still tells two people apart (e.g. SR observers)."""
    return "PERSON^" + keyed_hexdigest(keyring, "PersonName", clean_identifier(name), 12).upper()


def code_pseudonym(keyring: Keyring, scheme: str, code: str, max_chars: int = 16) -> str:
    """A local (non-public) code value: keyed on scheme and code so distinct codes stay distinct."""
    token = keyed_hexdigest(keyring, "LocalCode", f"{clean_identifier(scheme)}\x00{clean_identifier(code)}", 15)
    return ("L" + token.upper())[:max_chars]


def date_shift_days(keyring: Keyring, patient_key: str) -> int:
    """The day part of the patient's shift, in [-365, -1], the same in every file and batch.

    Never zero: an unshifted date would be a real date. The full shift of an instant is these days
    plus `time_shift_seconds` (see dates.py for how DA, TM and DT each take it).
    """
    span = SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1
    return -(SHIFT_MIN_DAYS + keyed_integer(keyring, "DateShift", patient_key, bits=64) % span)


def time_shift_seconds(keyring: Keyring, patient_key: str) -> int:
    """Seconds added to every time of day of the patient, in [3600, 7199].

    At least an hour, so even an hour-precision TM changes; under two hours, so a time crosses
    midnight (and its paired date moves one more day) only for events after 22:00.
    """
    span = SHIFT_MAX_SECONDS - SHIFT_MIN_SECONDS + 1
    return SHIFT_MIN_SECONDS + keyed_integer(keyring, "TimeShift", patient_key, bits=64) % span
