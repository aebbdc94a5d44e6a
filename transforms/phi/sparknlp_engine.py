"""The `sparknlp` PHI engine without Spark: from Spark NLP's annotations to our chunks.

The engine is the Python engine with one hook changed (`PhiRecognizer.matcher_chunks`): the pattern
matches come from Spark NLP's RegexMatcher instead of Python's `re`, and the NER model's chunks are
added. Everything else is shared: the header dictionary (our OCR-tolerant matcher), the context rules,
the technique guard, the merge step (labels kept), the position finder, the error handling.

Spark NLP sees *documents*: one per field of a line (a line cut at wide gaps, or at "\\" in header
text), so that a pattern never spans two overlay items, exactly as the Python engine matches per field.
Where the annotations come from is the caller's choice (`Annotate`):
* a LightPipeline in this process (`sparknlp_pipeline.light_annotator`: evaluation, benchmarks);
* annotations computed earlier by a Spark DataFrame transform on the executors
  (`transforms/spark/phi_engine.py`), looked up by document text (`precomputed`).
Both give the same result for the same document: a document is annotated on its own.

Nothing here imports Spark: unit-testable with hand-made annotations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from transforms.keyring import Keyring
from transforms.phi.merge import Chunk
from transforms.phi.normalize import Token
from transforms.phi.patterns import PATTERNS
from transforms.phi.position import place_words
from transforms.phi.recognizer import PhiRecognizer, RecognizerSettings, _gap_field_starts, _text_field_starts
from transforms.phi.rules import VOCABULARY, match_chunk
from transforms.phi.vocabulary import KEEP_WORDS, LABEL_WORDS
from transforms.text_types import TextLine

NER_CATEGORIES = frozenset({"NAME", "INSTITUTION", "ADDRESS"})
MIN_NER_CONFIDENCE = 0.5   # the CRF's mean marginal of the chunk's tags: below even odds, not an entity
MIN_LONE_WORD = 4          # letters a NER chunk of one word needs
_SPECS = {spec.name: spec for spec in PATTERNS}


@dataclass(frozen=True)
class Annotation:
    """One chunk of a Spark NLP annotator in one document (end exclusive, in Python characters)."""

    kind: str            # "pattern" (RegexMatcher; label = pattern name) | "ner" (label = entity)
    start: int
    end: int
    label: str
    score: float


Annotate = Callable[[Sequence[str]], list[list[Annotation]]]


def field_documents(text: str, field_starts: frozenset[int]) -> list[tuple[int, str]]:
    """(offset, document) of each field of a text: the units Spark NLP annotates."""
    bounds = [0, *sorted(s for s in field_starts if 0 < s < len(text)), len(text)]
    return [(start, text[start:end]) for start, end in zip(bounds, bounds[1:]) if text[start:end].strip()]


def line_documents(lines: Sequence[TextLine], settings: RecognizerSettings = RecognizerSettings()) -> list[str]:
    """The documents `AnnotatedRecognizer.find_phi_in_lines` will ask for, for these OCR lines: the
    Spark path annotates them ahead (same line text, same field gaps as the recognizer computes)."""
    documents = []
    for line in lines:
        words = getattr(line, "words", None) or ()
        if not all(isinstance(getattr(w, "text", None), str) for w in words):
            continue            # the recognizer raises invalid_ocr_line for it
        text, placed = place_words(words)
        documents += [doc for _, doc in field_documents(text, _gap_field_starts(placed, settings.field_gap_ratio))]
    return documents


def text_documents(text: str) -> list[str]:
    """The documents of a header text value (`clean_text`): its lines, cut at "\\"."""
    return [doc for line in text.splitlines() or [text] for _, doc in field_documents(line, _text_field_starts(line))]


def precomputed(by_document: Mapping[str, list[Annotation]]) -> Annotate:
    """An `Annotate` over annotations computed ahead; a document not there is an error (never
    silently unjudged: the caller quarantines the file)."""
    def annotate(documents: Sequence[str]) -> list[list[Annotation]]:
        return [by_document[document] for document in documents]
    return annotate


def prefetched(annotate: Annotate, documents: Sequence[str]) -> Annotate:
    """Annotate every document now, in one call (one Spark job), and answer from the result."""
    unique = list(dict.fromkeys(documents))
    return precomputed(dict(zip(unique, annotate(unique))) if unique else {})


class AnnotatedRecognizer(PhiRecognizer):
    """The `sparknlp` engine: PhiRecognizer with Spark NLP's pattern matches and NER chunks."""

    def __init__(self, annotate: Annotate, settings: RecognizerSettings = RecognizerSettings(),
                 keyring: Keyring | None = None):
        super().__init__(settings, keyring)
        self.annotate = annotate

    def matcher_chunks(self, texts: Sequence[str], token_lines: Sequence[list[Token]],
                       field_starts: Sequence[frozenset[int]]) -> list[list[Chunk]]:
        fields = [field_documents(text, starts) for text, starts in zip(texts, field_starts)]
        unique = list(dict.fromkeys(doc for per_text in fields for _, doc in per_text))
        annotated = dict(zip(unique, self.annotate(unique))) if unique else {}
        return [[chunk for offset, doc in per_text for chunk in document_chunks(text, tokens, offset, doc,
                                                                                annotated[doc])]
                for text, tokens, per_text in zip(texts, token_lines, fields)]


def document_chunks(text: str, tokens: Sequence[Token], offset: int, document: str,
                    annotations: Sequence[Annotation]) -> list[Chunk]:
    """Chunks (in the text's characters) of one document's annotations."""
    chunks = []
    for annotation in annotations:
        if annotation.kind == "pattern":
            chunk = _pattern_chunk(tokens, offset, document, annotation)
        elif annotation.kind == "ner":
            chunk = _ner_chunk(text, tokens, offset, annotation)
        else:
            chunk = None
        if chunk is not None:
            chunks.append(chunk)
    return chunks


def _pattern_chunk(tokens: Sequence[Token], offset: int, document: str, annotation: Annotation) -> Chunk | None:
    """RegexMatcher returns the whole match; the value group ("Dr. Gray": the name) is found again
    with the same expression, and the match is judged as the Python engine judges it."""
    spec = _SPECS.get(annotation.label)
    if spec is None:
        return None
    start, end = annotation.start, annotation.end
    if spec.value_group:
        match = spec.compiled.fullmatch(document, start, end)
        if match is None or match.start(spec.value_group) < 0:
            return None
        start, end = match.span(spec.value_group)
    return match_chunk(spec, tokens, offset + start, offset + end)


def _ner_chunk(text: str, tokens: Sequence[Token], offset: int, annotation: Annotation) -> Chunk | None:
    """A NER chunk of a category the model is for, unless every word of it is radiology vocabulary or a
    label word ("Portable", "Chest PA", "Name"): the model is trained on our generated text only, and
    the vocabulary (written by hand from general usage) is the same guard the shape patterns have."""
    if annotation.label not in NER_CATEGORIES or annotation.score < MIN_NER_CONFIDENCE:
        return None
    start, end = offset + annotation.start, offset + annotation.end
    inside = [t for t in tokens if start <= t.start and t.end <= end]
    words = [t.plain for t in inside]
    if not words or all(word in VOCABULARY or word in LABEL_WORDS or len(word) == 1 for word in words):
        return None
    if len(words) == 1 and len(words[0]) <= MIN_LONE_WORD - 1:
        return None               # one short word ("EEG", "Wh" read from a filled box): too little evidence;
                                  # after a label ("Op: LK") the context rule takes the value in both engines
    # An orientation marker at the edge of a name or place ("DOE, JOHN D. A", "A Springfield General
    # Hospital"): one letter identifies no one, and the marker must stay. An initial keeps its dot.
    while len(inside) > 1 and _is_marker(text, inside[-1]):
        inside.pop()
        end = inside[-1].end
    while len(inside) > 1 and _is_marker(text, inside[0]):
        inside.pop(0)
        start = inside[0].start
    return Chunk(start, end, annotation.label, "ner", annotation.score)


def _is_marker(text: str, token: Token) -> bool:
    return len(token.plain) == 1 and token.plain in KEEP_WORDS and text[token.end:token.end + 1] != "."


def utf16_to_index(text: str, offset: int) -> int:
    """Java (Spark NLP) counts UTF-16 code units; Python counts code points."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return offset
    units = 0
    for index, ch in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def from_java(document: str, kind: str, begin: int, end_inclusive: int, label: str, score: float) -> Annotation:
    """An annotation from Spark NLP's offsets (UTF-16 units, end inclusive) of `document`."""
    return Annotation(kind, utf16_to_index(document, begin), utf16_to_index(document, end_inclusive + 1), label, score)
