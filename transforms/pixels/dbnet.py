"""A learned text detector: PaddleOCR's PP-OCRv4 DBNet detection model, run with onnxruntime.

Why a model beside the morphological detector: DBNet was trained on scene and document text in every
font, colour and background, so it finds text that a fixed contrast rule misses (grey text over bright
anatomy, coloured serif text over speckle) and it scores each region, which lets the caller drop
candidates that are not text. It is one small CNN (4.7 MB, checked in under `models/` with its licence;
nothing is downloaded): ~25 ms per 256x256 input on one core, ~100 ms per 512x512.

The pre- and post-processing are our own (PaddleOCR's are for rotated scene text and pull in opencv-python,
pyclipper and shapely): normalise with mean = std = 0.5, pad to a multiple of 32, sigmoid probability map
-> threshold -> connected components -> mean probability as the box score -> axis-aligned boxes grown by
DB's unclip distance (area x ratio / perimeter, exact for a rectangle). Each region also keeps its
minimum-area rotated rectangle, grown the same way (`ScoredBox.corners`): most burned-in text is
horizontal, but a name along an image's edge runs vertically and text typed over a capture may be
skewed, and those lines are read turned upright (`orient.py`).

Large frames are cut into overlapping tiles at full resolution instead of being shrunk, so 8 px text
survives on a 3000 px radiograph; small frames are enlarged, because the model was trained on text of
roughly 10-60 px and under-segments smaller glyphs.

One `onnxruntime` session per process, single-threaded: Spark already runs one task per core.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from transforms.pixels.orient import Corners, rotated_rectangle
from transforms.text_types import Box

MODEL_PATH = Path(__file__).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"
STRIDE = 32                       # the network's total downsampling: inputs must be multiples of it

_SESSION: list = []                # the process's session, created on first use
_SESSION_LOCK = threading.Lock()


@dataclass(frozen=True)
class DbnetSettings:
    probability: float = 0.3      # a pixel is text when the model's probability exceeds this (DB's default)
    min_score: float = 0.4        # a region is kept when its mean probability exceeds this (0.5 lost
                                  # isolated digits of real ultrasound at 0.46-0.48)
    unclip_ratio: float = 1.0     # DB shrinks text kernels in training, this grows them back (PaddleOCR
                                  # uses 1.6 for scene text; 1.0 reaches the ink of rendered text)
    upscale_below: int = 640      # frames whose longer side is below this are enlarged ...
    max_upscale: float = 2.0      # ... by at most this factor, to the longer side `upscale_below`
    tile: int = 1024              # frames larger than this are read in tiles of this side ...
    tile_overlap: int = 96        # ... overlapping by more than the tallest text line


@dataclass(frozen=True)
class ScoredBox:
    """A text region found by the model, in frame coordinates, with its mean text probability and the
    corners of its rotated rectangle (the component's minimum-area rectangle, unclipped)."""

    box: Box
    score: float
    corners: Corners = ()


def detect_text_dbnet(image: np.ndarray, settings: DbnetSettings = DbnetSettings()) -> list[ScoredBox]:
    """Text regions of an 8-bit grey (rows, columns) or RGB (rows, columns, 3) image."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)       # the model was trained on OpenCV's BGR
    rows, columns = image.shape[:2]
    factor = _upscale_factor(rows, columns, settings)
    if factor != 1.0:
        image = cv2.resize(image, (round(columns * factor), round(rows * factor)), interpolation=cv2.INTER_CUBIC)
    probability = _probability_map(image, settings)
    return [ScoredBox(_to_frame(found.box, factor, rows, columns), found.score,
                      tuple((x / factor, y / factor) for x, y in found.corners))
            for found in regions_from_probability(probability, settings)]


def probability_map(image: np.ndarray, settings: DbnetSettings = DbnetSettings()) -> np.ndarray:
    """The model's per-pixel text probability (float32, same size as a BGR `image`), tiled when large."""
    return _probability_map(image, settings)


def regions_from_probability(probability: np.ndarray, settings: DbnetSettings = DbnetSettings()) -> list[ScoredBox]:
    """Connected regions of the thresholded probability map, scored and unclipped, in map pixels."""
    mask = cv2.dilate((probability > settings.probability).astype(np.uint8), np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return []
    sums = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count)
    rows, columns = probability.shape
    found = []
    for label in range(1, count):
        left, top, width, height, area = (int(v) for v in stats[label])
        if min(width, height) < 3:
            continue
        score = float(sums[label] / area)
        if score < settings.min_score:
            continue
        grow = round(width * height * settings.unclip_ratio / (2 * (width + height)))
        found.append(ScoredBox(Box(left, top, width, height).padded(grow, rows, columns), score,
                               _rotated_corners(labels, label, left, top, width, height, settings)))
    return found


def _rotated_corners(labels: np.ndarray, label: int, left: int, top: int, width: int, height: int,
                     settings: DbnetSettings) -> tuple[tuple[float, float], ...]:
    """The component's minimum-area rectangle (pixel edges), grown by DB's unclip distance for it."""
    ys, xs = np.nonzero(labels[top:top + height, left:left + width] == label)
    points = np.concatenate([np.stack([xs + left + dx, ys + top + dy], axis=1)
                             for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1))])      # pixel corners
    corners = np.asarray(rotated_rectangle(points))
    sides = np.hypot(*(corners[1] - corners[0])), np.hypot(*(corners[2] - corners[1]))
    grow = sides[0] * sides[1] * settings.unclip_ratio / (2 * (sides[0] + sides[1]))
    return rotated_rectangle(points, grow)


def _upscale_factor(rows: int, columns: int, settings: DbnetSettings) -> float:
    longer = max(rows, columns)
    if longer >= settings.upscale_below:
        return 1.0
    return min(settings.max_upscale, settings.upscale_below / longer)


def _to_frame(box: Box, factor: float, rows: int, columns: int) -> Box:
    if factor == 1.0:
        return box
    left, top = int(np.floor(box.left / factor)), int(np.floor(box.top / factor))
    right = min(int(np.ceil(box.right / factor)), columns)
    bottom = min(int(np.ceil(box.bottom / factor)), rows)
    return Box(left, top, right - left, bottom - top)


def _probability_map(image: np.ndarray, settings: DbnetSettings) -> np.ndarray:
    rows, columns = image.shape[:2]
    if max(rows, columns) <= settings.tile:
        return _run(image)
    probability = np.zeros((rows, columns), dtype=np.float32)
    for top, left in _tile_origins(rows, columns, settings):
        tile = image[top:top + settings.tile, left:left + settings.tile]
        np.maximum(probability[top:top + tile.shape[0], left:left + tile.shape[1]], _run(tile),
                   out=probability[top:top + tile.shape[0], left:left + tile.shape[1]])
    return probability


def _tile_origins(rows: int, columns: int, settings: DbnetSettings) -> list[tuple[int, int]]:
    step = settings.tile - settings.tile_overlap

    def starts(extent: int) -> list[int]:
        if extent <= settings.tile:
            return [0]
        points = list(range(0, extent - settings.tile, step))
        return points + [extent - settings.tile]

    return [(top, left) for top in starts(rows) for left in starts(columns)]


def _run(image: np.ndarray) -> np.ndarray:
    """One forward pass; the image is padded (edge-replicated) to a multiple of the stride."""
    rows, columns = image.shape[:2]
    padded_rows, padded_columns = -(-rows // STRIDE) * STRIDE, -(-columns // STRIDE) * STRIDE
    if (padded_rows, padded_columns) != (rows, columns):
        image = cv2.copyMakeBorder(image, 0, padded_rows - rows, 0, padded_columns - columns, cv2.BORDER_REPLICATE)
    tensor = (image.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)).transpose(2, 0, 1)[None]
    session = _session()
    output = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(tensor)})[0]
    return output[0, 0, :rows, :columns]


def _session():
    """The process's inference session, created on first use (`run` is thread-safe in onnxruntime)."""
    with _SESSION_LOCK:
        if not _SESSION:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            _SESSION.append(onnxruntime.InferenceSession(str(MODEL_PATH), options,
                                                         providers=["CPUExecutionProvider"]))
        return _SESSION[0]
