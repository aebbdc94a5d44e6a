"""One-call constructors for the per-file callables the Spark steps pass down: build the file's
dictionary once (from its bronze header rows), return a function of the text alone.

    find_phi = build_phi_finder(rows, keyring)        # Callable[[Sequence[TextLine]], list[PhiSpan]]
    clean = build_text_cleaner(rows)                  # Callable[[str], str] for deidentify_dataset
Both raise RecognizerError (reason "dictionary_failed", ...) when the file cannot be judged.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from transforms.keyring import Keyring
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer, RecognizerSettings
from transforms.text_types import PhiSpan, TextLine


def build_phi_finder(rows: Iterable[Any], keyring: Keyring, settings: RecognizerSettings = RecognizerSettings(),
                     recognizer: PhiRecognizer | None = None) -> Callable[[Sequence[TextLine]], list[PhiSpan]]:
    """The PHI finder of one file's frames (rows: bronze.dicom_elements rows of that file); `recognizer`:
    another engine's (the Spark NLP engine's `AnnotatedRecognizer`), the Python engine's by default."""
    dictionary = PhiDictionary.from_header_elements(rows)
    recognizer = recognizer if recognizer is not None else PhiRecognizer(settings, keyring)

    def find_phi(lines: Sequence[TextLine]) -> list[PhiSpan]:
        return recognizer.find_phi_in_lines(lines, dictionary)
    return find_phi


def build_text_cleaner(rows: Iterable[Any], settings: RecognizerSettings = RecognizerSettings()
                       ) -> Callable[[str], str]:
    """The Clean Descriptors text cleaner of one file (no keyring needed: it returns text, not hashes)."""
    dictionary = PhiDictionary.from_header_elements(rows)
    recognizer = PhiRecognizer(settings)

    def clean(text: str) -> str:
        return recognizer.clean_text(text, dictionary)
    return clean
