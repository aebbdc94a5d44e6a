"""Labelled text for the NER model, from the corpus generator's ground truth.

Each detector-like line of burned-in truth text becomes a CoNLL sentence: one token per word, tag
B-/I-<category> for the words of a PHI item, O for the rest (labels, technique, markers). Files are
split into training and held-out sets by a hash of their name, so the split is the same on every run
and no file contributes to both. The output is identified data (it holds the generated PHI): it is
written next to the corpus, never into a table or a log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from transforms.phi.evaluation import truth_lines
from transforms.synth.truth import FileTruth, TextTruth

DOCSTART = "-DOCSTART- -X- -X- O"


@dataclass(frozen=True)
class TaggedLine:
    words: tuple[str, ...]
    tags: tuple[str, ...]


def tag_line(items: Sequence[TextTruth]) -> TaggedLine:
    """The words of the items of one line (left to right) and their BIO tags."""
    words, tags = [], []
    for item in sorted(items, key=lambda t: t.box.left):
        for k, word in enumerate(item.text.split()):
            words.append(word)
            tags.append("O" if not item.is_phi else f"{'B' if k == 0 else 'I'}-{item.category}")
    return TaggedLine(tuple(words), tuple(tags))


def tagged_lines(truth: FileTruth) -> list[TaggedLine]:
    """Every line of every frame of one file (a repeated cine overlay counts once)."""
    by_frame: dict[tuple[int, str], list[TextTruth]] = {}
    for item in truth.burned_in_text:
        by_frame.setdefault((item.frame, item.plane), []).append(item)
    seen, lines = set(), []
    for items in by_frame.values():
        for _, group in truth_lines(items):
            line = tag_line(group)
            if line.words and line not in seen:
                seen.add(line)
                lines.append(line)
    return lines


def is_held_out(file_name: str, held_out_percent: int = 20) -> bool:
    return int(hashlib.sha256(file_name.encode()).hexdigest()[:8], 16) % 100 < held_out_percent


def conll_text(lines: Iterable[TaggedLine]) -> str:
    """CoNLL 2003 columns (word, POS, chunk, tag); POS and chunk are placeholders NerDL ignores."""
    blocks = [DOCSTART, ""]
    for line in lines:
        blocks += [f"{word} NN O {tag}" for word, tag in zip(line.words, line.tags)] + [""]
    return "\n".join(blocks) + "\n"


def write_conll_split(truths: Iterable[FileTruth], out_dir: Path, held_out_percent: int = 20) -> tuple[Path, Path]:
    """train.conll and heldout.conll under out_dir; returns their paths."""
    train, held_out = [], []
    for truth in truths:
        (held_out if is_held_out(truth.name, held_out_percent) else train).extend(tagged_lines(truth))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "train.conll", out_dir / "heldout.conll"
    for path, lines in zip(paths, (train, held_out)):
        path.write_text(conll_text(lines), encoding="utf-8")
    return paths


def tag_set(lines: Iterable[TaggedLine]) -> set[str]:
    return {tag for line in lines for tag in line.tags}
