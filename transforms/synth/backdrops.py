"""Display-space backgrounds (0 = black, 1 = white) for the realistic styles, built on the classic style's
anatomy (`anatomy.py`) and varied per file: field of view, flips, window, gamma, blur, noise level, an
inverted or bright surround. Structures are made at a working size of at most 768 px and scaled up, so a
3000 x 3000 radiograph costs about what a 768 one does; the noise is added at full size, so changed pixels
are measurable everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from transforms.synth import anatomy

WORK_MAX_PX = 768


def _work_shape(rows: int, columns: int) -> tuple[int, int]:
    scale = min(1.0, WORK_MAX_PX / max(rows, columns))
    return max(16, round(rows * scale)), max(16, round(columns * scale))


def _ct(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    hu = anatomy._ct_structure(shape, rng) - 1024.0
    center, width = [(40, 400), (-600, 1500), (400, 1800), (50, 350)][int(rng.integers(4))]
    display = np.clip((hu - (center - width / 2)) / width, 0.0, 1.0)
    display[hu < -2500] = 0.0
    return display


def _mr(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    img = anatomy._mr_structure(shape, rng)
    display = np.clip(img / (img.max() * rng.uniform(0.9, 1.3)), 0.0, 1.0)
    if rng.random() < 0.3:                                  # T2-like: fluid bright, fat dimmer
        display = np.where(display < 0.3, display * 0.6, 1.05 - display * 0.7)
    return np.clip(display, 0.0, 1.0)


def _radiograph(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    return anatomy._radiograph_brightness(shape, rng)


def _mammogram(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    img = anatomy._mg_structure(shape, rng)
    display = np.clip((img - 40.0) / 2700.0, 0.0, 1.0)
    return display[:, ::-1] if rng.random() < 0.5 else display


def _angio(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    background, vessels = anatomy._xa_structure(shape, rng)
    return np.clip(background * (1.0 - 0.55 * vessels) / 230.0, 0.0, 1.0)


def _body(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A generic cross-section: body outline, organs of random brightness, smooth texture."""
    y, x = anatomy._grid(shape)
    display = np.zeros(shape, np.float32)
    ry, rx = rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.9)
    body = anatomy._ellipse(y, x, 0.0, 0.0, ry, rx)
    display[body] = rng.uniform(0.3, 0.5)
    for _ in range(int(rng.integers(3, 8))):
        cy, cx = rng.uniform(-0.5, 0.5) * ry, rng.uniform(-0.6, 0.6) * rx
        organ = anatomy._ellipse(y, x, cy, cx, rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3)) & body
        display[organ] = rng.uniform(0.1, 0.95)
    display += 0.08 * anatomy.smooth_noise(rng, shape, 30) * body
    return np.clip(display, 0.0, 1.0)


MAKERS = {"CT": _ct, "MR": _mr, "CR": _radiograph, "DX": _radiograph, "MG": _mammogram, "XA": _angio,
          "BODY": _body}


@dataclass
class Backdrop:
    """A static display image plus per-frame noise (and, for angiography, contrast that comes and goes)."""

    base: np.ndarray
    noise: float
    seed: int
    vessels: np.ndarray | None = None

    def frame(self, index: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, index, 0xBD])
        image = self.base
        if self.vessels is not None:
            image = image * (1.0 - 0.5 * np.sin(np.pi * (index + 0.5) / 8.0) ** 2 * self.vessels)
        return (image + rng.normal(0.0, self.noise, image.shape)).astype(np.float32)


def make_backdrop(anatomy_kind: str, rows: int, columns: int, seed: int, noise_levels: int = 256) -> Backdrop:
    """`noise_levels`: the stored resolution; the noise is 0.2-1.2% of the display range, and never below
    most of one stored step (so changed pixels are measurable anywhere but in clipped air)."""
    rng = np.random.default_rng([seed, 0xBACD])
    work = _work_shape(rows, columns)
    zoom = rng.uniform(1.0, 1.35)                      # field of view: part of the body may be cut off
    big = (round(work[0] * zoom), round(work[1] * zoom))
    base = MAKERS[anatomy_kind](big, rng).astype(np.float32)
    top = int(rng.integers(0, big[0] - work[0] + 1))
    left = int(rng.integers(0, big[1] - work[1] + 1))
    base = base[top:top + work[0], left:left + work[1]]
    if rng.random() < 0.5:
        base = base[:, ::-1]
    gamma = rng.uniform(0.75, 1.35)
    base = np.power(np.clip(base, 0.0, 1.0), gamma)
    if rng.random() < 0.15:                             # a bright surround (inverted display, a light box)
        base = np.where(base < 0.03, rng.uniform(0.75, 1.0), base)
    base = cv2.resize(np.ascontiguousarray(base), (columns, rows), interpolation=cv2.INTER_LINEAR)
    vessels = None
    if anatomy_kind == "XA":
        _, vessel_map = anatomy._xa_structure(work, np.random.default_rng([seed, 0xA5]))
        vessels = cv2.resize(vessel_map, (columns, rows), interpolation=cv2.INTER_LINEAR)
    noise = max(rng.uniform(0.002, 0.012), 0.7 / max(2, noise_levels - 1))    # at least most of a stored step
    return Backdrop(np.clip(base, 0.0, 1.0), noise, seed, vessels)

