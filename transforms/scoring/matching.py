"""Which output file came from which truth file, without UIDs (a de-identifier changes them).

An explicit mapping (CSV rows: truth file name, output path) wins. Otherwise files are matched by
content: the same rows, columns, frames and SOP class, then the most similar first frame, compared
as thumbnails away from the truth's text boxes (where redaction changes pixels). The comparison is
on the thumbnail's fine detail (thumbnail minus its blur): slices of one series share their
coarse shape, but their noise and texture are their own. Candidates are assigned greedily, most
similar pair first; a pair below MIN_SIMILARITY is not a match.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from transforms.dicom_io import HeaderError, is_dicomdir, read_header
from transforms.scoring.frames import PixelGeometry, PixelReadError, geometry_of, iter_frames
from transforms.synth.truth import TRUTH_SUFFIX, FileTruth

THUMBNAIL_PX = 128
MIN_SIMILARITY = 0.3


@dataclass(frozen=True)
class OutputFile:
    path: Path
    geometry: PixelGeometry

    @property
    def key(self) -> tuple:
        g = self.geometry
        return (g.rows, g.columns, g.frames, g.sop_class_uid)


@dataclass(frozen=True)
class Match:
    truth: FileTruth
    output: OutputFile | None
    method: str            # mapping | fingerprint | missing
    similarity: float | None = None


def find_outputs(root: Path) -> tuple[list[OutputFile], list[str]]:
    """Every readable DICOM image under `root`; also the relative paths of files skipped."""
    outputs, skipped = [], []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        if path.name.endswith(TRUTH_SUFFIX):
            continue
        try:
            ds = read_header(path)
        except HeaderError:
            skipped.append(str(path.relative_to(root)))
            continue
        if is_dicomdir(ds) or "Rows" not in ds:
            skipped.append(str(path.relative_to(root)))
            continue
        try:
            geometry = geometry_of(ds)
        except (TypeError, ValueError):                 # unparsable image attributes
            skipped.append(str(path.relative_to(root)))
            continue
        outputs.append(OutputFile(path, geometry))
    return outputs, skipped


def truth_key(truth: FileTruth) -> tuple:
    return (truth["rows"], truth["columns"], truth["frames"], truth["sop_class_uid"])


def read_mapping(mapping_csv: Path, deidentified_dir: Path) -> dict[str, Path]:
    """truth file name -> output path (relative paths are under the de-identified directory)."""
    mapping: dict[str, Path] = {}
    with open(mapping_csv, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) < 2 or row[0].strip().lower() in ("truth", "truth_file", "truth file name"):
                continue
            target = Path(row[1].strip())
            mapping[Path(row[0].strip()).name] = target if target.is_absolute() else deidentified_dir / target
    return mapping


def match_files(truths: list[FileTruth], outputs: list[OutputFile],
                mapping: dict[str, Path] | None = None) -> tuple[list[Match], list[OutputFile]]:
    """Matches for every truth file (method 'missing' when none) and the outputs left unmatched."""
    matches: dict[str, Match] = {}
    free = {o.path: o for o in outputs}
    for truth in truths:
        target = (mapping or {}).get(truth.name)
        if target is not None and target in free:
            matches[truth.name] = Match(truth, free.pop(target), "mapping")
    groups: dict[tuple, list[FileTruth]] = {}
    for truth in truths:
        if truth.name not in matches:
            groups.setdefault(truth_key(truth), []).append(truth)
    for key, group in groups.items():
        candidates = [o for o in free.values() if o.key == key]
        for match in _assign(group, candidates):
            matches[match.truth.name] = match
            if match.output is not None:
                free.pop(match.output.path, None)
    ordered = [matches.get(t.name) or Match(t, None, "missing") for t in truths]
    return ordered, list(free.values())


def _assign(truths: list[FileTruth], candidates: list[OutputFile]) -> list[Match]:
    if not candidates:
        return [Match(t, None, "missing") for t in truths]
    if len(truths) == 1 and len(candidates) == 1:
        return [Match(truths[0], candidates[0], "fingerprint")]   # the only file of that geometry
    scores = []
    truth_thumbs = {t.name: _thumbnail(t.path, _geometry_of_truth(t)) for t in truths}
    out_thumbs = {o.path: _thumbnail(o.path, o.geometry) for o in candidates}
    for t in truths:
        weights = _weights(t)
        for o in candidates:
            scores.append((_correlation(truth_thumbs[t.name], out_thumbs[o.path], weights), t.name, o.path))
    taken_t, taken_o, result = set(), set(), {}
    for score, t_name, o_path in sorted(scores, key=lambda s: -s[0]):
        if score < MIN_SIMILARITY or t_name in taken_t or o_path in taken_o:
            continue
        taken_t.add(t_name)
        taken_o.add(o_path)
        result[t_name] = (o_path, score)
    by_path = {o.path: o for o in candidates}
    return [Match(t, by_path[result[t.name][0]], "fingerprint", result[t.name][1]) if t.name in result
            else Match(t, None, "missing") for t in truths]


def _geometry_of_truth(t: FileTruth) -> PixelGeometry:
    return PixelGeometry(t["rows"], t["columns"], t["frames"], t["samples_per_pixel"], t["bits_stored"],
                         t["sop_class_uid"], t["transfer_syntax_uid"])


def _thumbnail(path: Path, geometry: PixelGeometry) -> np.ndarray | None:
    """First frame, grey, area-averaged to at most THUMBNAIL_PX on its long side."""
    try:
        frame = next(iter(iter_frames(path, geometry)))
    except (PixelReadError, StopIteration):
        return None
    grey = frame.astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=-1)
    small = cv2.resize(grey, _thumb_size(grey.shape), interpolation=cv2.INTER_AREA)
    return small - cv2.GaussianBlur(small, (0, 0), 2.0)


def _thumb_size(shape: tuple[int, int]) -> tuple[int, int]:
    rows, columns = shape[:2]
    scale = THUMBNAIL_PX / max(rows, columns)
    return max(1, round(columns * scale)), max(1, round(rows * scale))


def _weights(truth: FileTruth) -> np.ndarray:
    """1 away from the first frame's text boxes, 0 on them (thumbnail resolution)."""
    mask = np.ones((truth["rows"], truth["columns"]), np.float32)
    for t in truth.burned_in_text:
        if t.frame == 0 and t.plane == "pixel":
            mask[t.box.top:t.box.bottom, t.box.left:t.box.right] = 0.0
    small = cv2.resize(mask, _thumb_size(mask.shape), interpolation=cv2.INTER_AREA)
    keep = (small >= 0.999).astype(np.uint8)
    return cv2.erode(keep, np.ones((9, 9), np.uint8)).astype(np.float32)   # the blur reaches past a box


def _correlation(a: np.ndarray | None, b: np.ndarray | None, weights: np.ndarray) -> float:
    if a is None or b is None or a.shape != b.shape:
        return -1.0
    w = weights.ravel() > 0
    x, y = a.ravel()[w].astype(np.float64), b.ravel()[w].astype(np.float64)
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return 1.0 if x.size and np.array_equal(x, y) else 0.0
    return float(np.corrcoef(x, y)[0, 1])
