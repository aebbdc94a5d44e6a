"""8-bit grey copies of a frame for text detection and OCR only; never written back.

Burned-in text is drawn to be read on a display, so it is sought in what a display shows: the modality
rescale, then the file's window (or VOI LUT, or a robust percentile window when there is none), then
MONOCHROME1 inverted so text polarity is as a viewer sees it. Colour frames give a luminance view and
a chroma view (max minus min channel), because ultrasound annotations are often coloured text over
grey anatomy: in chroma they are the only bright thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pydicom.dataset import Dataset

from transforms.pixels.frames import PixelInfo

PERCENTILE_WINDOW = (0.5, 99.5)
# Luminance weights of ITU-R BT.601, as used by DICOM's YBR_FULL.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class GreyView:
    """One 8-bit view of a frame; `name` says how it was made (recorded with OCR results)."""

    name: str               # "display" | "luminance" | "chroma" | "stored_minmax"
    image: np.ndarray       # uint8, (rows, columns)
    bright_text_only: bool  # chroma: text is always bright there, no need to look for dark text


def display_grey(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None,
                 use_window: bool = True) -> np.ndarray:
    """The frame as a viewer would show it, in 8 bits (luminance for colour)."""
    photometric = info.decoded_photometric()
    if frame.ndim == 3 or photometric == "PALETTE COLOR":
        return _luminance(to_rgb(frame, info, header))
    values = frame.astype(np.float32) * np.float32(info.rescale_slope) + np.float32(info.rescale_intercept)
    low, high = _window(values, info, header, use_window)
    grey = _scale(values, low, high)
    return 255 - grey if photometric == "MONOCHROME1" else grey


def grey_views(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None) -> list[GreyView]:
    """The views text detection looks at: one for grey frames, luminance and chroma for colour."""
    if frame.ndim == 3 or info.decoded_photometric() == "PALETTE COLOR":
        rgb = to_rgb(frame, info, header)
        return [GreyView("luminance", _luminance(rgb), False), GreyView("chroma", _chroma(rgb), True)]
    return [GreyView("display", display_grey(frame, info, header), False)]


def to_rgb(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None) -> np.ndarray:
    """8-bit RGB of a colour or palette frame (YBR converted, deeper samples scaled)."""
    photometric = info.decoded_photometric()
    if photometric == "PALETTE COLOR":
        return _palette_rgb(frame, header)
    rgb = frame
    if photometric.startswith("YBR"):
        from pydicom.pixels import convert_color_space

        rgb = convert_color_space(frame, "YBR_FULL", "RGB") if frame.dtype == np.uint8 \
            else _ybr_full_to_rgb(frame, info.bits_stored)
    if rgb.dtype != np.uint8:
        rgb = _scale(rgb.astype(np.float32), 0.0, float((1 << info.bits_stored) - 1))
    return rgb


def upscale_for_ocr(crop: np.ndarray, text_height: int, target_height: int = 36,
                    max_factor: float = 4.0) -> tuple[np.ndarray, float]:
    """Enlarge small text to the size Tesseract reads best (capital height around 30 px)."""
    factor = float(np.clip(target_height / max(text_height, 1), 1.0, max_factor))
    if factor == 1.0:
        return crop, 1.0
    size = (round(crop.shape[1] * factor), round(crop.shape[0] * factor))
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC), factor


def dark_text_on_light(crop: np.ndarray) -> np.ndarray:
    """Tesseract expects dark text on a light page: invert when the background (the median, since
    text covers less than half a line crop) is dark."""
    return 255 - crop if np.median(crop) < 128 else crop


def _window(values: np.ndarray, info: PixelInfo, header: Dataset | None,
            use_window: bool) -> tuple[float, float]:
    if use_window and info.window_center is not None and info.window_width and info.window_width > 1:
        half = info.window_width / 2.0
        return info.window_center - half, info.window_center + half
    if use_window and header is not None and "VOILUTSequence" in header:
        # The LUT's useful input range: values it maps, which is the window the modality intended.
        try:
            descriptor = header.VOILUTSequence[0].LUTDescriptor
            first = float(descriptor[1])
            return first, first + float(descriptor[0] or 65536) - 1
        except (AttributeError, IndexError, TypeError, ValueError):
            pass
    low, high = np.percentile(values, PERCENTILE_WINDOW)
    if high <= low:
        low, high = float(values.min()), float(values.max())
    return float(low), float(high)


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) @ LUMA, 0, 255).astype(np.uint8)


def _chroma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.max(axis=2) - rgb.min(axis=2)).astype(np.uint8)


def _ybr_full_to_rgb(frame: np.ndarray, bits: int) -> np.ndarray:
    y, cb, cr = (frame[..., k].astype(np.float32) for k in range(3))
    mid = float(1 << (bits - 1))
    rgb = np.stack([y + 1.402 * (cr - mid),
                    y - 0.344136 * (cb - mid) - 0.714136 * (cr - mid),
                    y + 1.772 * (cb - mid)], axis=2)
    return np.clip(rgb, 0, (1 << bits) - 1)


def _palette_rgb(frame: np.ndarray, header: Dataset | None) -> np.ndarray:
    if header is None:
        return np.repeat(frame[..., None], 3, axis=2).astype(np.uint8)
    from pydicom.pixels import apply_color_lut

    rgb = apply_color_lut(frame, header)
    if rgb.dtype != np.uint8:
        rgb = (rgb.astype(np.float32) / max(float(rgb.max()), 1.0) * 255).astype(np.uint8)
    return rgb
