"""Labelled text for the NER model in the form Spark NLP trains on: CoNLL 2003 columns, one sentence
per overlay line, one token per token of the *runtime* tokenizer.

The lines come with character spans of their PHI (`ner_text.LabelledLine`, or the corpus's burned-in
truth via `truth_lines`); the tokens come from the same Spark NLP Tokenizer the engine runs, so the
model is trained on exactly the tokens it will see ("DOE," is "DOE" and ","; "ID:" is "ID" and ":").
A token takes the tag of the span that holds its middle character: B-<category> for the first token
of a span, I-<category> for the others, O elsewhere.

The output is identified data (it holds the generated PHI): written to a scratch directory by the
training command, never to a table or a log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transforms.phi.evaluation import truth_lines as frame_truth_lines
from transforms.phi.ner_text import LabelledLine
from transforms.synth.burn import Run
from transforms.synth.truth import FileTruth, TextTruth

DOCSTART = "-DOCSTART- -X- -X- O"
CONSTANT_POS = "NN"             # NerCrf needs a POS column; we have no POS-tagged text (see sparknlp_pipeline)
SENTENCES_PER_DOCUMENT = 64


@dataclass(frozen=True)
class TaggedLine:
    words: tuple[str, ...]
    tags: tuple[str, ...]


def bio_tags(tokens: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """Tags of tokens (start, end exclusive) given PHI spans (start, end exclusive, category)."""
    tags, previous_span = [], None
    for start, end in tokens:
        middle = (start + end - 1) / 2
        owner = next((k for k, (a, b, _) in enumerate(spans) if a <= middle < b), None)
        if owner is None:
            tags.append("O")
        else:
            tags.append(f"{'I' if owner == previous_span else 'B'}-{spans[owner][2]}")
        previous_span = owner
    return tags


def tag_line(line: LabelledLine, tokens: Sequence[tuple[int, int]], categories: Sequence[str]) -> TaggedLine:
    text = line.text
    return TaggedLine(tuple(text[a:b] for a, b in tokens), tuple(bio_tags(tokens, line.spans(categories))))


def truth_lines(truth: FileTruth) -> list[LabelledLine]:
    """The corpus's burned-in truth as detector-like lines (a repeated cine overlay counts once)."""
    by_frame: dict[tuple[int, str], list[TextTruth]] = {}
    for item in truth.burned_in_text:
        by_frame.setdefault((item.frame, item.plane), []).append(item)
    seen, lines = set(), []
    for items in by_frame.values():
        for _, group in frame_truth_lines(items):
            line = LabelledLine(tuple(Run(item.text, item.category, item.is_phi)
                                      for item in sorted(group, key=lambda t: t.box.left)))
            if line.runs and line not in seen:
                seen.add(line)
                lines.append(line)
    return lines


def conll_text(lines: Iterable[TaggedLine]) -> str:
    """CoNLL 2003 columns (word, POS, chunk, tag); a -DOCSTART- every SENTENCES_PER_DOCUMENT lines."""
    blocks: list[str] = []
    for index, line in enumerate(line for line in lines if line.words):
        if index % SENTENCES_PER_DOCUMENT == 0:
            blocks += [DOCSTART, ""]
        blocks += [f"{word} {CONSTANT_POS} O {tag}" for word, tag in zip(line.words, line.tags)] + [""]
    return "\n".join(blocks) + "\n"


def write_conll(lines: Iterable[TaggedLine], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conll_text(lines), encoding="utf-8")
    return path


def tag_set(lines: Iterable[TaggedLine]) -> set[str]:
    return {tag for line in lines for tag in line.tags}
