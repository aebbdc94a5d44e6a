"""PHI recognizer benchmark: the two engines side by side, on the same lines, in one run (no OCR).

    .venv/bin/python bench/ner.py [--corpus tests/data/corpus ...] [--repeats 3] [--noise 0.03]
                                  [--absent-lines 1000] [--engines python,sparknlp] [--textmatcher]

Over each corpus's burned-in truth texts grouped into detector-like lines (each frame of each file with
that file's header dictionary, as a frame task sees them), for the `python` and the `sparknlp` engine:
  * recall per category and non-PHI kept (an item is found when PHI boxes cover >= 90 % of it, kept
    when <= 10 %): with the header dictionary, without it, and with simulated OCR errors;
  * PHI the header does not hold, in a realistic corpus (truth `in_header: false`), per category;
  * and in `ner_text.evaluation_lines` (Faker locales the generator and the
    training never use, another seed; then also hospital forms never used), judged with no dictionary;
  * the per-frame cost of the recognition stage: Python's `find_phi_in_lines`; Spark NLP as the product
    runs it (one DataFrame transform over every document: RegexMatcher, NER, then our judgement), and
    through a LightPipeline per frame (in-process; for comparison). Runs alternate, medians reported.
  * --textmatcher: the per-file dictionary as a Spark NLP TextMatcher (fitted per file on the driver)
    against the project's matcher: time per file, and header items found in OCR-noisy text.
Prints counts and timings only (JSON, then a table); never a text.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEIDLAKE_MODE", "test")

from bench.common import median, report  # noqa: E402
from transforms.keyring import Keyring  # noqa: E402
from transforms.phi import PhiRecognizer  # noqa: E402
from transforms.phi.evaluation import Evaluation, EvaluationFrame, corpus_frames, evaluate_frames, line_frames  # noqa: E402
from transforms.phi.ner_text import NER_CATEGORIES, evaluation_lines  # noqa: E402
from transforms.synth.truth import load_truth_dir  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"
ABSENT_SEED = 90210


def summary(result: Evaluation) -> dict:
    phi, kept = result.overall(result.phi), result.overall(result.non_phi)
    out = {"phi_found": phi.hit, "phi": phi.total, "recall": round(phi.rate, 4),
           "non_phi_kept": kept.hit, "non_phi": kept.total, "kept": round(kept.rate, 4),
           "per_category": {c: [n.hit, n.total] for c, n in sorted(result.phi.items())}}
    if result.outside_header:
        outside = result.overall(result.outside_header)
        names = [result.outside_header[c] for c in ("NAME", "INSTITUTION") if c in result.outside_header]
        out["outside_header"] = {
            "found": outside.hit, "items": outside.total,
            "names_and_institutions": [sum(n.hit for n in names), sum(n.total for n in names)],
            "per_category": {c: [n.hit, n.total] for c, n in sorted(result.outside_header.items())}}
    return out


class Engines:
    """The engines under test; the Spark NLP one annotates every document of a frame set in one job."""

    def __init__(self, names: list[str], keyring: Keyring):
        self.names, self.keyring = names, keyring
        self.python = PhiRecognizer(keyring=keyring)
        self.spark = self.annotate = None
        if "sparknlp" in names:
            from transforms.phi.sparknlp_pipeline import dataframe_annotator
            from warehouse.spark_session import build_spark_session

            self.spark = build_spark_session()
            self.annotate = dataframe_annotator(self.spark)

    def recognizer(self, name: str, frames: list[EvaluationFrame]):
        if name == "python":
            return self.python
        from transforms.phi.sparknlp_engine import AnnotatedRecognizer, line_documents, prefetched

        documents = [doc for frame in frames for doc in line_documents(frame.lines)]
        return AnnotatedRecognizer(prefetched(self.annotate, documents), keyring=self.keyring)

    def evaluate(self, frames: list[EvaluationFrame]) -> dict:
        return {name: summary(evaluate_frames(self.recognizer(name, frames), frames)) for name in self.names}


def quality(engines: Engines, truths, noise: float) -> dict:
    return {"with_dictionary": engines.evaluate(corpus_frames(truths)),
            "without_dictionary": engines.evaluate(corpus_frames(truths, with_dictionary=False)),
            f"ocr_noise_{noise}": engines.evaluate(corpus_frames(truths, noise, seed=5))}


def speed(engines: Engines, frames: list[EvaluationFrame], repeats: int, light_frames: int) -> dict:
    """Per-frame cost of the recognition stage, the engines alternating."""
    from transforms.phi.sparknlp_engine import AnnotatedRecognizer, line_documents, precomputed

    seconds: dict[str, list[float]] = {name: [] for name in ("python", "sparknlp", "sparknlp_annotate")}
    documents = [doc for frame in frames for doc in line_documents(frame.lines)]
    for repeat in range(repeats + 1):                     # the first round warms both up, untimed
        started = time.perf_counter()
        for frame in frames:
            engines.python.find_phi_in_lines(list(frame.lines), frame.dictionary)
        python_seconds = time.perf_counter() - started
        if engines.annotate is not None:
            started = time.perf_counter()
            unique = list(dict.fromkeys(documents))
            by_document = dict(zip(unique, engines.annotate(unique)))
            annotated = time.perf_counter()
            engine = AnnotatedRecognizer(precomputed(by_document), keyring=engines.keyring)
            for frame in frames:
                engine.find_phi_in_lines(list(frame.lines), frame.dictionary)
            if repeat:
                seconds["sparknlp"].append(time.perf_counter() - started)
                seconds["sparknlp_annotate"].append(annotated - started)
        if repeat:
            seconds["python"].append(python_seconds)
    out = {"frames": len(frames), "documents": len(documents), "repeats": repeats}
    for name, values in seconds.items():
        if values:
            out[name] = {"ms_per_frame": round(1000 * median(values) / len(frames), 3),
                         "frames_per_s": round(len(frames) / median(values), 1)}
    if engines.spark is not None and light_frames:
        out["sparknlp_light_pipeline"] = _light_speed(engines, frames[:light_frames])
    return out


def _light_speed(engines: Engines, frames: list[EvaluationFrame]) -> dict:
    from transforms.phi.sparknlp_engine import AnnotatedRecognizer
    from transforms.phi.sparknlp_pipeline import light_annotator

    engine = AnnotatedRecognizer(light_annotator(engines.spark), keyring=engines.keyring)
    engine.find_phi_in_lines(list(frames[0].lines), frames[0].dictionary)        # warm-up
    started = time.perf_counter()
    for frame in frames:
        engine.find_phi_in_lines(list(frame.lines), frame.dictionary)
    elapsed = time.perf_counter() - started
    return {"frames": len(frames), "ms_per_frame": round(1000 * elapsed / len(frames), 3),
            "frames_per_s": round(len(frames) / elapsed, 1)}


def textmatcher_comparison(engines: Engines, truths, noise: float) -> dict:
    """The header dictionary as a TextMatcher fitted per file vs the project's matcher: dictionary
    matches only (source "dictionary"), on OCR-noisy lines; fitting time per file."""
    from transforms.phi.evaluation import file_frames, ocr_noise

    fit_seconds, ours_seconds = [], []
    ours_found = theirs_found = items = 0
    with tempfile.TemporaryDirectory(prefix="bench-textmatcher-") as scratch:
        for truth in truths:
            frames = file_frames(truth, ocr_noise(noise, 5) if noise > 0 else None)
            started = time.perf_counter()
            matcher = _fit_textmatcher(engines.spark, frames[0].dictionary, Path(scratch))
            fit_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            ours = evaluate_frames(engines.python, frames, sources=("dictionary",))
            ours_seconds.append(time.perf_counter() - started)
            theirs = evaluate_frames(_TextMatcherRecognizer(matcher, engines.keyring), frames, sources=("dictionary",))
            ours_found += ours.overall(ours.phi).hit
            theirs_found += theirs.overall(theirs.phi).hit
            items += ours.overall(ours.phi).total
    return {"files": len(truths), "noise": noise, "phi_items": items,
            "found_by_dictionary": {"project_matcher": ours_found, "textmatcher": theirs_found},
            "ms_per_file": {"textmatcher_fit": round(1000 * median(fit_seconds), 1),
                            "project_matcher_all_frames": round(1000 * median(ours_seconds), 1)}}


def _fit_textmatcher(spark, dictionary, scratch: Path):
    from pyspark.ml import Pipeline
    from sparknlp.annotator import TextMatcher
    from sparknlp.base import LightPipeline
    from sparknlp.common import ReadAs

    from transforms.phi.sparknlp_pipeline import document_assembler, sentence_detector, tokenizer

    phrases = scratch / "phrases.txt"
    phrases.write_text("\n".join(sorted({" ".join(e.parts) for e in dictionary.entries})) + "\n", encoding="utf-8")
    matcher = (TextMatcher().setInputCols(["sentence", "token"]).setOutputCol("dictionary_chunks")
               .setEntities(str(phrases), ReadAs.TEXT).setCaseSensitive(False).setMergeOverlapping(True))
    model = Pipeline(stages=[document_assembler("text"), sentence_detector(), tokenizer(), matcher]).fit(
        spark.createDataFrame([("",)], ["text"]))
    return LightPipeline(model)


class _TextMatcherRecognizer(PhiRecognizer):
    """The Python engine with its dictionary matches replaced by a TextMatcher's (bench only)."""

    def __init__(self, light, keyring):
        super().__init__(keyring=keyring)
        self.light = light

    def find_chunks(self, texts, dictionary, field_starts):
        from transforms.phi.merge import Chunk
        from transforms.phi.sparknlp_engine import utf16_to_index

        results = self.light.fullAnnotate(list(texts)) if texts else []
        return [[Chunk(utf16_to_index(text, a.begin), utf16_to_index(text, a.end + 1), "OTHER_PHI", "dictionary", 1.0)
                 for a in result.get("dictionary_chunks", [])] for text, result in zip(texts, results)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.03)
    parser.add_argument("--absent-lines", type=int, default=1000)
    parser.add_argument("--light-frames", type=int, default=40)
    parser.add_argument("--engines", default="python,sparknlp")
    parser.add_argument("--textmatcher", action="store_true")
    args = parser.parse_args(argv)
    corpora = {path.name: load_truth_dir(path) for path in args.corpus or [DEFAULT_CORPUS]}
    if not all(corpora.values()):
        print("a corpus has no truth files: generate it first (deidlake synth)", file=sys.stderr)
        return 2
    engines = Engines(args.engines.split(","), Keyring.from_env())

    figures: dict = {"engines": engines.names, "corpora": {}}
    for name, truths in corpora.items():
        figures["corpora"][name] = {"files": len(truths), **quality(engines, truths, args.noise)}
    figures["absent_from_header"] = {
        f"unseen_locales{'_and_forms' if unseen else ''}": engines.evaluate(
            line_frames(evaluation_lines(ABSENT_SEED, args.absent_lines, unseen_forms=unseen)))
        for unseen in (False, True)}
    all_frames = [frame for truths in corpora.values() for frame in corpus_frames(truths)]
    figures["speed"] = speed(engines, all_frames, args.repeats, args.light_frames)
    if args.textmatcher and engines.spark is not None:
        figures["textmatcher"] = [textmatcher_comparison(engines, next(iter(corpora.values())), noise)
                                  for noise in (0.0, args.noise)]

    rows = []
    for corpus, result in figures["corpora"].items():
        for setting, by_engine in result.items():
            if isinstance(by_engine, dict):
                for engine, s in by_engine.items():
                    rows.append((corpus, setting, engine, f"{s['phi_found']}/{s['phi']}",
                                 f"{s['non_phi_kept']}/{s['non_phi']}"))
                    if "outside_header" in s:
                        o = s["outside_header"]
                        per = " ".join(f"{c}:{h}/{t}" for c, (h, t) in o["per_category"].items())
                        rows.append((corpus, f"{setting}, absent from header: {per}", engine,
                                     f"{o['found']}/{o['items']}", ""))
    for setting, by_engine in figures["absent_from_header"].items():
        for engine, s in by_engine.items():
            per = " ".join(f"{c}:{s['per_category'].get(c, [0, 0])[0]}/{s['per_category'].get(c, [0, 0])[1]}"
                           for c in NER_CATEGORIES)
            rows.append((f"absent from header, {setting}", per, engine, f"{s['phi_found']}/{s['phi']}",
                         f"{s['non_phi_kept']}/{s['non_phi']}"))
    for engine in ("python", "sparknlp", "sparknlp_annotate", "sparknlp_light_pipeline"):
        if engine in figures["speed"]:
            s = figures["speed"][engine]
            rows.append(("speed", f"{s['ms_per_frame']} ms/frame", engine, f"{s['frames_per_s']} frames/s", ""))
    report("ner_engines", figures, rows, ("corpus", "setting", "engine", "PHI found", "non-PHI kept"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
