"""Anatomy-like pixel backgrounds: shapes, gradients, texture and noise in each modality's units.

The point is not realism but that text is not trivially separable from the background: body
outlines, bright bone under text, speckle, vessels, a collimator edge, noise everywhere (so "changed
to the fill" is measurable even in air). Each frame is made on demand from a fixed structure plus
per-frame noise, so a 500 MB cine never sits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from transforms.synth.kinds import Geometry, KindSpec


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency texture in [-1, 1]: a small random grid upscaled with cubic interpolation."""
    rows, cols = shape
    grid = rng.uniform(-1.0, 1.0, (cells, max(2, round(cells * cols / rows)))).astype(np.float32)
    return np.clip(cv2.resize(grid, (cols, rows), interpolation=cv2.INTER_CUBIC), -1.0, 1.0)


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates: y and x in [-1, 1]."""
    rows, cols = shape
    y = np.linspace(-1.0, 1.0, rows, dtype=np.float32)
    x = np.linspace(-1.0, 1.0, cols, dtype=np.float32)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return yy, xx


def _ellipse(y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


@dataclass
class FrameSource:
    """Makes frame i (float32, stored units, before text) from a static structure and frame noise."""

    kind: KindSpec
    geometry: Geometry
    seed: int
    structure: np.ndarray
    noise_sigma: float
    extras: dict = field(default_factory=dict)

    def frame(self, index: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, index])
        maker = _FRAME_MAKERS.get(self.kind.name, _static_plus_noise)
        return maker(self, index, rng)


def _static_plus_noise(src: FrameSource, index: int, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, src.noise_sigma, src.structure.shape).astype(np.float32)
    return src.structure + noise


def _ct_structure(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Axial chest in HU: body, lungs, heart, spine, table; padding outside the field of view."""
    y, x = _grid(shape)
    hu = np.full(shape, -1000.0, np.float32)
    body = _ellipse(y, x, 0.0, 0.0, 0.62, 0.86)
    hu[body] = -100.0                                          # subcutaneous fat
    hu[_ellipse(y, x, 0.0, 0.0, 0.56, 0.80)] = 40.0            # soft tissue
    texture = smooth_noise(rng, shape, 24) * 60.0
    for cx in (-0.38, 0.38):
        lung = _ellipse(y, x, -0.05, cx, 0.42, 0.27)
        hu[lung] = -850.0 + texture[lung]
    hu[_ellipse(y, x, 0.02, 0.08, 0.22, 0.2)] = 50.0           # heart
    hu[_ellipse(y, x, -0.15, -0.05, 0.06, 0.06)] = 180.0       # contrast aorta
    hu[_ellipse(y, x, 0.42, 0.0, 0.09, 0.08)] = 900.0          # vertebral body
    hu[_ellipse(y, x, 0.42, 0.0, 0.06, 0.05)] = 300.0          # marrow
    for cx in (-0.7, 0.7):                                     # ribs / scapulae
        hu[_ellipse(y, x, 0.2, cx, 0.06, 0.04)] = 750.0
    hu[(y > 0.8) & (y < 0.86) & (np.abs(x) < 0.9)] = 200.0     # table
    hu += smooth_noise(rng, shape, 8) * 15.0 * body
    stored = hu + 1024.0
    stored[x ** 2 + y ** 2 > 0.98] = -2000.0                   # pixel padding outside the FOV
    return stored


def _mr_structure(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Axial head, T1-like: scalp, skull, grey/white matter, ventricles, bias field."""
    y, x = _grid(shape)
    img = np.full(shape, 30.0, np.float32)
    img[_ellipse(y, x, 0.0, 0.0, 0.85, 0.7)] = 1100.0          # scalp fat
    img[_ellipse(y, x, 0.0, 0.0, 0.8, 0.65)] = 80.0            # skull
    brain = _ellipse(y, x, 0.0, 0.0, 0.74, 0.59)
    texture = smooth_noise(rng, shape, 20)
    img[brain] = np.where(texture[brain] > 0.1, 880.0, 650.0)  # white vs grey matter
    for cx in (-0.1, 0.1):
        img[_ellipse(y, x, -0.05, cx, 0.22, 0.06)] = 220.0     # lateral ventricles
    bias = 1.0 + 0.2 * x + 0.1 * y
    return img * bias


def _radiograph_brightness(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Chest PA as display brightness in [0, 1] (1 = white): lungs dark, bone and collimator bright."""
    y, x = _grid(shape)
    b = np.full(shape, 0.06, np.float32)                       # direct exposure
    b[_ellipse(y, x, 0.1, 0.0, 0.95, 0.8)] = 0.5               # torso
    texture = smooth_noise(rng, shape, 40) * 0.04
    for cx in (-0.38, 0.38):
        lung = _ellipse(y, x, -0.05, cx, 0.6, 0.3)
        b[lung] = 0.22 + texture[lung]
    b[np.abs(x) < 0.1] = np.maximum(b[np.abs(x) < 0.1], 0.75)  # mediastinum and spine
    ribs = (np.sin((y + 0.15 * x ** 2) * 28.0) > 0.75) & (np.abs(x) < 0.72) & (y < 0.55)
    b[ribs] += 0.15
    b[_ellipse(y, x, 0.15, 0.12, 0.22, 0.2)] = 0.68            # heart
    b[(np.abs(x) > 0.92) | (np.abs(y) > 0.94)] = 0.93          # collimator: unexposed, bright
    return np.clip(b + (y + 1.0) * 0.04, 0.0, 1.0)


def _radiograph_structure(kind: KindSpec, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    low, high = kind.stored_range
    b = _radiograph_brightness(shape, rng)
    if kind.photometric == "MONOCHROME1":                      # white on display = low stored value
        b = 1.0 - b
    return low + b * (high - low) * 0.9 + (high - low) * 0.05


def _mg_structure(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Mammogram (MLO-ish): breast against the left edge, dense tissue texture, pectoral muscle."""
    y, x = _grid(shape)
    img = np.full(shape, 60.0, np.float32)
    breast = _ellipse(y, x, 0.05, -1.0, 0.85, 1.25)
    dense = smooth_noise(rng, shape, 30)
    tissue = 1300.0 + 900.0 * np.clip(dense, 0.0, 1.0) * (1.0 - (x + 1.0) / 3.0)
    img[breast] = tissue[breast]
    pectoral = (x < -0.55 - 0.9 * (y + 0.2)) & breast
    img[pectoral] = 2600.0
    edge = breast & ~_ellipse(y, x, 0.05, -1.0, 0.83, 1.22)
    img[edge] = 1700.0                                         # skin line
    return img


def _us_structure(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Echo sector: a fan of tissue with a dark cyst and a bright interface; returns (mean, mask)."""
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    apex = (cols / 2.0, rows * 0.06)
    radius = np.hypot(xx - apex[0], yy - apex[1])
    angle = np.arctan2(xx - apex[0], yy - apex[1])
    fan = (np.abs(angle) < 0.6) & (radius > rows * 0.05) & (radius < rows * 0.9)
    mean = np.zeros(shape, np.float32)
    depth = radius / (rows * 0.9)
    mean[fan] = (110.0 * (1.0 - 0.5 * depth) + 30.0 * smooth_noise(rng, shape, 12))[fan]
    cyst = ((xx - cols * 0.55) / (cols * 0.1)) ** 2 + ((yy - rows * 0.5) / (rows * 0.12)) ** 2 <= 1
    mean[cyst & fan] = 15.0
    interface = (np.abs(yy - rows * 0.7 - 0.1 * (xx - cols / 2)) < 2.5) & fan
    mean[interface] = 220.0
    return mean, fan


def _us_frame(src: FrameSource, index: int, rng: np.random.Generator) -> np.ndarray:
    """Speckle (Rayleigh) over the sector, a beating offset; grey replicated to RGB plus a colour bar."""
    fan = src.extras["fan"]
    shift = int(round(3 * np.sin(2 * np.pi * index / max(1, src.geometry.frames))))
    mean = np.roll(src.structure, shift, axis=0)
    speckle = rng.rayleigh(1.0, mean.shape).astype(np.float32) / 1.25
    grey = np.where(fan, mean * speckle, 0.0)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    bar = src.extras["colour_bar"]
    rows = bar.shape[0]
    top = (src.geometry.rows - rows) // 2
    rgb[top:top + rows, -14:-6, :] = bar[:, None, :]
    return rgb


def _xa_structure(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Angiogram: bright background with a round collimator, and a vessel tree as a separate layer."""
    rows, cols = shape
    y, x = _grid(shape)
    background = 175.0 + 25.0 * smooth_noise(rng, shape, 6)
    background[x ** 2 + y ** 2 > 0.92] = 18.0
    vessels = np.zeros(shape, np.uint8)
    for _ in range(5):
        points = [(int(cols * rng.uniform(0.3, 0.7)), int(rows * 0.05))]
        for _ in range(6):
            px, py = points[-1]
            points.append((int(np.clip(px + rng.normal(0, cols * 0.08), 0, cols - 1)),
                           int(np.clip(py + rows * rng.uniform(0.08, 0.18), 0, rows - 1))))
        cv2.polylines(vessels, [np.array(points, np.int32)], False, 255,
                      thickness=max(1, int(rng.integers(1, 5) * cols / 512 + 1)))
    vessels = cv2.GaussianBlur(vessels, (0, 0), 1.2).astype(np.float32) / 255.0
    return background.astype(np.float32), vessels


def _xa_frame(src: FrameSource, index: int, rng: np.random.Generator) -> np.ndarray:
    """Contrast washes in and out over the run: vessel darkness follows a bump over frames."""
    frames = max(1, src.geometry.frames)
    fill = np.sin(np.pi * (index + 0.5) / frames)
    img = src.structure * (1.0 - 0.6 * fill * src.extras["vessels"])
    return img + rng.normal(0.0, src.noise_sigma, img.shape).astype(np.float32)


_FRAME_MAKERS = {"US": _us_frame, "XA": _xa_frame}


def make_frame_source(kind: KindSpec, geometry: Geometry, seed: int) -> FrameSource:
    rng = np.random.default_rng([seed, 0xA11A])
    shape = (geometry.rows, geometry.columns)
    if kind.name == "CT":
        return FrameSource(kind, geometry, seed, _ct_structure(shape, rng), noise_sigma=12.0)
    if kind.name == "MR":
        return FrameSource(kind, geometry, seed, _mr_structure(shape, rng), noise_sigma=18.0)
    if kind.name in ("CR", "DX"):
        sigma = (kind.stored_range[1] - kind.stored_range[0]) * 0.006
        return FrameSource(kind, geometry, seed, _radiograph_structure(kind, shape, rng), sigma)
    if kind.name == "MG":
        return FrameSource(kind, geometry, seed, _mg_structure(shape, rng), noise_sigma=20.0)
    if kind.name == "US":
        mean, fan = _us_structure(shape, rng)
        bar_rows = geometry.rows // 2
        ramp = np.linspace(1.0, 0.0, bar_rows, dtype=np.float32)[:, None]
        bar = np.concatenate([255 * ramp, 120 * (1 - np.abs(2 * ramp - 1)), 255 * (1 - ramp)], axis=1)
        return FrameSource(kind, geometry, seed, mean, 0.0, {"fan": fan, "colour_bar": bar})
    if kind.name == "XA":
        background, vessels = _xa_structure(shape, rng)
        return FrameSource(kind, geometry, seed, background, 3.0, {"vessels": vessels})
    raise ValueError(f"unknown kind {kind.name}")
