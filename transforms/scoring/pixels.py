"""Pixel leakage, over-redaction and image integrity for one matched file.

Input and output frames are decoded in step, one pair at a time (a 500 MB cine never sits in
memory). Per frame: the truth boxes of that frame are measured (coverage, changed share, and the share
of their ink that changed), the area away from all text (boxes grown by INTEGRITY_MARGIN) is compared
for integrity and collateral, ultrasound clinical regions are watched for changes where the truth has no
text, and PHI boxes are cut out for the OCR pass, which runs once per file at the end. Overlay-plane
text is measured on the overlay bitmaps the same way.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset

from transforms import transfer_syntax
from transforms.dicom_io import read_header
from transforms.scoring.coverage import (BoxMeasure, crop, is_destroyed, is_phi_removed, lossy_tolerance,
                                         measure_box, text_mask)
from transforms.scoring.frames import PixelGeometry, PixelReadError, geometry_of, iter_frames, overlay_plane
from transforms.scoring.ink import ink_changed_share, ink_mask, is_fully_wiped, is_kept, is_wiped
from transforms.scoring.ocr import OcrRequest, read_boxes
from transforms.synth.truth import ROLE_VALUE, FileTruth, TextTruth
from transforms.text_types import Box


@dataclass
class BoxResult:
    frame: int
    plane: str
    category: str
    is_phi: bool
    box: tuple[int, int, int, int]
    coverage: float
    changed: float
    ocr_reads: bool | None = None
    ink_changed: float = 0.0            # share of the box's ink wiped (changed, or left without contrast)
    role: str = ""                      # label | value | other
    orientation: str = "0"             # 0 | 90 | 180 | 270 | skewed
    box_id: int = -1                    # index of the box in the truth's burned_in_text (names it, not its text)
    item: int | None = None
    placement: str = ""
    in_header: bool | None = None

    @property
    def removed(self) -> bool:
        return is_phi_removed(BoxMeasure(self.coverage, self.changed), self.ocr_reads)

    @property
    def destroyed(self) -> bool:
        return is_destroyed(BoxMeasure(self.coverage, self.changed))

    @property
    def wiped(self) -> bool:
        """A PHI value box with at least half of its ink changed (issue 22's figure)."""
        return is_wiped(self.ink_changed)

    @property
    def fully_wiped(self) -> bool:
        return is_fully_wiped(self.ink_changed)

    @property
    def kept(self) -> bool:
        """A label or other non-PHI text with (almost) none of its ink changed."""
        return is_kept(self.ink_changed)

    @property
    def missed(self) -> bool:
        """A value not wiped, or a label or other non-PHI text not kept."""
        return not self.wiped if self.role == ROLE_VALUE else not self.kept

    def to_json(self) -> dict:
        verdict = {"removed": self.removed, "wiped": self.wiped} if self.is_phi else \
            {"destroyed": self.destroyed, "kept": self.kept}
        return {"box_id": self.box_id, "item": self.item, "frame": self.frame, "plane": self.plane,
                "category": self.category, "is_phi": self.is_phi, "role": self.role,
                "orientation": self.orientation, "placement": self.placement, "in_header": self.in_header,
                "box": dict(zip(("left", "top", "width", "height"), self.box)),
                "coverage": round(self.coverage, 4), "changed": round(self.changed, 4),
                "ink_changed": round(self.ink_changed, 4), "ocr_reads": self.ocr_reads, **verdict}


@dataclass
class PixelResult:
    boxes: list[BoxResult] = field(default_factory=list)
    scorable: bool = True
    reason: str | None = None
    non_text_pixels: int = 0
    non_text_changed: int = 0          # beyond the lossy tolerance (exact for lossless outputs)
    outside_changed_exact: int = 0     # any change at all, away from text
    squared_error: float = 0.0
    peak: float = 255.0
    ocr_ran: bool = False
    image_pixels: int = 0              # rows x columns x frames scored
    region_pixels: int = 0             # ultrasound clinical regions, away from text (all frames)
    region_changed: int = 0            # ... of which changed
    region_text_free_frames: int = 0   # frames whose clinical region holds no truth text
    region_text_free_frames_touched: int = 0   # ... in which the tool changed region pixels anyway

    @property
    def collateral(self) -> float | None:
        """Pixels changed away from every truth box (grown by 4 px), as a share of the image."""
        return None if not self.scorable or self.image_pixels == 0 else self.non_text_changed / self.image_pixels

    @property
    def psnr_outside(self) -> float | None:
        if not self.scorable or self.non_text_pixels == 0:
            return None
        mse = self.squared_error / self.non_text_pixels
        return math.inf if mse == 0 else 10.0 * math.log10(self.peak ** 2 / mse)


def _same_raster(truth: FileTruth, out: PixelGeometry) -> bool:
    return (out.rows, out.columns, out.frames, out.samples_per_pixel) == (
        truth["rows"], truth["columns"], truth["frames"], truth["samples_per_pixel"])


def _unscored(truth: FileTruth, reason: str) -> PixelResult:
    """Pixels that cannot be compared: PHI boxes count as not removed, non-PHI as destroyed."""
    boxes = [_box_result(t, index, t.frame, BoxMeasure(0.0, 0.0) if t.is_phi else BoxMeasure(1.0, 1.0),
                         0.0 if t.is_phi else 1.0) for index, t in enumerate(truth.burned_in_text)]
    return PixelResult(boxes=boxes, scorable=False, reason=reason)


def _box_result(t: TextTruth, index: int, frame: int, measure: BoxMeasure, ink: float) -> BoxResult:
    return BoxResult(frame, t.plane, t.category, t.is_phi, _tuple(t), measure.coverage, measure.changed,
                     ink_changed=ink, role=t.role, orientation=t.orientation, box_id=index, item=t.item,
                     placement=t.placement, in_header=t.in_header)


def _tuple(t: TextTruth) -> tuple[int, int, int, int]:
    return (t.box.left, t.box.top, t.box.width, t.box.height)


def score_pixels(truth: FileTruth, out_path: Path, out_ds: Dataset, run_ocr: bool) -> PixelResult:
    out_geometry = geometry_of(out_ds)
    if not _same_raster(truth, out_geometry):
        return _unscored(truth, "geometry_changed")
    in_geometry = PixelGeometry(truth["rows"], truth["columns"], truth["frames"], truth["samples_per_pixel"],
                                truth["bits_stored"], truth["sop_class_uid"], truth["transfer_syntax_uid"])
    result = PixelResult(peak=float(2 ** min(16, truth["bits_stored"]) - 1))
    out_lossy = transfer_syntax.is_lossy(uid.UID(out_geometry.transfer_syntax_uid) if out_geometry.transfer_syntax_uid
                                         else None, out_ds)
    by_frame: dict[int, list[tuple[int, TextTruth]]] = {}
    for box_id, t in enumerate(truth.burned_in_text):
        if t.plane == "pixel":
            by_frame.setdefault(t.frame, []).append((box_id, t))
    regions = [Box(**r["box"]) for r in truth.raw.get("ultrasound_regions", ()) if r.get("data_type") == "tissue"]
    requests: list[OcrRequest] = []
    try:
        pairs = zip(iter_frames(truth.path, in_geometry), iter_frames(out_path, out_geometry))
        for index, (before, after) in enumerate(pairs):
            _score_frame(result, index, before, after, by_frame.get(index, []), out_lossy, requests, regions)
    except PixelReadError as exc:
        return _unscored(truth, exc.reason)
    _score_overlays(result, truth, out_ds, requests)
    if run_ocr and requests:
        try:
            reads = read_boxes(requests)
        except (OSError, subprocess.SubprocessError):
            return result                  # OCR broke: boxes keep ocr_reads None (no benefit of doubt)
        for request in requests:
            result.boxes[request.key].ocr_reads = reads[request.key]
        result.ocr_ran = True
    return result


def _score_frame(result: PixelResult, index: int, before: np.ndarray, after: np.ndarray,
                 texts: list[tuple[int, TextTruth]], out_lossy: bool, requests: list[OcrRequest],
                 regions: list[Box] = ()) -> None:
    rows, columns = before.shape[:2]
    outside = ~text_mask((rows, columns), [t.box for _, t in texts])
    tolerance = lossy_tolerance(before, after, outside) if out_lossy else 0.0
    diff = np.abs(after.astype(np.int64) - before.astype(np.int64))
    if diff.ndim == 3:
        squared = (diff.astype(np.float64) ** 2).mean(axis=-1)
        diff = diff.max(axis=-1)
    else:
        squared = diff.astype(np.float64) ** 2
    result.image_pixels += rows * columns
    result.non_text_pixels += int(outside.sum())
    result.non_text_changed += int((_beyond(diff, tolerance, out_lossy) & outside).sum())
    result.outside_changed_exact += int((diff[outside] > 0).sum())
    result.squared_error += float(squared[outside].sum())
    if regions:
        _score_regions(result, _beyond(diff, tolerance, out_lossy), outside, regions, [t for _, t in texts])
    for box_id, t in texts:
        before_box, after_box = crop(before, t.box), crop(after, t.box)
        measure = measure_box(before_box, after_box, tolerance, lossy=out_lossy)
        ink = ink_changed_share(before_box, after_box, ink_mask(t), tolerance, lossy=out_lossy)
        result.boxes.append(_box_result(t, box_id, index, measure, ink))
        if t.is_phi:
            margin = max(3, t.box.height // 3)
            region = t.box.padded(margin, rows, columns)
            requests.append(OcrRequest(len(result.boxes) - 1, crop(after, region).copy(), t.text, t.box.height))


def _beyond(diff: np.ndarray, tolerance: float, lossy: bool) -> np.ndarray:
    """Pixels changed beyond the tolerance. In a lossy output the tolerance is the codec error's 99.5th
    percentile, so half a percent of untouched pixels pass it, scattered along edges: only changes that
    fill a 3x3 square count there (paint, fills, inpainting do; codec noise and 1-2 px lines do not)."""
    changed = diff > tolerance
    if not lossy:
        return changed
    return cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def _score_regions(result: PixelResult, changed: np.ndarray, outside: np.ndarray, regions: list[Box],
                   texts: list[TextTruth]) -> None:
    """Ultrasound clinical regions: changes away from text, and frames where the truth has no text there."""
    inside = np.zeros_like(outside)
    for box in regions:
        inside[box.top:box.bottom, box.left:box.right] = True
    watched = inside & outside
    result.region_pixels += int(watched.sum())
    touched = int((changed & watched).sum())
    result.region_changed += touched
    if not any(t.box.overlaps(box) for t in texts for box in regions):
        result.region_text_free_frames += 1
        result.region_text_free_frames_touched += touched > 0


def _score_overlays(result: PixelResult, truth: FileTruth, out_ds: Dataset, requests: list[OcrRequest]) -> None:
    """Overlay text: an overlay removed from the output counts as fully covered."""
    items = [(box_id, t) for box_id, t in enumerate(truth.burned_in_text) if t.overlay_group is not None]
    if not items:
        return
    in_ds = read_header(truth.path)
    for box_id, t in items:
        before = overlay_plane(in_ds, t.overlay_group)
        after = overlay_plane(out_ds, t.overlay_group)
        if before is None:
            continue
        if after is None or after.shape != before.shape:
            measure, ink = BoxMeasure(1.0, 1.0), 1.0
        else:
            measure = measure_box(crop(before, t.box), crop(after, t.box), 0.0)
            ink = ink_changed_share(crop(before, t.box), crop(after, t.box), ink_mask(t, crop(before, t.box)))
        result.boxes.append(_box_result(t, box_id, t.frame, measure, ink))
        if t.is_phi and after is not None and after.shape == before.shape:
            region = t.box.padded(max(3, t.box.height // 3), *after.shape)
            requests.append(OcrRequest(len(result.boxes) - 1, crop(after, region) * 255, t.text, t.box.height))
