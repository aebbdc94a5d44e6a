"""The Spark NLP form of the recognizer, for machines where Spark NLP's jar is installed.

    DocumentAssembler ─┬─ RegexMatcher                  (patterns.PATTERNS, the same expressions)
                       ├─ RegexTokenizer ─ Normalizer ─ TextMatcher  (the file's PhiDictionary phrases)
                       └─ Tokenizer ─ Word2Vec ─ NerDL ─ NerConverter (trained on our generated text)
    ─► chunks ─► recognizer.resolve_chunks (our merge step, labels kept) ─► position finder

Two tokenizers: the dictionary's phrases are written as our tokens (runs of letters/digits), so the
TextMatcher reads the output of a RegexTokenizer that splits on everything else, lower-cased by the
Normalizer; the NER reads whitespace words, as in its CoNLL training text.

It shares every definition with the default pure-Python engine: the regular expressions come from
`patterns.py` (with `(?U)` for Java's Unicode classes), the dictionary phrases from
`PhiDictionary.entries`, and chunks end in the same `resolve_chunks` and `chunk_box`. Spark NLP's
ChunkMerge is licensed only, so the merge is ours in both engines.

Nothing here is imported unless `warehouse.spark_session.spark_nlp_available()` is true (the jar
`com.johnsnowlabs.nlp:spark-nlp_2.13` was refused by this machine's Maven mirror when this was written:
see docs/phi-recognition.md). The TextMatcher matches exact normalised tokens; the OCR-tolerant
matching stays the rapidfuzz matcher of the default engine.

Training the NER model (one command, reproducible: fixed seeds and a hash-based file split):

    .venv/bin/python -m transforms.phi.sparknlp_pipeline train --out warehouse/models/phi-ner \\
        [--corpus tests/data/corpus | --n 400 --seed 7]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from transforms.phi.dictionary import PhiDictionary
from transforms.phi.errors import RecognizerError
from transforms.phi.merge import Chunk
from transforms.phi.normalize import CJK_RANGES, plain_key, tokenize
from transforms.phi.patterns import PATTERNS, pattern_by_name
from transforms.phi.recognizer import RecognizerSettings, resolve_chunks

RULE_DELIMITER = "~>"
TOKEN_SEPARATORS = "[^\\p{L}\\p{N}\\p{M}]+"     # our tokens: runs of letters, digits and marks
NORMALIZER_CLEANUP = ["[^\\p{L}\\p{N}]"]        # what plain_key keeps: letters and digits
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
EMBEDDING_DIM = 100
SEED = 7


class SparkNlpUnavailable(RuntimeError):
    """Spark NLP's jar is not installed: use the default (pure-Python) engine."""


def require_spark_nlp() -> None:
    from warehouse.spark_session import spark_nlp_available

    if not spark_nlp_available():
        raise SparkNlpUnavailable("spark_nlp_jar_missing")


def regex_rules() -> list[str]:
    """RegexMatcher rules, "regex~>identifier": the identifier is the pattern's name."""
    return [f"{spec.java_regex}{RULE_DELIMITER}{spec.name}" for spec in PATTERNS]


def dictionary_phrases(dictionary: PhiDictionary) -> list[str]:
    """TextMatcher phrases: each entry's tokens as the RegexTokenizer and Normalizer will emit them
    (CJK characters, one token each in our engine, are one run there)."""
    return sorted({_phrase(entry.parts) for entry in dictionary.entries})


def _phrase(parts: tuple[str, ...]) -> str:
    words: list[str] = []
    for part in parts:
        if words and _is_cjk(part) and _is_cjk(words[-1][-1]):
            words[-1] += part
        else:
            words.append(part)
    return " ".join(words)


def _is_cjk(text: str) -> bool:
    return len(text) == 1 and bool(CJK_CHAR.fullmatch(text))


def base_pipeline(ner_model_dir: str | None = None):
    """The run-wide stages (fitted once per run): text to tokens, patterns, and the NER if trained."""
    require_spark_nlp()
    from pyspark.ml import Pipeline
    from sparknlp.annotator import Normalizer, RegexMatcher, RegexTokenizer, Tokenizer
    from sparknlp.base import DocumentAssembler

    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        Tokenizer().setInputCols(["document"]).setOutputCol("token"),
        RegexTokenizer().setInputCols(["document"]).setOutputCol("alnum_token").setPattern(TOKEN_SEPARATORS),
        Normalizer().setInputCols(["alnum_token"]).setOutputCol("normalized").setLowercase(True)
        .setCleanupPatterns(NORMALIZER_CLEANUP),
        RegexMatcher().setInputCols(["document"]).setOutputCol("pattern_chunks").setRules(regex_rules())
        .setDelimiter(RULE_DELIMITER).setStrategy("MATCH_ALL"),
    ]
    if ner_model_dir:
        stages += _ner_stages(ner_model_dir)
    return Pipeline(stages=stages)


def _ner_stages(model_dir: str) -> list[Any]:
    from sparknlp.annotator import NerConverter, NerDLModel, Word2VecModel

    return [Word2VecModel.load(f"{model_dir}/word2vec").setInputCols(["token"]).setOutputCol("embeddings"),
            NerDLModel.load(f"{model_dir}/nerdl").setInputCols(["document", "token", "embeddings"])
            .setOutputCol("ner"),
            NerConverter().setInputCols(["document", "token", "ner"]).setOutputCol("ner_chunks")]


def fit_base(spark, ner_model_dir: str | None = None):
    """Fit the run-wide stages once (RegexMatcher only compiles its rules; nothing learns here)."""
    return base_pipeline(ner_model_dir).fit(spark.createDataFrame([[""]], ["text"]))


def fit_file_matcher(spark, dictionary: PhiDictionary, workdir: Path):
    """A TextMatcher for one file's dictionary (fitting reads the phrase file; cheap)."""
    require_spark_nlp()
    from sparknlp.annotator import TextMatcher
    from sparknlp.common import ReadAs

    phrases = workdir / "phi-phrases.txt"          # identified: in the task's temporary directory only
    phrases.write_text("\n".join(dictionary_phrases(dictionary)) + "\n", encoding="utf-8")
    matcher = (TextMatcher().setInputCols(["document", "normalized"]).setOutputCol("dictionary_chunks")
               .setEntities(str(phrases), ReadAs.TEXT).setCaseSensitive(False).setMergeOverlapping(False))
    return matcher.fit(spark.createDataFrame([[""]], ["text"]))


@dataclass
class SparkNlpRecognizer:
    """Per file: `LightPipeline` over the run's fitted stages plus the file's TextMatcher."""

    base_model: Any
    settings: RecognizerSettings = RecognizerSettings()

    def light_pipeline(self, spark, dictionary: PhiDictionary, workdir: Path):
        from pyspark.ml import PipelineModel
        from sparknlp.base import LightPipeline

        stages = [self.base_model]
        if not dictionary.is_empty:
            stages.append(fit_file_matcher(spark, dictionary, workdir))
        return LightPipeline(PipelineModel(stages=stages))

    def find_chunks(self, light, texts: Sequence[str], dictionary: PhiDictionary,
                    field_starts: Sequence[frozenset[int]]) -> list[list[Chunk]]:
        try:
            annotated = light.fullAnnotate(list(texts)) if texts else []
            return [resolve_chunks(text, tokenize(text), starts, chunks_of(result, text, dictionary), self.settings)
                    for text, starts, result in zip(texts, field_starts, annotated)]
        except Exception as exc:  # noqa: BLE001 - a failing frame is quarantined, never published
            raise RecognizerError("recognizer_failed", type(exc).__name__) from None


def chunks_of(result: dict[str, list[Any]], text: str, dictionary: PhiDictionary) -> list[Chunk]:
    """Spark NLP annotations (end offsets inclusive) to our chunks."""
    chunks = []
    for annotation in result.get("pattern_chunks", []):
        chunk = _pattern_chunk(annotation, text)
        if chunk is not None:
            chunks.append(chunk)
    for annotation in result.get("dictionary_chunks", []):
        entry = dictionary.exact.get(plain_key(annotation.result))
        category = dictionary.entries[entry].category if entry is not None else "OTHER_PHI"
        chunks.append(Chunk(annotation.begin, annotation.end + 1, category, "dictionary", 1.0))
    for annotation in result.get("ner_chunks", []):
        chunks.append(Chunk(annotation.begin, annotation.end + 1, annotation.metadata.get("entity", "OTHER_PHI"),
                            "ner", float(annotation.metadata.get("confidence", 0.5))))
    return chunks


def _pattern_chunk(annotation, text: str) -> Chunk | None:
    """RegexMatcher returns the whole match; the pattern's value group (e.g. the name after "Dr.") is
    found again with the same expression in Python."""
    spec = pattern_by_name(annotation.metadata.get("identifier", ""))
    begin, end = annotation.begin, annotation.end + 1
    if spec.value_group:
        match = spec.compiled.fullmatch(text, begin, end)
        if match is None or match.start(spec.value_group) < 0:
            return None
        begin, end = match.span(spec.value_group)
    return Chunk(begin, end, spec.category, "pattern", spec.score)


# --- training ---------------------------------------------------------------------------------------

def train_ner(spark, train_conll: Path, model_dir: Path, max_epochs: int = 20):
    """Word2Vec embeddings and a NerDL tagger trained on our labelled text only (no pretrained model)."""
    require_spark_nlp()
    from pyspark.ml import Pipeline
    from sparknlp.annotator import NerDLApproach, Word2VecApproach
    from sparknlp.training import CoNLL

    data = CoNLL().readDataset(spark, str(train_conll))
    word2vec = (Word2VecApproach().setInputCols(["token"]).setOutputCol("embeddings")
                .setVectorSize(EMBEDDING_DIM).setMinCount(1).setSeed(SEED))
    tagger = (NerDLApproach().setInputCols(["sentence", "token", "embeddings"]).setOutputCol("ner")
              .setLabelColumn("label").setMaxEpochs(max_epochs).setRandomSeed(SEED).setBatchSize(16)
              .setLr(0.003).setVerbose(0))
    model = Pipeline(stages=[word2vec, tagger]).fit(data)
    model.stages[0].write().overwrite().save(str(model_dir / "word2vec"))
    model.stages[1].write().overwrite().save(str(model_dir / "nerdl"))
    return model


def evaluate_ner(spark, model, heldout_conll: Path) -> dict[str, float]:
    """Token-level precision and recall of PHI tags (any non-O tag) on held-out generated text."""
    from sparknlp.training import CoNLL

    data = CoNLL().readDataset(spark, str(heldout_conll))
    predicted = model.transform(data).select("label.result", "ner.result").collect()
    true_positive = predicted_phi = actual_phi = 0
    for gold, guess in predicted:
        for gold_tag, guess_tag in zip(gold, guess):
            actual_phi += gold_tag != "O"
            predicted_phi += guess_tag != "O"
            true_positive += gold_tag != "O" and guess_tag != "O"
    return {"precision": true_positive / predicted_phi if predicted_phi else 0.0,
            "recall": true_positive / actual_phi if actual_phi else 0.0, "tokens": float(actual_phi)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.phi.sparknlp_pipeline")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train Word2Vec + NerDL on generated labelled text")
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--corpus", type=Path, help="an existing corpus with truth files")
    train.add_argument("--n", type=int, default=400, help="files to generate when no --corpus is given")
    train.add_argument("--seed", type=int, default=SEED)
    train.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        require_spark_nlp()
    except SparkNlpUnavailable as exc:
        print(f"cannot train: {exc} (fetch the spark-nlp jar group first)", file=sys.stderr)
        return 2
    return _train_command(args)


def _train_command(args) -> int:
    from transforms.phi.ner_data import write_conll_split
    from transforms.synth.generator import generate_corpus
    from transforms.synth.truth import load_truth_dir
    from warehouse.spark_session import spark_session_scope

    with tempfile.TemporaryDirectory() as scratch, spark_session_scope() as spark:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(scratch) / "corpus"
            generate_corpus(corpus, args.n, args.seed)
        train_path, heldout_path = write_conll_split(load_truth_dir(corpus), Path(scratch) / "conll")
        args.out.mkdir(parents=True, exist_ok=True)
        model = train_ner(spark, train_path, args.out, args.epochs)
        scores = evaluate_ner(spark, model, heldout_path)
    print(f"held-out PHI tokens: {int(scores['tokens'])}  precision: {scores['precision']:.3f}  "
          f"recall: {scores['recall']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
