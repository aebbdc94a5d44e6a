"""The pseudonym secret and the keyed hashes derived from it.

Every value that must be referred to outside the identified zone (pseudonyms, UIDs, audit rows, OCR
text in silver) goes through an HMAC-SHA256 with this secret, so that equal inputs give equal outputs
across files and batches, and nobody without the secret can test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from warehouse.settings import Mode, env_name, settings

SECRET_ENV = env_name("secret")
MODE_ENV = env_name("mode")               # production (default) | demo | test
DEMO_SECRET = "deidlake-demo-secret-not-for-production"
MIN_SECRET_CHARS = 16


class SecretError(RuntimeError):
    pass


@dataclass(frozen=True)
class Keyring:
    secret: bytes
    is_demo: bool = False

    @classmethod
    def from_env(cls) -> "Keyring":
        """The secret from $DEIDLAKE_SECRET; the demo secret only in demo or test mode."""
        environment = settings()
        mode, secret = environment.mode, environment.secret_value
        if secret and secret != DEMO_SECRET:
            if len(secret) < MIN_SECRET_CHARS:
                raise SecretError(f"{SECRET_ENV} is shorter than {MIN_SECRET_CHARS} characters")
            return cls(secret.encode(), is_demo=False)
        if mode in (Mode.demo, Mode.test):
            return cls(DEMO_SECRET.encode(), is_demo=True)
        raise SecretError(
            f"{SECRET_ENV} is missing or is the demo secret: set a secret of at least "
            f"{MIN_SECRET_CHARS} characters, or {MODE_ENV}=demo for a demonstration run"
        )

    def digest(self, purpose: str, value: str | bytes) -> bytes:
        """HMAC-SHA256 of `value`, domain-separated by `purpose` (e.g. "PatientID", "uid")."""
        data = value.encode("utf-8") if isinstance(value, str) else value
        return hmac.new(self.secret, purpose.encode() + b"\x00" + data, hashlib.sha256).digest()

    def hexdigest(self, purpose: str, value: str | bytes, length: int = 64) -> str:
        return self.digest(purpose, value).hex()[:length]

    def integer(self, purpose: str, value: str | bytes, bits: int = 128) -> int:
        return int.from_bytes(self.digest(purpose, value), "big") >> (256 - bits)

    @property
    def fingerprint(self) -> str:
        """A public, non-secret identifier of this secret (recorded with outputs for rotation)."""
        return hashlib.sha256(b"deidlake-key-fingerprint\x00" + self.secret).hexdigest()[:12]
