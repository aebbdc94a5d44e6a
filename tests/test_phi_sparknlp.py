"""The Spark NLP form of the recognizer.

Its patterns are the Python engine's, run by Java's regex engine (what RegexMatcher uses): that part
is checked on every machine with the JDK Spark needs. The pipeline itself runs only where Spark NLP's
jar is installed; elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.test_phi_dictionary import NAME_RENDERINGS
from tests.test_phi_patterns import AGES, CONTACT, DATE_FORMS, NON_PHI, SHAPES, TIMES
from tests.test_phi_support import RECOGNIZER, header_rows
from transforms.phi import PhiDictionary
from transforms.phi.ner_data import conll_text, is_held_out, tag_line
from transforms.phi.patterns import PATTERNS
from transforms.phi.sparknlp_pipeline import RULE_DELIMITER, dictionary_phrases, regex_rules
from transforms.synth.truth import TextTruth
from transforms.text_types import Box
from warehouse.spark_session import spark_nlp_available

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


def _utf16_to_index(text: str, offset: int) -> int:
    """Java counts UTF-16 code units; Python counts code points."""
    units = 0
    for index, ch in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


@pytest.mark.skipif(shutil.which("java") is None, reason="no JDK on this machine")
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
    java = sorted((int(t), int(p), _utf16_to_index(SAMPLES[int(t)], int(a)), _utf16_to_index(SAMPLES[int(t)], int(b)))
                  for t, p, a, b in (line.split() for line in run.stdout.splitlines()))
    python = _python_spans(SAMPLES)
    differing = sorted({PATTERNS[p].name for (_, p, _, _) in set(java) ^ set(python)})
    assert differing == [], "patterns that match differently in Java"


def test_rules_and_phrases_are_built_from_the_shared_definitions():
    rules = regex_rules()
    assert len(rules) == len(PATTERNS)
    assert all(rule.count(RULE_DELIMITER) == 1 and rule.endswith(spec.name) for rule, spec in zip(rules, PATTERNS))
    dictionary = PhiDictionary.from_header_elements(header_rows(PatientName=("PN", "Doe^John"),
                                                                PatientBirthDate=("DA", "19760616")))
    phrases = dictionary_phrases(dictionary)
    assert "doe john" in phrases and "06 16 1976" in phrases and len(phrases) == len(dictionary)


def test_ner_training_text_is_tagged_bio_from_the_truth():
    items = [TextTruth(0, Box(0, 0, 40, 10), "DOB:", "LABEL", False),
             TextTruth(0, Box(50, 0, 90, 10), "Sep 24, 1960", "DATE", True),
             TextTruth(0, Box(150, 0, 30, 10), "059Y", "AGE", True)]
    line = tag_line(items)
    assert line.tags == ("O", "B-DATE", "I-DATE", "I-DATE", "B-AGE")
    text = conll_text([line])
    assert text.splitlines()[0].startswith("-DOCSTART-") and text.count(" NN O ") == 5
    assert is_held_out("a.dcm") == is_held_out("a.dcm")


needs_jar = pytest.mark.skipif(not spark_nlp_available(),
                               reason="Spark NLP jar (com.johnsnowlabs.nlp:spark-nlp_2.13) not installed: "
                                      "refused by this machine's Maven mirror; the Python engine is the default")


@needs_jar
def test_spark_nlp_pipeline_agrees_with_the_python_engine(spark, tmp_path):
    from transforms.phi.sparknlp_pipeline import SparkNlpRecognizer, fit_base

    dictionary = PhiDictionary.from_header_elements(header_rows(
        PatientName=("PN", "Doe^John"), PatientID=("LO", "00012345"), PatientBirthDate=("DA", "19760616")))
    texts = ["Patient ID: 00012345", "DOE JOHN kVp 120", "DOB: 06/16/1976 Se 2", "Ref: Dr. Gray", "W:400 L:40"]
    engine = SparkNlpRecognizer(fit_base(spark))
    light = engine.light_pipeline(spark, dictionary, tmp_path)
    starts = [frozenset()] * len(texts)
    spark_chunks = engine.find_chunks(light, texts, dictionary, starts)
    python_chunks = RECOGNIZER.find_chunks(texts, dictionary, starts)
    as_ranges = [[(c.start, c.end) for c in chunks] for chunks in spark_chunks]
    assert as_ranges == [[(c.start, c.end) for c in chunks] for chunks in python_chunks]
    assert as_ranges[-1] == []


@needs_jar
def test_ner_trains_and_reports_precision_and_recall(spark, tmp_path):
    from pathlib import Path

    from transforms.phi.ner_data import write_conll_split
    from transforms.phi.sparknlp_pipeline import evaluate_ner, train_ner
    from transforms.synth.truth import load_truth_dir

    corpus = Path(__file__).parent / "data" / "corpus"
    train, held_out = write_conll_split(load_truth_dir(corpus), tmp_path / "conll")
    model = train_ner(spark, train, tmp_path / "model", max_epochs=2)
    scores = evaluate_ner(spark, model, held_out)
    print(f"\nNER held-out precision {scores['precision']:.3f} recall {scores['recall']:.3f}")
    assert scores["tokens"] > 0 and 0.0 <= scores["precision"] <= 1.0
    assert (tmp_path / "model" / "nerdl").exists()
