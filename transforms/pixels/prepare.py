"""8-bit grey copies of a frame for text detection and OCR only; never written back.

Burned-in text is drawn to be read on a display, so it is sought in what a display shows: the modality
rescale, then the file's window (or VOI LUT, or a robust percentile window when there is none), then
MONOCHROME1 inverted so text polarity is as a viewer sees it. Colour frames give a luminance view and
a chroma view (max minus min channel), because ultrasound annotations are often coloured text over
grey anatomy: in chroma they are the only bright thing.

A display window can hide text: grey text at 120 HU under a W400/L40 window keeps only a few pixels of
each anti-aliased glyph, and text written at the stored range's far end is clipped with whatever
surrounds it. So grey frames also give a stored-range view (the frame's robust 0.5-99.5 percentile
range, no window), and `local_contrast_view` equalises contrast locally (CLAHE of that view)
for the learned detector, which then sees faint text over bright anatomy as well as bold text.
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

    name: str               # "display" | "stored_range" | "luminance" | "chroma" | "local_contrast"
    image: np.ndarray       # uint8, (rows, columns)
    bright_text_only: bool  # chroma: text is always bright there, no need to look for dark text


def display_grey(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None,
                 use_window: bool = True) -> np.ndarray:
    """The frame as a viewer would show it, in 8 bits (luminance for colour)."""
    if is_colour(frame, info):
        return _luminance(to_rgb(frame, info, header))
    values = _rescaled(frame, info)
    return _shown(values, _window(values, info, header, use_window), info)


def grey_views(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None) -> list[GreyView]:
    """The views text detection looks at. The first is what OCR reads (display or luminance); grey
    frames add the stored-range view when a window or LUT narrows the display, colour frames chroma."""
    if is_colour(frame, info):
        rgb = to_rgb(frame, info, header)
        return [GreyView("luminance", _luminance(rgb), False), GreyView("chroma", _chroma(rgb), True)]
    values = _rescaled(frame, info)
    window = _window(values, info, header, True)
    views = [GreyView("display", _shown(values, window, info), False)]
    stored_range = _window(values, info, header, False)
    if stored_range != window:
        views.append(GreyView("stored_range", _shown(values, stored_range, info), False))
    return views


def local_contrast_view(frame: np.ndarray, info: PixelInfo, header: Dataset | None = None,
                        clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE of the stored-range view (luminance for colour), text as displayed (MONOCHROME1 inverted).
    Equalising each tile's histogram lifts text whose contrast is small next to the frame's range,
    wherever it lies in that range, without choosing a window. (Measured: as good for detection as
    CLAHE of the full 16-bit range, which costs ~50 ms per 512x512 frame in OpenCV's 65536-bin
    histograms, against ~1 ms.)"""
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    if is_colour(frame, info):
        return clahe.apply(_luminance(to_rgb(frame, info, header)))
    values = _rescaled(frame, info)
    return clahe.apply(_shown(values, _window(values, info, header, False), info))


def is_colour(frame: np.ndarray, info: PixelInfo) -> bool:
    """Colour samples or a palette: views are made from RGB."""
    return frame.ndim == 3 or info.decoded_photometric() == "PALETTE COLOR"


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


def _rescaled(frame: np.ndarray, info: PixelInfo) -> np.ndarray:
    return frame.astype(np.float32) * np.float32(info.rescale_slope) + np.float32(info.rescale_intercept)


def _shown(values: np.ndarray, window: tuple[float, float], info: PixelInfo) -> np.ndarray:
    grey = _scale(values, *window)
    return 255 - grey if info.decoded_photometric() == "MONOCHROME1" else grey


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
