"""PHI recognition on burned-in (OCR) text and on free-text header values.

Public API:
* `PhiDictionary.from_header_elements(rows)` / `.from_dataset(ds)`: the per-file dictionary;
* `PhiRecognizer(settings, keyring).find_phi_in_lines(lines, dictionary) -> list[PhiSpan]`;
* `PhiRecognizer.clean_text(text, dictionary) -> str` (Clean Descriptors);
* `RecognizerError(reason)`: the file must be quarantined;
* `build_phi_finder(rows, keyring)` / `build_text_cleaner(rows)`: per-file callables for the Spark steps.
The default engine is pure Python (see docs/phi-recognition.md); `sparknlp_pipeline` builds the
Spark NLP pipeline from the same definitions when its jar is available.
"""

from transforms.phi.dictionary import PhiDictionary
from transforms.phi.errors import RecognizerError
from transforms.phi.factories import build_phi_finder, build_text_cleaner
from transforms.phi.merge import Chunk
from transforms.phi.recognizer import PhiRecognizer, RecognizerSettings

__all__ = ["Chunk", "PhiDictionary", "PhiRecognizer", "RecognizerError", "RecognizerSettings", "build_phi_finder",
           "build_text_cleaner"]
