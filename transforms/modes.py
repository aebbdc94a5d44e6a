"""The enumerated choices of a run, one enum each: the CLI's `choices`, Dagster's launchpad (an Enum
config field lists its values and refuses others) and the domain code all take them from here.

They are `StrEnum`s: a member equals its value (`RedactMode.phi == "phi"`), formats as its value in run
keys and metadata, and pickles to Spark's Python workers as itself. Members are named by their values
so that a launchpad config reads `redact: phi`, as before the enums.
"""

from __future__ import annotations

from enum import StrEnum


class RedactMode(StrEnum):
    """Which burned-in text is filled: only PHI (text not known to be safe) or every text region."""

    phi = "phi"
    all = "all"


class LossyJpegPolicy(StrEnum):
    """JPEG baseline frames that change: re-encode once in the same syntax, or move the file to
    JPEG-LS lossless (no second lossy generation)."""

    same_syntax = "same_syntax"
    lossless = "lossless"


class GateFrames(StrEnum):
    """Which frames the leakage gate reads again: every frame (independent of the detector's blind
    spots), the frames where detection saw text, or only the frames that were redacted."""

    all = "all"
    text = "text"
    redacted = "redacted"


class GateDciodvfy(StrEnum):
    """dciodvfy in the gate's structure check (an error kind the input did not have holds the file):
    required holds every file with `dciodvfy_not_installed` when dicom3tools is missing (nothing
    unverified is published), when_installed then skips the comparison, off never runs it."""

    required = "required"
    when_installed = "when_installed"
    off = "off"


class PhiEngine(StrEnum):
    """Which PHI recognizer judges OCR text (docs/phi-recognition.md): the pure-Python engine, or the
    same dictionary and rules around Spark NLP's RegexMatcher and a NerCrf model, run in the
    executors' JVM (transforms/spark/phi_engine.py)."""

    python = "python"
    sparknlp = "sparknlp"


# The default of the CLI, the run config and the Spark steps (one place): Spark NLP, chosen by recall
# first (it finds the names and institutions a header does not hold), measured side by side in
# docs/phi-recognition.md.
DEFAULT_PHI_ENGINE = PhiEngine.sparknlp


def choices(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values of an enum, in declaration order (for help texts and error messages)."""
    return tuple(member.value for member in enum)
