"""The one exception of the recognizer: a frame (or header value) it could not judge.

A caller that gets it must quarantine the file: text the recognizer did not judge may be PHI, so it is
never published unredacted. `reason` is machine-readable; `detail` is at most an exception class name.
Neither ever quotes text from the file.
"""

from __future__ import annotations


class RecognizerError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail
