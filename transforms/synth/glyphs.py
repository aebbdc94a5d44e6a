"""Text as the realistic styles burn it: many font families, glyph heights from 4 px, smooth or bitmap
edges, blocky upscaled text, any angle, an optional dark or bright outline.

Real scanners, viewers and ultrasound consoles draw annotations in their own fonts: bitmap fonts with
no anti-aliasing, Courier-like monospace, narrow sans, bold. Text is rendered unrotated by Pillow and
then turned: exactly (`np.rot90`) for 90/180/270 degrees, with bicubic (smooth) or nearest (bitmap)
resampling for skews. The classic style keeps its own renderer (`burn.py`), untouched, so the checked-in
corpus does not move.

The families are those of three Debian packages the Makefile installs (fonts-dejavu-core,
fonts-liberation2, fonts-urw-base35); every one must be present, so that one seed gives one corpus on
every machine (a missing family raises `FontsMissing` naming the package).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from transforms.synth.burn import FontsMissing
from transforms.synth.fonts import FONT_PACKAGES, FONT_FILES

# Families with Cyrillic and Greek glyphs (the others are used for Latin text only).
WIDE_SCRIPT_FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono", "DejaVuSansMono-Bold", "DejaVuSerif",
                     "LiberationSans", "LiberationSans-Bold", "LiberationSerif", "LiberationMono")
LATIN_MAX_CODEPOINT = 0x024F
INK_ALPHA = 64                 # a pixel is the text's ink from a quarter coverage up (truth masks)
ORIENTATIONS = (0, 90, 180, 270)


def require_fonts() -> None:
    """Every realistic family must be installed: the corpus of a seed must not depend on the machine."""
    missing = sorted({FONT_PACKAGES[path.rsplit("/", 1)[0] + "/"] for path in FONT_FILES.values()
                      if not Path(path).exists()})
    if missing:
        raise FontsMissing("missing_font_packages:" + ",".join(missing))


def fonts_for(text: str) -> tuple[str, ...]:
    """The families that draw every character of `text`."""
    if all(ord(ch) <= LATIN_MAX_CODEPOINT for ch in text):
        return tuple(FONT_FILES)
    return WIDE_SCRIPT_FONTS


@lru_cache(maxsize=256)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_FILES[name], max(1, size))


@lru_cache(maxsize=None)
def cap_ratio(name: str) -> float:
    """Height of a capital H's ink per pixel of font size (turns a glyph height into a font size)."""
    left, top, right, bottom = _font(name, 200).getbbox("H", anchor="ls")
    return (bottom - top) / 200.0


def font_size_for(name: str, glyph_px: int) -> int:
    return max(3, round(glyph_px / cap_ratio(name)))


@dataclass(frozen=True)
class TextLook:
    """How one run of text is drawn (before any rotation)."""

    font: str
    glyph_px: int             # height of a capital letter's ink, in pixels
    antialias: bool = True    # False: a bitmap font's hard edges
    blocky: int = 1           # >1: drawn k times smaller and upscaled by nearest neighbour

    @property
    def font_px(self) -> int:
        return font_size_for(self.font, max(2, self.glyph_px // self.blocky)) * self.blocky


@dataclass(frozen=True)
class Run:
    """Unrotated rendered text: tight alpha, its top-left relative to the pen on the baseline, the advance."""

    alpha: np.ndarray         # uint8, 0 = no ink
    offset_x: int
    offset_y: int
    advance: int


@lru_cache(maxsize=8192)
def render_run(text: str, look: TextLook) -> Run:
    font = _font(look.font, look.font_px // look.blocky)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    pad = 2
    width, height = max(1, right - left + 2 * pad), max(1, bottom - top + 2 * pad)
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "L" if look.antialias else "1"
    origin = (pad - left, pad - top)
    draw.text(origin, text, fill=255, font=font, anchor="ls")
    alpha = np.asarray(image, np.uint8)
    k = look.blocky
    if k > 1:
        alpha = np.kron(alpha, np.ones((k, k), np.uint8))
    advance = int(round(font.getlength(text))) * k
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:
        return Run(np.zeros((0, 0), np.uint8), 0, 0, advance)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Run(alpha[y0:y1, x0:x1].copy(), int(x0 - origin[0] * k), int(y0 - origin[1] * k), advance)


def space_advance(look: TextLook) -> int:
    return max(1, render_run("n n", look).advance - render_run("nn", look).advance)


def rotate_alpha(alpha: np.ndarray, angle: float, smooth: bool) -> np.ndarray:
    """Turn an alpha mask counter-clockwise by `angle` degrees; exact for right angles."""
    turns = round(angle / 90.0)
    if abs(angle - 90.0 * turns) < 1e-6:
        return np.ascontiguousarray(np.rot90(alpha, turns % 4))
    image = Image.fromarray(alpha)
    turned = image.rotate(angle, resample=Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST,
                          expand=True, fillcolor=0)
    return np.asarray(turned, np.uint8)


def rotate_point(x: float, y: float, angle: float) -> tuple[float, float]:
    """A point of the text's own frame (x right, y down) turned counter-clockwise as seen on screen."""
    theta = np.deg2rad(angle)
    c, s = float(np.cos(theta)), float(np.sin(theta))
    return x * c + y * s, -x * s + y * c


def outline_of(alpha: np.ndarray, width: int) -> np.ndarray:
    """The halo some consoles draw around text for legibility: the ink grown by `width` px."""
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    padded = np.pad(alpha, width)
    return cv2.dilate(padded, kernel)


def tight(alpha: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """The alpha cropped to its ink and the crop's offset, or None when it holds no ink."""
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    return alpha[y0:y1, x0:x1], x0, y0
