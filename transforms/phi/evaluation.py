"""Recall and over-redaction of the recognizer on a corpus's *truth texts* (no OCR in the loop).

Each truth item (one run: a label, a value, a marker) is cut into words with boxes in proportion to
its characters; items on one text row close to each other form one line, as the text detector would
return them. The recognizer sees the lines and the file's header dictionary. A PHI item counts as
found when the PHI boxes cover at least `min_cover` of its box; a non-PHI item as kept when they cover
at most `max_cover`. Counts only: nothing here returns or prints a truth text.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from transforms.dicom_io import read_header
from transforms.phi.dictionary import PhiDictionary
from transforms.phi.recognizer import PhiRecognizer
from transforms.synth.truth import FileTruth, TextTruth
from transforms.text_types import Box, OcrWord, TextLine

LINE_GAP_HEIGHTS = 3.0      # items further apart than this × their height are separate detector lines


@dataclass
class CategoryCount:
    total: int = 0
    hit: int = 0           # PHI: found; non-PHI: kept

    @property
    def rate(self) -> float:
        return self.hit / self.total if self.total else 1.0


@dataclass
class Evaluation:
    phi: dict[str, CategoryCount] = field(default_factory=lambda: defaultdict(CategoryCount))
    non_phi: dict[str, CategoryCount] = field(default_factory=lambda: defaultdict(CategoryCount))
    # PHI values the truth marks as absent from the header (realistic styles' `in_header: false`): what
    # only a pattern, a rule or the NER can find; also counted in `phi`.
    outside_header: dict[str, CategoryCount] = field(default_factory=lambda: defaultdict(CategoryCount))
    lines: int = 0
    seconds: float = 0.0

    def overall(self, counts: dict[str, CategoryCount]) -> CategoryCount:
        return CategoryCount(sum(c.total for c in counts.values()), sum(c.hit for c in counts.values()))

    def table(self) -> str:
        rows = [("kind", "category", "items", "ok", "rate")]
        for kind, counts in (("PHI found", self.phi), ("non-PHI kept", self.non_phi)):
            for category in sorted(counts):
                c = counts[category]
                rows.append((kind, category, str(c.total), str(c.hit), f"{c.rate:.2%}"))
            total = self.overall(counts)
            rows.append((kind, "ALL", str(total.total), str(total.hit), f"{total.rate:.2%}"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


OCR_CONFUSIONS = {"0": "O", "O": "0", "o": "0", "1": "l", "l": "1", "I": "1", "i": "l", "5": "S", "S": "5",
                  "8": "B", "B": "8", "2": "Z", "Z": "2", "6": "b", "e": "c", "c": "e", "rn": "m", "m": "rn"}


def ocr_noise(rate: float, seed: int) -> Callable[[str], str]:
    """A deterministic perturbation like Tesseract's errors: per character, with probability `rate`, a
    look-alike substitution (O/0, l/1, S/5, rn/m, ...) or, one time in four, a dropped character."""
    rng = random.Random(seed)

    def perturb(word: str) -> str:
        out, index = [], 0
        while index < len(word):
            pair = word[index:index + 2]
            if rng.random() >= rate:
                out.append(word[index])
            elif pair in OCR_CONFUSIONS and len(pair) == 2:
                out.append(OCR_CONFUSIONS[pair])
                index += 1
            elif rng.random() < 0.75:
                out.append(OCR_CONFUSIONS.get(word[index], word[index]))
            index += 1
        return "".join(out) or word
    return perturb


def item_words(item: TextTruth, line_index: int, first_word: int,
               perturb: Callable[[str], str] | None = None) -> list[OcrWord]:
    """The words of one item, boxes cut in proportion to their characters (text optionally perturbed)."""
    text, box = item.text, item.box
    words, cursor = [], 0
    for k, word in enumerate(text.split()):
        start = text.index(word, cursor)
        cursor = start + len(word)
        left = box.left + round(box.width * start / len(text))
        right = box.left + round(box.width * cursor / len(text))
        read = perturb(word) if perturb else word
        words.append(OcrWord(read, 95.0, Box(left, box.top, max(right - left, 1), box.height), line_index,
                             first_word + k))
    return words


def truth_lines(items: Sequence[TextTruth], perturb: Callable[[str], str] | None = None
                ) -> list[tuple[TextLine, list[TextTruth]]]:
    """Items of one frame grouped into detector-like lines (same row, close together), in reading order."""
    groups: list[list[TextTruth]] = []
    for item in sorted(items, key=lambda t: (t.box.left, t.box.top)):
        for group in groups:
            if any(_same_row(other.box, item.box) and _gap(other.box, item.box) <= LINE_GAP_HEIGHTS * max(
                    other.box.height, item.box.height) for other in group):
                group.append(item)
                break
        else:
            groups.append([item])
    lines = []
    for index, group in enumerate(groups):
        group.sort(key=lambda t: t.box.left)
        words: list[OcrWord] = []
        for item in group:
            words += item_words(item, index, len(words), perturb)
        region = group[0].box
        for item in group[1:]:
            region = region.union(item.box)
        lines.append((TextLine(region, tuple(words)), group))
    return lines


def _gap(a: Box, b: Box) -> int:
    return max(a.left, b.left) - min(a.right, b.right)


def _same_row(a: Box, b: Box) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    return overlap >= 0.5 * min(a.height, b.height)


@dataclass(frozen=True)
class EvaluationFrame:
    """One frame's truth items, as detector-like lines, with the dictionary the recognizer gets."""

    dictionary: PhiDictionary
    lines: tuple[TextLine, ...]
    items: tuple[TextTruth, ...]


def file_frames(truth: FileTruth, perturb: Callable[[str], str] | None = None,
                with_dictionary: bool = True) -> list[EvaluationFrame]:
    dictionary = PhiDictionary.from_dataset(read_header(truth.path)) if with_dictionary else PhiDictionary.empty()
    by_frame: dict[tuple[int, str], list[TextTruth]] = defaultdict(list)
    for item in truth.burned_in_text:
        by_frame[(item.frame, item.plane)].append(item)
    return [EvaluationFrame(dictionary, tuple(line for line, _ in truth_lines(items, perturb)), tuple(items))
            for items in by_frame.values()]


def corpus_frames(truths: Iterable[FileTruth], noise: float = 0.0, seed: int = 0,
                  with_dictionary: bool = True) -> list[EvaluationFrame]:
    """Every frame of every file (with simulated OCR errors at `noise` per character if > 0): built once,
    so that two engines judge exactly the same lines."""
    perturb = ocr_noise(noise, seed) if noise > 0 else None
    return [frame for truth in truths for frame in file_frames(truth, perturb, with_dictionary)]


def evaluate_frames(recognizer: PhiRecognizer, frames: Iterable[EvaluationFrame], min_cover: float = 0.9,
                    max_cover: float = 0.1, sources: Sequence[str] | None = None) -> Evaluation:
    """`sources`: count only the PHI spans of these sources (e.g. "dictionary")."""
    result = Evaluation()
    started = time.perf_counter()
    for frame in frames:
        result.lines += len(frame.lines)
        spans = recognizer.find_phi_in_lines(list(frame.lines), frame.dictionary)
        boxes = [box for span in spans if sources is None or span.source in sources for box in span.boxes]
        for item in frame.items:
            cover = _covered_fraction(item.box, boxes)
            counts = result.phi if item.is_phi else result.non_phi
            counts[item.category].total += 1
            counts[item.category].hit += int(cover >= min_cover if item.is_phi else cover <= max_cover)
            if item.is_phi and item.in_header is False:
                result.outside_header[item.category].total += 1
                result.outside_header[item.category].hit += int(cover >= min_cover)
    result.seconds = time.perf_counter() - started
    return result


def evaluate_file(recognizer: PhiRecognizer, truth: FileTruth, result: Evaluation, min_cover: float = 0.9,
                  max_cover: float = 0.1, perturb: Callable[[str], str] | None = None) -> None:
    one = evaluate_frames(recognizer, file_frames(truth, perturb), min_cover, max_cover)
    result.lines += one.lines
    for mine, theirs in ((result.phi, one.phi), (result.non_phi, one.non_phi),
                         (result.outside_header, one.outside_header)):
        for category, count in theirs.items():
            mine[category].total += count.total
            mine[category].hit += count.hit


def _covered_fraction(target: Box, boxes: Iterable[Box]) -> float:
    mask = np.zeros((max(target.height, 1), max(target.width, 1)), bool)
    for box in boxes:
        top, bottom = max(box.top, target.top), min(box.bottom, target.bottom)
        left, right = max(box.left, target.left), min(box.right, target.right)
        if top < bottom and left < right:
            mask[top - target.top:bottom - target.top, left - target.left:right - target.left] = True
    return float(mask.mean())


def evaluate_corpus(recognizer: PhiRecognizer, truths: Iterable[FileTruth], noise: float = 0.0,
                    seed: int = 0) -> Evaluation:
    """Every file's truth texts (with simulated OCR errors at `noise` per character if > 0)."""
    return evaluate_frames(recognizer, corpus_frames(truths, noise, seed))


def line_frames(lines: Iterable, dictionary: PhiDictionary | None = None, char_width: int = 10,
                height: int = 14) -> list[EvaluationFrame]:
    """Labelled text lines (`ner_text.LabelledLine`: runs with PHI flags) as one-line frames, each run
    an item boxed in proportion to its characters: the recognizers judge them as OCR lines."""
    frames = []
    dictionary = dictionary or PhiDictionary.empty()
    for line in lines:
        items, cursor = [], 0
        for run in line.runs:
            box = Box(cursor * char_width, 0, max(len(run.text), 1) * char_width, height)
            items.append(TextTruth(0, box, run.text, run.category, run.is_phi))
            cursor += len(run.text) + 1
        frames.append(EvaluationFrame(dictionary, tuple(line for line, _ in truth_lines(items)), tuple(items)))
    return frames


def missed_items(recognizer: PhiRecognizer, truth: FileTruth) -> list[tuple[str, bool, str]]:
    """(category, is_phi, text) of the items judged wrongly in one file: a debugging aid for the
    developer's own terminal, never for logs or test output (it returns identified text)."""
    dictionary = PhiDictionary.from_dataset(read_header(truth.path))
    wrong = []
    by_frame: dict[tuple[int, str], list[TextTruth]] = defaultdict(list)
    for item in truth.burned_in_text:
        by_frame[(item.frame, item.plane)].append(item)
    for items in by_frame.values():
        lines = truth_lines(items)
        spans = recognizer.find_phi_in_lines([line for line, _ in lines], dictionary)
        boxes = [box for span in spans for box in span.boxes]
        for item in items:
            cover = _covered_fraction(item.box, boxes)
            if (item.is_phi and cover < 0.9) or (not item.is_phi and cover > 0.1):
                wrong.append((item.category, item.is_phi, item.text))
    return wrong


@dataclass
class OcrEvaluation:
    """On real OCR of rendered frames: PHI items the OCR read (fuzzy ratio >= 80 with the truth) and how
    many of those the recognizer flagged; non-PHI items and how many stayed unflagged."""

    phi_read: dict[str, CategoryCount] = field(default_factory=lambda: defaultdict(CategoryCount))
    phi_unread: int = 0
    non_phi: dict[str, CategoryCount] = field(default_factory=lambda: defaultdict(CategoryCount))
    frames: int = 0


def evaluate_ocr_frame(recognizer: PhiRecognizer, truth: FileTruth, frame_index: int, result: OcrEvaluation,
                       min_cover: float = 0.7, max_cover: float = 0.1) -> None:
    """Decode one frame, find and read its text with the pixel path, recognise, compare with the truth."""
    from rapidfuzz import fuzz

    from transforms.pixels.analyze import find_text
    from transforms.pixels.frames import FrameReader
    from transforms.pixels.ocr import OcrCache

    with FrameReader(str(truth.path)) as reader:
        dictionary = PhiDictionary.from_dataset(reader.header)
        found = find_text([(frame_index, reader.decode_frame(frame_index))], reader.info, reader.header,
                          OcrCache())[0]
    boxes = [box for span in recognizer.find_phi_in_lines(found.lines, dictionary) for box in span.boxes]
    words = [word for line in found.lines for word in line.words]
    result.frames += 1
    for item in truth.burned_in_text:
        if item.frame != frame_index or item.plane != "pixel":
            continue
        cover = _covered_fraction(item.box, boxes)
        if not item.is_phi:
            result.non_phi[item.category].total += 1
            result.non_phi[item.category].hit += int(cover <= max_cover)
            continue
        read = " ".join(w.text for w in words if _covered_fraction(item.box, [w.box]) > 0.3
                        or _covered_fraction(w.box, [item.box]) > 0.5)
        if fuzz.ratio(read, item.text) < 80:
            result.phi_unread += 1
            continue
        result.phi_read[item.category].total += 1
        result.phi_read[item.category].hit += int(cover >= min_cover)
