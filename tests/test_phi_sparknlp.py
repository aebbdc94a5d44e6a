"""The Spark NLP engine of the PHI recognizer.

Its patterns are the Python engine's, run by Java's regex engine (what RegexMatcher uses); its NER is
trained on generated text by `transforms.phi.train_ner`. The first tests need no Spark; the others run
the real pipeline (the checked-in model, Spark NLP's jars) in the shared Spark session: a missing jar
or model fails them, it does not skip them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_phi_dictionary import NAME_RENDERINGS
from tests.test_phi_patterns import AGES, CONTACT, DATE_FORMS, NON_PHI, SHAPES, TIMES
from tests.test_phi_support import KEYRING, RECOGNIZER, header_rows, line_of
from transforms.phi import PhiDictionary, RecognizerError
from transforms.phi.evaluation import corpus_frames, evaluate_frames, line_frames
from transforms.phi.ner_data import bio_tags, conll_text, tag_line
from transforms.phi.ner_text import EVALUATION_LOCALES, TRAINING_LOCALES, evaluation_lines, training_lines
from transforms.phi.patterns import PATTERNS
from transforms.phi.sparknlp_engine import (AnnotatedRecognizer, Annotation, field_documents, line_documents,
                                            precomputed, prefetched, utf16_to_index)
from transforms.phi.sparknlp_pipeline import RULE_DELIMITER, regex_rules
from transforms.synth.burn import Run
from transforms.synth.truth import load_truth_dir

CORPUS = Path(__file__).parent / "data" / "corpus"

JAVA_MATCHER = r"""
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;

public class PatternProbe {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        int count = Integer.parseInt(lines.get(0));
        List<Pattern> patterns = new ArrayList<>();
        for (int i = 1; i <= count; i++) patterns.add(Pattern.compile(lines.get(i)));
        StringBuilder out = new StringBuilder();
        for (int t = count + 1; t < lines.size(); t++) {
            for (int p = 0; p < count; p++) {
                Matcher m = patterns.get(p).matcher(lines.get(t));
                while (m.find()) out.append(t - count - 1).append(' ').append(p).append(' ')
                        .append(m.start()).append(' ').append(m.end()).append('\n');
            }
        }
        System.out.print(out);
    }
}
"""

SAMPLES = (list(DATE_FORMS.values()) + list(TIMES.values()) + list(AGES.values()) + list(CONTACT.values())
           + list(SHAPES.values()) + list(NAME_RENDERINGS.values()) + NON_PHI
           + ["DAVIDSON DOUGLAS [M] 01.09.2012", "KAUFMAN SCOTT [MJ 03.09.2012", "MRN-7028-3 A2020625924",
              "Klinikum д. Красноярск", "Λ. Φιλιππάτος", "Ünal, Öztürk", "1.2.826.0.1.3680043.8.498.1",
              "Francis, Todd and Boyer Medical Center", "PSC 7523, Box 0695 APO AA 03954"])


def _python_spans(texts):
    return sorted((t, p, m.start(), m.end()) for t, text in enumerate(texts)
                  for p, spec in enumerate(PATTERNS) for m in spec.compiled.finditer(text))


def test_java_regex_engine_finds_what_python_finds(tmp_path):
    """One source for both engines: every pattern, compiled as RegexMatcher would compile it, matches
    the same spans in Java as in Python."""
    source = tmp_path / "PatternProbe.java"
    source.write_text(JAVA_MATCHER, encoding="utf-8")
    data = tmp_path / "probe.txt"
    data.write_text("\n".join([str(len(PATTERNS))] + [spec.java_regex for spec in PATTERNS] + SAMPLES) + "\n",
                    encoding="utf-8")
    run = subprocess.run(["java", "-Dfile.encoding=UTF-8", str(source), str(data)], capture_output=True,
                         text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, "java probe failed (pattern syntax?)"
    java = sorted((int(t), int(p), utf16_to_index(SAMPLES[int(t)], int(a)), utf16_to_index(SAMPLES[int(t)], int(b)))
                  for t, p, a, b in (line.split() for line in run.stdout.splitlines()))
    python = _python_spans(SAMPLES)
    differing = sorted({PATTERNS[p].name for (_, p, _, _) in set(java) ^ set(python)})
    assert differing == [], "patterns that match differently in Java"


def test_rules_are_built_from_the_shared_patterns():
    rules = regex_rules()
    assert len(rules) == len(PATTERNS)
    assert all(rule.count(RULE_DELIMITER) == 1 and rule.endswith(spec.name) for rule, spec in zip(rules, PATTERNS))


def test_training_tags_follow_the_runtime_tokens():
    """BIO tags by the spans' characters, over whatever tokens the tokenizer made ("DOE," -> "DOE" ",")."""
    runs = (Run("Ref:", "LABEL", False), Run("DOE, JOHN", "NAME", True), Run("kVp 120", "TECHNIQUE", False))
    from transforms.phi.ner_text import LabelledLine
    line = LabelledLine(runs)                           # "Ref: DOE, JOHN kVp 120"
    tokens = [(0, 3), (3, 4), (5, 8), (8, 9), (10, 14), (15, 18), (19, 22)]
    tagged = tag_line(line, tokens, ("NAME",))
    assert tagged.words == ("Ref", ":", "DOE", ",", "JOHN", "kVp", "120")
    assert tagged.tags == ("O", "O", "B-NAME", "I-NAME", "I-NAME", "O", "O")
    assert bio_tags([(0, 2), (3, 5)], [(0, 2, "NAME"), (3, 5, "NAME")]) == ["B-NAME", "B-NAME"]
    text = conll_text([tagged])
    assert text.splitlines()[0].startswith("-DOCSTART-") and text.count(" NN O ") == 7


def test_evaluation_text_comes_from_other_locales_and_seeds():
    assert not set(TRAINING_LOCALES) & set(EVALUATION_LOCALES)
    train = training_lines(7, 300)
    held_out = evaluation_lines(1007, 200)
    assert len(train) == 300 and len(held_out) == 200
    train_names = {line.text[a:b] for line in train for a, b, c in line.spans() if c == "NAME"}
    held_names = {line.text[a:b] for line in held_out for a, b, c in line.spans() if c == "NAME"}
    assert len(held_names) > 60 and len(train_names & held_names) <= 0.02 * len(held_names)
    assert {c for line in held_out for _, _, c in line.spans()} == {"NAME", "INSTITUTION", "ADDRESS"}
    assert [line.text for line in training_lines(7, 300)] == [line.text for line in train]     # reproducible


def test_documents_are_the_fields_of_a_line():
    line = line_of("DOE JOHN            kVp 120")        # a field gap: two overlay items
    documents = line_documents([line])
    assert len(documents) == 2 and documents[1] == "kVp 120"
    assert field_documents("a\\b", frozenset({2})) == [(0, "a\\"), (2, "b")]


def test_annotations_become_the_python_engines_chunks_plus_the_ner():
    """Hand-made annotations (no Spark): a pattern match with its value group, a NER name, and the
    NER's vocabulary guard; the rest is the Python engine's own resolution."""
    text = "Ref: Dr. Gray | Bartholomew Kowalczyk | Portable"
    annotations = {text: [Annotation("pattern", 5, 13, "name_after_title", 1.0),
                          Annotation("ner", 16, 37, "NAME", 0.9),
                          Annotation("ner", 40, 48, "NAME", 0.6)]}     # "Portable": radiology vocabulary
    engine = AnnotatedRecognizer(precomputed(annotations), keyring=KEYRING)
    chunks = engine.find_phi_in_text(text, None)
    ranges = [(c.start, c.end, c.source) for c in chunks]
    python = [(c.start, c.end) for c in RECOGNIZER.find_phi_in_text(text, None)]
    assert (9, 13) in [(a, b) for a, b, _ in ranges] and (9, 13) in python      # the title is kept
    assert (16, 37, "ner") in ranges and not any(a <= 16 < b for a, b in python)
    assert not any(a < 48 and 40 < b for a, b, _ in ranges)


def test_a_marker_letter_at_the_edge_of_a_ner_chunk_is_kept():
    text = "DOE, JOHN D. A"
    engine = AnnotatedRecognizer(precomputed({text: [Annotation("ner", 0, 14, "NAME", 0.8)]}), keyring=KEYRING)
    chunks = engine.find_phi_in_text(text, None)
    assert chunks and all(c.end <= 12 for c in chunks) and any(c.start == 0 and c.end >= 11 for c in chunks)


def test_a_document_without_annotations_fails_the_file():
    engine = AnnotatedRecognizer(precomputed({}), keyring=KEYRING)
    with pytest.raises(RecognizerError) as caught:
        engine.find_phi_in_lines([line_of("DOE JOHN")], None)
    assert caught.value.reason == "recognizer_failed"


# --- the real pipeline (Spark NLP's jars, the checked-in model) --------------------------------------

@pytest.fixture(scope="module")
def dataframe_annotate(spark):
    from transforms.phi.sparknlp_pipeline import dataframe_annotator

    return dataframe_annotator(spark)


@pytest.mark.spark
def test_spark_nlp_engine_finds_what_the_python_engine_finds_and_bare_names(spark, dataframe_annotate):
    dictionary = PhiDictionary.from_header_elements(header_rows(
        PatientName=("PN", "Doe^John"), PatientID=("LO", "00012345"), PatientBirthDate=("DA", "19760616")))
    texts = ["Patient ID: 00012345", "DOE JOHN kVp 120", "DOB: 06/16/1976 Se 2", "Ref: Dr. Gray", "W:400 L:40",
             "Margaret Oyelaran-Whitfield", "Acc# RAD-20-00045 Tel: (555) 555-0199"]
    engine = AnnotatedRecognizer(prefetched(dataframe_annotate, texts), keyring=KEYRING)
    starts = [frozenset()] * len(texts)
    spark_chunks = engine.find_chunks(texts, dictionary, starts)
    python_chunks = RECOGNIZER.find_chunks(texts, dictionary, starts)
    for ours, theirs in zip(spark_chunks, python_chunks):
        assert all(any(o.start <= t.start and t.end <= o.end for o in ours) for t in theirs)
    assert spark_chunks[4] == []                                          # technique kept
    assert python_chunks[5] == [] and [(c.start, c.end, c.source) for c in spark_chunks[5]] == [(0, 27, "ner")]


@pytest.mark.spark
def test_light_pipeline_and_dataframe_give_the_same_annotations(spark, dataframe_annotate):
    from transforms.phi.sparknlp_pipeline import light_annotator

    documents = ["Ref: Dr. Amelia Przybylska", "St. Mary Hospital Springfield", "DOB: 01.02.1970 [F]", "日本 病院"]
    assert light_annotator(spark)(documents) == dataframe_annotate(documents)


@pytest.mark.spark
def test_corpus_recall_is_the_python_engines_or_better(spark, dataframe_annotate):
    truths = load_truth_dir(CORPUS)[:6]
    frames = corpus_frames(truths)
    documents = [doc for frame in frames for doc in line_documents(frame.lines)]
    engine = AnnotatedRecognizer(prefetched(dataframe_annotate, documents), keyring=KEYRING)
    ours, theirs = evaluate_frames(engine, frames), evaluate_frames(RECOGNIZER, frames)
    assert ours.overall(ours.phi).hit >= theirs.overall(theirs.phi).hit == theirs.overall(theirs.phi).total
    assert ours.overall(ours.non_phi).rate >= 0.95


@pytest.mark.spark
def test_ner_finds_names_and_institutions_the_header_does_not_hold(spark, dataframe_annotate):
    """Held-out text: Faker locales and hospital forms never used in training, another seed."""
    frames = line_frames(evaluation_lines(4242, 600))
    documents = [doc for frame in frames for doc in line_documents(frame.lines)]
    engine = AnnotatedRecognizer(prefetched(dataframe_annotate, documents), keyring=KEYRING)
    ours, theirs = evaluate_frames(engine, frames), evaluate_frames(RECOGNIZER, frames)
    name, institution = ours.phi["NAME"], ours.phi["INSTITUTION"]
    assert name.rate >= 0.95 and name.rate > theirs.phi["NAME"].rate
    assert institution.rate >= 0.8 and institution.rate > theirs.phi["INSTITUTION"].rate
    assert (name.hit + institution.hit) / (name.total + institution.total) >= 0.9
    kept, kept_before = ours.overall(ours.non_phi), theirs.overall(theirs.non_phi)
    assert kept.hit >= kept_before.hit - 0.01 * kept.total                    # the NER costs no kept text


@pytest.mark.spark
def test_ner_trains_from_generated_text_with_one_command(spark, tmp_path):
    from transforms.phi.ner_text import training_lines
    from transforms.phi.sparknlp_pipeline import dataframe_annotator
    from transforms.phi.train_ner import score_lines, train

    report = train(spark, training_lines(11, 1500), tmp_path / "model", tmp_path, epochs=3, seed=11)
    assert report["sentences"] == 1500 and report["phi_tokens"] > 0
    scores = score_lines(dataframe_annotator(spark, tmp_path / "model"), training_lines(12, 200))
    assert scores["found"]["NAME"]["found"] > 0 and scores["non_phi"]["kept"] > 0


# --- in the product: the frame path and `deidlake run` ------------------------------------------------

def _frame_task(spark, path: Path, drop_vr: str | None = None):
    """A frame-task DataFrame of one file whose header rows lose every `drop_vr` element."""
    from pyspark.sql.types import (ArrayType, DoubleType, IntegerType, StringType, StructField, StructType)

    from transforms.dicom_io import read_header
    from transforms.metadata import flatten_elements

    rows, _ = flatten_elements(read_header(path))
    elements = [{k: str(r[k]) if r[k] is not None else None for k in ("element_path", "keyword", "vr", "value")}
                for r in (dict(row) if not isinstance(row, dict) else row for row in rows)
                if r.get("vr") != drop_vr and isinstance(r.get("value"), str) and r.get("value")]
    element = StructType([StructField(k, StringType()) for k in ("element_path", "keyword", "vr", "value")])
    schema = StructType([StructField("sha256", StringType()), StructField("batch_id", StringType()),
                         StructField("raw_path", StringType()), StructField("first_frame", IntegerType()),
                         StructField("stop_frame", IntegerType()), StructField("estimated_cost", DoubleType()),
                         StructField("phi_elements", ArrayType(element))])
    return spark.createDataFrame([(path.stem, "b1", str(path), 0, 1, 1.0, elements)], schema)


@pytest.mark.spark
def test_frame_task_with_spark_nlp_boxes_a_name_the_header_does_not_hold(spark, tmp_path):
    """Read -> Spark NLP on the executor -> judge and fill, on a CT whose header lost its names (every
    PN element): the burned-in bare name is found by the NER, not by the Python engine."""
    from transforms.spark.pixels import PixelSettings, run_frame_tasks

    truth = next(t for t in load_truth_dir(CORPUS) if t.name == "000_CT_explicit_le.dcm")
    name_box = next(item.box for item in truth.burned_in_text if item.category == "NAME")
    tasks = _frame_task(spark, CORPUS / "000_CT_explicit_le.dcm", drop_vr="PN")
    records = {}
    for engine in ("python", "sparknlp"):
        settings = PixelSettings(f"test-{engine}", "phi", str(tmp_path / engine), phi_engine=engine)
        (result,) = run_frame_tasks(tasks, settings).collect()
        assert result["error"] is None, engine
        records[engine] = [b for b in result["boxes"] if _overlap(b, name_box) > 0.5]
    assert records["python"] and not any(b["is_phi"] for b in records["python"])
    assert any(b["is_phi"] and b["category"] == "NAME" and b["source"] == "ner" and b["redacted"]
               for b in records["sparknlp"])


@pytest.mark.spark
def test_frame_task_with_spark_nlp_judges_turned_text_too(spark, tmp_path):
    """Text read turned (vertical, upside down, skewed) is judged in its upright view: the read step
    annotates those lines' documents as well, so the judge is never asked about a document Spark NLP
    did not see (every file of the rotated style was quarantined with recognizer_failed when only the
    upright lines were annotated). Each PHI box the Python engine redacts, the Spark NLP engine redacts."""
    from transforms.spark.pixels import PixelSettings, run_frame_tasks
    from transforms.synth.realistic import generate_realistic_corpus

    (path,) = generate_realistic_corpus(tmp_path, 1, seed=7, style="rotated", max_side=512)
    turned = [item.box for item in load_truth_dir(tmp_path)[0].burned_in_text
              if item.is_phi and item.orientation != "0"]
    tasks = _frame_task(spark, path)
    redacted = {}
    for engine in ("python", "sparknlp"):
        settings = PixelSettings(f"test-{engine}", "phi", str(tmp_path / engine), phi_engine=engine)
        (result,) = run_frame_tasks(tasks, settings).collect()
        assert result["error"] is None, engine
        redacted[engine] = {(b["left"], b["top"], b["width"], b["height"]) for b in result["boxes"]
                            if b["is_phi"] and b["redacted"]}
    assert redacted["python"] <= redacted["sparknlp"]
    assert turned and any(_overlap(dict(zip(("left", "top", "width", "height"), box)), phi) > 0.3
                          for box in redacted["sparknlp"] for phi in turned)


def _overlap(record, box) -> float:
    left, right = max(record["left"], box.left), min(record["left"] + record["width"], box.right)
    top, bottom = max(record["top"], box.top), min(record["top"] + record["height"], box.bottom)
    return max(right - left, 0) * max(bottom - top, 0) / max(box.width * box.height, 1)


@pytest.mark.spark
@pytest.mark.slow
def test_deidlake_run_with_the_spark_nlp_engine(spark, tmp_path, monkeypatch, capsys):
    import json

    from orchestration.cli import main
    from transforms.scoring import score_directories

    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")
    landing, subset = tmp_path / "landing", tmp_path / "truth"
    for folder in (landing, subset):
        folder.mkdir()
    for name in ("001_CT_implicit_le", "010_XA_rle"):
        shutil.copy(CORPUS / f"{name}.dcm", landing / f"{name}.dcm")
        shutil.copy(CORPUS / f"{name}.dcm", subset / f"{name}.dcm")
        shutil.copy(CORPUS / f"{name}.truth.json", subset / f"{name}.truth.json")
    code = main(["run", "--input", str(landing), "--output", str(tmp_path / "out"), "--json", "--phi-engine",
                 "sparknlp", "--warehouse", str(tmp_path / "wh")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["success"] and summary["exported"] == 2
    assert summary["run_key"].endswith("-sparknlp") and summary["phi_boxes"] > 0
    totals = score_directories(subset, tmp_path / "out", run_ocr=False, run_dciodvfy=False).totals
    assert totals["files"]["matched"] == 2 and totals["header"]["leaked"] == 0
    assert totals["pixels"]["phi_removed"] == totals["pixels"]["phi_boxes"] > 0
