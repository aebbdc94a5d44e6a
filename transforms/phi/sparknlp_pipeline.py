"""The Spark NLP pipeline of the `sparknlp` PHI engine: its stages, loading, and a LightPipeline.

    DocumentAssembler ─ SentenceDetector (the documents, one per field of a line, joined by line breaks:
                        one sentence each)
      ├─ RegexMatcher                        the expressions of patterns.py, run by Java's regex engine
      └─ Tokenizer ─ PerceptronModel ─ Word2VecModel ─ NerCrfModel ─ NerConverter
                                                        NAME / INSTITUTION / ADDRESS chunks
    ─► sparknlp_engine (pure Python): our dictionary matcher, value groups, context rules, merge,
       position finder, exactly as in the Python engine

The documents are joined into one text per row, one line each, rather than handed over as an array
(DocumentAssembler reads array<string> too): with several documents in one row, NerCrfModel 5.5.3
pairs the tokens of one document with the embeddings of another ("Mismatched embedding tokens and
sentence tokens"); sentences of one document are what it is built for.

The RegexMatcher is built from `patterns.py` at load time (never saved with the model), so the two
engines can never run different expressions. The trained stages (POS, Word2Vec, NerCrf) are loaded
from `model_dir` (see `train_ner.py`); the Tokenizer is configured here for training and runtime alike.

NerCrf requires a POS column (its features include the POS of the ±2 window). No POS-tagged text is
at hand offline and every pretrained tagger is a download, so the "POS" is a PerceptronModel trained
on our own text with one constant tag: it carries no information, and the CRF's features come from the
words, their shapes and affixes, the ±2 window, the Word2Vec vectors and the vocabulary dictionary.

Per-file header dictionaries are *not* a TextMatcher here: a DataFrame transform applies one fitted
pipeline to every file of the batch, a TextMatcher is fitted on the driver from one phrase list, and
it matches exact tokens only. The project's rapidfuzz matcher (OCR-tolerant, built in ~10 ms per file
inside the task) does that part in both engines; docs/phi-recognition.md has the measurements.

Spark and Spark NLP are imported lazily: `transforms.phi` stays importable and testable without them.
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path
from typing import Any, Sequence

from transforms.keyring import Keyring
from transforms.phi.patterns import PATTERNS
from transforms.phi.recognizer import RecognizerSettings
from transforms.phi.sparknlp_engine import AnnotatedRecognizer, Annotation, from_java

RULE_DELIMITER = "~>"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "ner"
STAGE_DIRS = ("pos", "word2vec", "ner_crf")
DOCUMENTS_COL = "phi_documents"
TEXT_COL = "phi_text"
PATTERN_COL = "phi_pattern_chunks"
NER_COL = "phi_ner_chunks"
ANNOTATIONS_COL = "phi_annotations"
DOCUMENT_BREAK = "\n"

_lock = threading.Lock()
_loaded: dict[tuple[str, str], Any] = {}


class SparkNlpUnavailable(RuntimeError):
    """Spark NLP's jar or the trained model is missing: the `sparknlp` engine cannot run."""


def regex_rules() -> list[str]:
    """RegexMatcher rules, "regex~>identifier": the identifier is the pattern's name."""
    return [f"{spec.java_regex}{RULE_DELIMITER}{spec.name}" for spec in PATTERNS]


def document_assembler(input_col: str = TEXT_COL):
    from sparknlp.base import DocumentAssembler

    return DocumentAssembler().setInputCol(input_col).setOutputCol("document")


def sentence_detector():
    """One sentence per line of the text, nothing else: our documents (fields) are its lines."""
    from sparknlp.annotator import SentenceDetector

    return (SentenceDetector().setInputCols(["document"]).setOutputCol("sentence")
            .setCustomBounds([DOCUMENT_BREAK]).setUseCustomBoundsOnly(True))


def tokenizer():
    """The one tokenizer of training and runtime (Spark NLP's rule-based Tokenizer, defaults)."""
    from sparknlp.annotator import Tokenizer

    return Tokenizer().setInputCols(["sentence"]).setOutputCol("token")


def regex_matcher():
    from sparknlp.annotator import RegexMatcher

    return (RegexMatcher().setInputCols(["sentence"]).setOutputCol(PATTERN_COL).setRules(regex_rules())
            .setDelimiter(RULE_DELIMITER).setStrategy("MATCH_ALL"))


def ner_converter():
    from sparknlp.annotator import NerConverter

    return NerConverter().setInputCols(["sentence", "token", "ner"]).setOutputCol(NER_COL)


def require_spark_nlp(model_dir: Path = DEFAULT_MODEL_DIR) -> None:
    from warehouse.spark_session import spark_nlp_available

    if not spark_nlp_available():
        raise SparkNlpUnavailable("spark_nlp_jar_missing")
    missing = [name for name in STAGE_DIRS if not (Path(model_dir) / name).is_dir()]
    if missing:
        raise SparkNlpUnavailable(f"ner_model_missing:{','.join(missing)}")


def load_pipeline(spark, model_dir: Path = DEFAULT_MODEL_DIR):
    """The fitted pipeline, built once per process and Spark application (the RegexMatcher's fit only
    compiles its rules; the trained stages are read from disk)."""
    key = (str(Path(model_dir).resolve()), spark.sparkContext.applicationId)
    with _lock:
        if key not in _loaded:
            require_spark_nlp(model_dir)
            _loaded[key] = _build(spark, Path(model_dir))
        return _loaded[key]


def _build(spark, model_dir: Path):
    from pyspark.ml import Pipeline
    from sparknlp.annotator import NerCrfModel, PerceptronModel, Word2VecModel

    stages = [document_assembler(), sentence_detector(), tokenizer(), regex_matcher(),
              PerceptronModel.load(str(model_dir / "pos")).setInputCols(["sentence", "token"]).setOutputCol("pos"),
              Word2VecModel.load(str(model_dir / "word2vec")).setInputCols(["token"]).setOutputCol("embeddings"),
              NerCrfModel.load(str(model_dir / "ner_crf")).setInputCols(["sentence", "token", "pos", "embeddings"])
              .setOutputCol("ner").setIncludeConfidence(True),
              ner_converter()]
    return Pipeline(stages=stages).fit(spark.createDataFrame([("",)], [TEXT_COL]))


def joined_text(documents: Sequence[str]) -> str:
    """The documents as the lines of one text (a line break inside a document becomes a space: one
    character for one, so offsets stay)."""
    return DOCUMENT_BREAK.join(document.replace(DOCUMENT_BREAK, " ") for document in documents)


def split_annotations(documents: Sequence[str], items: Sequence[tuple]) -> dict[str, list[Annotation]]:
    """Annotations of the joined text (kind, begin, end inclusive, label, score: Spark NLP's UTF-16
    offsets) back to each document, in its own Python characters."""
    joined = joined_text(documents)
    starts, cursor = [], 0
    for document in documents:
        starts.append(cursor)
        cursor += len(document) + 1
    found: dict[str, list[Annotation]] = {document: [] for document in documents}
    for kind, begin, end, label, score in items:
        annotation = from_java(joined, kind, int(begin), int(end), label or "", float(score))
        index = bisect.bisect_right(starts, annotation.start) - 1
        if index < 0:
            continue
        offset, document = starts[index], documents[index]
        found[document].append(Annotation(kind, annotation.start - offset,
                                          min(annotation.end - offset, len(document)), annotation.label,
                                          annotation.score))
    return found


def annotate_dataframe(spark, frame, model_dir: Path = DEFAULT_MODEL_DIR, documents_col: str = DOCUMENTS_COL):
    """`frame` with ANNOTATIONS_COL added (from its documents_col, array<string>): on the executors, per
    partition, with the pipeline loaded once in this process and shipped to each executor once. Spark
    NLP's own columns are dropped again."""
    from pyspark.sql import functions as F

    model = load_pipeline(spark, model_dir)
    text = F.array_join(F.transform(documents_col, lambda d: F.regexp_replace(d, DOCUMENT_BREAK, " ")),
                        DOCUMENT_BREAK)
    annotated = model.transform(frame.withColumn(TEXT_COL, text))
    pattern = F.transform(PATTERN_COL, lambda a: F.struct(
        F.lit("pattern").alias("kind"), a["begin"].alias("begin"), a["end"].alias("end"),
        a["metadata"]["identifier"].alias("label"), F.lit(1.0).alias("score")))
    ner = F.transform(NER_COL, lambda a: F.struct(
        F.lit("ner").alias("kind"), a["begin"].alias("begin"), a["end"].alias("end"),
        a["metadata"]["entity"].alias("label"),
        F.coalesce(a["metadata"]["confidence"].cast("double"), F.lit(0.5)).alias("score")))
    return annotated.select(*frame.columns, F.concat(pattern, ner).alias(ANNOTATIONS_COL))


def annotations_by_document(documents: Sequence[str], annotations: Sequence[Any] | None) -> dict[str, list[Annotation]]:
    """One row's ANNOTATIONS_COL (Rows or dicts) per document text."""
    items = [(a["kind"], a["begin"], a["end"], a["label"], a["score"]) for a in annotations] \
        if annotations is not None else []
    return split_annotations(list(documents), items)


def dataframe_annotator(spark, model_dir: Path = DEFAULT_MODEL_DIR, documents_per_row: int = 64):
    """Documents -> annotations through one Spark job over all of them (evaluation, benchmarks: call it
    once with every document, it costs a job per call)."""
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    schema = StructType([StructField(DOCUMENTS_COL, ArrayType(StringType(), False), False)])

    def annotate(documents: Sequence[str]) -> list[list[Annotation]]:
        unique = list(dict.fromkeys(documents))
        if not unique:
            return [[] for _ in documents]
        rows = [(unique[k:k + documents_per_row],) for k in range(0, len(unique), documents_per_row)]
        found: dict[str, list[Annotation]] = {}
        for row in annotate_dataframe(spark, spark.createDataFrame(rows, schema), model_dir).collect():
            found |= annotations_by_document(row[DOCUMENTS_COL], row[ANNOTATIONS_COL])
        return [found[document] for document in documents]
    return annotate


def light_annotator(spark, model_dir: Path = DEFAULT_MODEL_DIR):
    """Documents -> annotations through a LightPipeline in this process (a few documents: tests, one
    text; its results cross py4j one annotation at a time, so bulk work takes `dataframe_annotator`)."""
    from sparknlp.base import LightPipeline

    light = LightPipeline(load_pipeline(spark, model_dir))

    def annotate(documents: Sequence[str]) -> list[list[Annotation]]:
        unique = list(dict.fromkeys(documents))
        if not unique:
            return [[] for _ in documents]
        result = light.fullAnnotate(joined_text(unique))[0]
        items = [("pattern", a.begin, a.end, a.metadata.get("identifier", ""), 1.0) for a in result.get(PATTERN_COL, [])]
        items += [("ner", a.begin, a.end, a.metadata.get("entity", ""), float(a.metadata.get("confidence") or 0.5))
                  for a in result.get(NER_COL, [])]
        found = split_annotations(unique, items)
        return [found[document] for document in documents]
    return annotate


def light_recognizer(spark, keyring: Keyring | None = None, settings: RecognizerSettings = RecognizerSettings(),
                     model_dir: Path = DEFAULT_MODEL_DIR) -> AnnotatedRecognizer:
    """The `sparknlp` engine as an in-process recognizer (same API as PhiRecognizer)."""
    return AnnotatedRecognizer(light_annotator(spark, model_dir), settings, keyring)
