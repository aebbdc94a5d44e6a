"""Train the `sparknlp` engine's NER model: one reproducible command, offline, on generated text.

    .venv/bin/python -m transforms.phi.train_ner [--out transforms/phi/models/ner] [--lines 14000]
                                                 [--seed 7] [--eval-seed 1007] [--epochs 12]

1. `ner_text.training_lines(seed)`: overlay lines drawn with the corpus generator's people, places
   and renderings (its eight Faker locales), each with the character spans of its PHI;
2. tokens by the runtime Tokenizer (`sparknlp_pipeline.tokenizer`), BIO tags for NAME, INSTITUTION and
   ADDRESS from the spans (`ner_data`), written as CoNLL to a scratch directory (identified text:
   deleted at the end);
3. PerceptronApproach (the constant POS NerCrf needs, see sparknlp_pipeline), Word2VecApproach
   (one partition, fixed seed) and NerCrfApproach (fixed seed; the project's vocabulary as dictionary
   features: label words, technique words, radiology words, titles) fitted on it, and saved;
4. the saved model loaded back through the runtime pipeline and scored (its own chunks, before our
   rules) on held-out lines: another seed of the same distribution, `ner_text.evaluation_lines` with
   Faker locales never used in training, and the same with hospital forms never used in training.
   Scores, sizes and timings go to `<out>/training.json` (counts only, no text).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from transforms.phi.ner_data import tag_line, write_conll
from transforms.phi.ner_text import NER_CATEGORIES, LabelledLine, evaluation_lines, training_lines
from transforms.phi.rules import TITLES
from transforms.phi.sparknlp_engine import utf16_to_index
from transforms.phi.sparknlp_pipeline import DEFAULT_MODEL_DIR
from transforms.phi.vocabulary import KEEP_WORDS, PHI_LABELS, TECHNIQUE_WORDS

SEED = 7
EVAL_SEED = 1007
EMBEDDING_DIM = 50
MIN_WORD_COUNT = 2            # words seen once (most names) get no vector: as unseen names at run time
MIN_FEATURE_WEIGHT = 0.01     # NerCrf drops features with smaller weights from the saved model


def vocabulary_features() -> str:
    """NerCrf dictionary features ("phrase:class" lines): the project's own vocabulary (vocabulary.py,
    written by hand from general radiology usage; no name or place)."""
    classes: dict[str, str] = {}
    for words, name in ((KEEP_WORDS, "keep"), (TECHNIQUE_WORDS, "technique"), (TITLES, "title")):
        classes.update({word: name for word in words})
    classes.update({" ".join(phrase): f"label_{category.lower()}" for phrase, category in PHI_LABELS.items()})
    return "\n".join(f"{phrase}:{name}" for phrase, name in sorted(classes.items()) if ":" not in phrase) + "\n"


def runtime_tokens(spark, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """(start, end exclusive) of the runtime tokenizer's tokens of each text, in Python characters."""
    from pyspark.ml import Pipeline
    from pyspark.sql import functions as F

    from transforms.phi.sparknlp_pipeline import document_assembler, sentence_detector, tokenizer

    frame = spark.createDataFrame([(k, text) for k, text in enumerate(texts)], "k int, text string")
    model = Pipeline(stages=[document_assembler("text"), sentence_detector(), tokenizer()]).fit(frame)
    rows = model.transform(frame).select("k", F.col("token.begin").alias("b"), F.col("token.end").alias("e")).collect()
    tokens: list[list[tuple[int, int]]] = [[] for _ in texts]
    for row in rows:
        text = texts[row["k"]]
        tokens[row["k"]] = [(utf16_to_index(text, b), utf16_to_index(text, e + 1)) for b, e in zip(row["b"], row["e"])]
    return tokens


def train(spark, lines: Sequence[LabelledLine], out: Path, scratch: Path, epochs: int, seed: int) -> dict:
    from pyspark.ml import Pipeline
    from sparknlp.annotator import NerCrfApproach, PerceptronApproach, Word2VecApproach
    from sparknlp.training import CoNLL

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    texts = [line.text for line in lines]
    tagged = [tag_line(line, tokens, NER_CATEGORIES) for line, tokens in zip(lines, runtime_tokens(spark, texts))]
    conll = write_conll(tagged, scratch / "train.conll")
    features = scratch / "vocabulary.txt"
    features.write_text(vocabulary_features(), encoding="utf-8")
    seconds["tokenize_and_tag"] = time.perf_counter() - started

    started = time.perf_counter()
    data = CoNLL().readDataset(spark, str(conll)).repartition(1).cache()
    pos = (PerceptronApproach().setInputCols(["sentence", "token"]).setOutputCol("pos_predicted")
           .setPosColumn("pos").setNIterations(1).fit(data))
    seconds["pos"] = time.perf_counter() - started

    started = time.perf_counter()
    word2vec = (Word2VecApproach().setInputCols(["token"]).setOutputCol("embeddings").setVectorSize(EMBEDDING_DIM)
                .setMinCount(MIN_WORD_COUNT).setSeed(seed).setNumPartitions(1).setMaxIter(1))
    crf = (NerCrfApproach().setInputCols(["sentence", "token", "pos", "embeddings"]).setOutputCol("ner")
           .setLabelColumn("label").setMinEpochs(1).setMaxEpochs(epochs).setRandomSeed(seed).setL2(1.0)
           .setLossEps(1e-3).setMinW(MIN_FEATURE_WEIGHT).setIncludeConfidence(True).setVerbose(0)
           .setExternalFeatures(str(features), ":"))
    fitted = Pipeline(stages=[word2vec, crf]).fit(data)
    seconds["word2vec_and_crf"] = time.perf_counter() - started
    data.unpersist()

    out.mkdir(parents=True, exist_ok=True)
    for name, stage in (("pos", pos), ("word2vec", fitted.stages[0]), ("ner_crf", fitted.stages[1])):
        stage.write().overwrite().save(str(out / name))
    for marker in [*out.rglob("*.crc"), *out.rglob("_SUCCESS")]:     # Hadoop's checksums and markers
        marker.unlink()
    return {"seconds": {k: round(v, 1) for k, v in seconds.items()},
            "sentences": len(tagged), "tokens": sum(len(t.words) for t in tagged),
            "phi_tokens": sum(tag != "O" for t in tagged for tag in t.tags)}


def score_lines(annotate, lines: Sequence[LabelledLine], min_cover: float = 0.9) -> dict:
    """Per category: PHI items the model's chunks cover (>= min_cover of their letters and digits), and
    the non-PHI items they leave alone (<= 10 %). The model's raw chunks, before our rules and merge."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kept = [0, 0]
    texts = [line.text for line in lines]
    for line, annotations in zip(lines, annotate(texts)):
        ner = [a for a in annotations if a.kind == "ner"]
        cursor = 0
        for run in line.runs:
            cover = _covered(line.text, cursor, cursor + len(run.text), ner)
            if run.is_phi and run.category in NER_CATEGORIES:
                found[run.category][0] += 1
                found[run.category][1] += int(cover >= min_cover)
            elif not run.is_phi:
                kept[0] += 1
                kept[1] += int(cover <= 0.1)
            cursor += len(run.text) + 1
    return {"found": {k: {"items": v[0], "found": v[1]} for k, v in sorted(found.items())},
            "non_phi": {"items": kept[0], "kept": kept[1]}}


def _covered(text: str, start: int, end: int, chunks) -> float:
    positions = [i for i in range(start, end) if text[i].isalnum()]
    if not positions:
        return 0.0
    return sum(any(c.start <= i < c.end for c in chunks) for i in positions) / len(positions)


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.phi.train_ner", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--lines", type=int, default=14000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    parser.add_argument("--eval-lines", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)

    from warehouse.spark_session import spark_nlp_available, spark_session_scope

    if not spark_nlp_available():
        print("cannot train: Spark NLP's jars are not installed (make jars)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    lines = training_lines(args.seed, args.lines)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="phi-ner-") as scratch, spark_session_scope() as spark:
        staging = Path(scratch) / "model"
        report = train(spark, lines, staging, Path(scratch), args.epochs, args.seed)
        report["seconds"]["generate"] = round(generated, 1)
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(staging, args.out)
        from transforms.phi.sparknlp_pipeline import dataframe_annotator

        annotate = dataframe_annotator(spark, args.out)          # the saved model, through the runtime pipeline
        report["heldout_same_distribution"] = score_lines(annotate, training_lines(args.eval_seed, args.eval_lines))
        report["heldout_unseen_locales"] = score_lines(annotate, evaluation_lines(args.eval_seed, args.eval_lines,
                                                                                  unseen_forms=False))
        report["heldout_unseen_locales_and_forms"] = score_lines(annotate, evaluation_lines(args.eval_seed,
                                                                                            args.eval_lines))
    report |= {"command": "python -m transforms.phi.train_ner " + " ".join(argv if argv is not None else sys.argv[1:]),
               "lines": args.lines, "seed": args.seed, "eval_seed": args.eval_seed, "epochs": args.epochs,
               "embedding_dim": EMBEDDING_DIM, "total_seconds": round(time.perf_counter() - started, 1),
               "bytes": {name: directory_bytes(args.out / name) for name in ("pos", "word2vec", "ner_crf")}}
    (args.out / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
