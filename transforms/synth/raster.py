"""Pixel formats of the realistic styles, and the way from a displayed picture to stored values.

The realistic styles draw every frame as display brightness (0 = black, 1 = white; RGB for colour) and
convert it once, at the end, to what the file stores: 8-bit, 16-bit, 16-bit holding only 0-255 (as many
converters write), signed, MONOCHROME1 (inverted), RGB, or PALETTE COLOR (indices into a lookup table).
Text ink is chosen on the display scale against the background it lands on, so polarity follows the
picture (dark text over a bright collimator or a white screenshot, bright text over air), as on real
images, and the truth records the stored ink value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Colour = float | tuple[float, float, float]

GREY_LEVELS = 192                   # palette entries 0..191 are a grey ramp, the rest colours
PALETTE_COLOURS: tuple[tuple[float, float, float], ...] = (
    # text inks of consoles
    (1.0, 1.0, 1.0), (1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (0.5, 1.0, 0.5), (1.0, 0.6, 0.0), (0.0, 0.0, 0.0),
    (0.75, 0.75, 0.75),
) + tuple((0.35 + 0.65 * k / 27, 0.55 * k / 27, 0.0) for k in range(28)) \
  + tuple((0.0, 0.45 * k / 27, 0.35 + 0.65 * k / 27) for k in range(28))     # Doppler: red-yellow, blue-cyan


@dataclass(frozen=True)
class Palette:
    """PALETTE COLOR lookup: a grey ramp and a few colours, 16-bit entries."""

    colours: tuple[tuple[float, float, float], ...] = PALETTE_COLOURS

    @property
    def size(self) -> int:
        return GREY_LEVELS + len(self.colours)

    def lut(self) -> np.ndarray:
        """(size, 3) uint16: the red, green and blue tables."""
        grey = np.linspace(0.0, 1.0, GREY_LEVELS)[:, None].repeat(3, axis=1)
        table = np.concatenate([grey, np.asarray(self.colours, np.float64)])
        return np.round(table * 65535).astype(np.uint16)

    def index(self, display: np.ndarray) -> np.ndarray:
        """RGB display values to indices: greys to the ramp, colours to the nearest colour entry."""
        grey = display.mean(axis=-1)
        indices = np.round(np.clip(grey, 0, 1) * (GREY_LEVELS - 1)).astype(np.uint8)
        chroma = display.max(axis=-1) - display.min(axis=-1)
        coloured = chroma > 0.04
        if coloured.any():
            table = np.asarray(self.colours, np.float32)
            values = display[coloured].astype(np.float32)
            distance = ((values[:, None, :] - table[None, :, :]) ** 2).sum(axis=-1)
            indices[coloured] = (GREY_LEVELS + distance.argmin(axis=1)).astype(np.uint8)
        return indices


@dataclass(frozen=True)
class PixelFormat:
    """How display brightness becomes stored values. `low`/`high` are the stored values of black and
    white (MONOCHROME1 swaps them on display); `window` is what the header states (output units)."""

    photometric: str
    bits_allocated: int
    bits_stored: int
    signed: bool = False
    low: int = 0
    high: int = 255
    rescale_intercept: float | None = None
    window: tuple[float, float] | None = None
    palette: Palette | None = field(default=None)

    @property
    def samples(self) -> int:
        return 3 if self.photometric == "RGB" else 1

    @property
    def colour(self) -> bool:
        """Frames are drawn in RGB (RGB and palette files)."""
        return self.photometric in ("RGB", "PALETTE COLOR")

    @property
    def dtype(self) -> type:
        if self.bits_allocated == 8:
            return np.uint8
        return np.int16 if self.signed else np.uint16

    @property
    def stored_range(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.bits_stored - 1)), (1 << (self.bits_stored - 1)) - 1
        return 0, (1 << self.bits_stored) - 1

    def to_stored(self, display: np.ndarray) -> np.ndarray:
        """Display brightness (rows, columns[, 3]) to the stored frame."""
        if self.photometric == "PALETTE COLOR":
            return self.palette.index(np.clip(display, 0.0, 1.0))
        if self.photometric == "RGB":
            return np.clip(np.rint(display * 255.0), 0, 255).astype(np.uint8)
        shown = 1.0 - display if self.photometric == "MONOCHROME1" else display
        low, high = self.stored_range
        values = np.rint(self.low + shown.astype(np.float64) * (self.high - self.low))
        return np.clip(values, low, high).astype(self.dtype)

    def ink_value(self, colour: Colour) -> float | int | list[int]:
        """The stored value of an ink (what the truth records)."""
        if self.colour:
            rgb = np.asarray(colour if isinstance(colour, tuple) else (colour,) * 3, np.float64)
            stored = self.to_stored(rgb[None, None, :])[0, 0]
            return int(stored) if self.photometric == "PALETTE COLOR" else [int(v) for v in stored]
        return int(self.to_stored(np.asarray([[float(colour)]]))[0, 0])


def luminance(colour: Colour) -> float:
    if isinstance(colour, tuple):
        r, g, b = colour
        return 0.299 * r + 0.587 * g + 0.114 * b
    return float(colour)


BRIGHT_INKS: tuple[Colour, ...] = (1.0, 1.0, 1.0, 0.92, 0.85, 0.78)
DARK_INKS: tuple[Colour, ...] = (0.0, 0.0, 0.08, 0.15)
BRIGHT_COLOUR_INKS: tuple[Colour, ...] = ((1.0, 1.0, 1.0), (1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (0.5, 1.0, 0.5),
                                          (1.0, 0.6, 0.0), (0.75, 0.75, 0.75))
DARK_COLOUR_INKS: tuple[Colour, ...] = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.6, 0.0, 0.0))
MIN_CONTRAST = 0.35


def choose_ink(rng, dark: float, bright: float, colour: bool, palette: bool = False) -> Colour | None:
    """An ink that stands out by at least MIN_CONTRAST from every background it lands on (`dark` and
    `bright`: the 10th and 90th percentiles of the brightness under the text), bright over dark and dark
    over bright, in a grey or a console colour; None when no ink does (the caller adds a plate)."""
    if palette:
        options = PALETTE_COLOURS[:6]
    elif colour:
        options = BRIGHT_COLOUR_INKS + DARK_COLOUR_INKS
    else:
        options = BRIGHT_INKS + DARK_INKS
    candidates = [c for c in options if _worst_contrast(luminance(c), dark, bright) >= MIN_CONTRAST]
    if not candidates:
        return None
    return candidates[rng.randrange(len(candidates))]


def _worst_contrast(ink: float, dark: float, bright: float) -> float:
    if dark <= ink <= bright:
        return 0.0
    return min(abs(ink - dark), abs(ink - bright))


def halo_for(ink: Colour, colour: bool) -> Colour:
    """The outline colour: the opposite extreme of the ink."""
    value = 0.0 if luminance(ink) >= 0.5 else 1.0
    return (value,) * 3 if colour else value
