"""How much of a text's ink a tool changed: the figure issue 22 measures redaction by (a PHI value box is
wiped when at least half of its ink changed; a label is kept when almost none of its ink did).

The ink is the truth's own mask (schema 2), or for the classic corpus the glyphs rebuilt from the font,
size and text the truth names (the generator's renderer, deterministic), or at worst the whole box.

A pixel of ink counts as wiped when its value changed, or when its contrast is gone: dark text painted
over in black does not change its own pixels, but the background around them (the box's pixels the
glyphs cover by less than a quarter) becomes the ink's value (its most inked pixels'), and the text can no
longer be read. For lossy outputs "changed" means beyond the codec's error
(`lossy_tolerance`) and by at least a third of the pixel's own contrast with the background (the codec's
error is largest on sharp glyph edges: an untouched label in a re-encoded JPEG is not "changed"), and the
box's outer ring of pixels is left out (the codec smears a fill's edge over it).
"""

from __future__ import annotations

import cv2
import numpy as np

from transforms.synth.burn import CLASSIC_FONTS, render_glyphs
from transforms.synth.glyphs import INK_ALPHA
from transforms.synth.truth import TextTruth

VALUE_WIPED_SHARE = 0.50          # issue 22: a PHI value box is wiped when >= 50% of its ink changed
VALUE_FULLY_WIPED_SHARE = 0.95    # "to its last glyph": no visible tail
LABEL_KEPT_MAX_SHARE = 0.10       # a label (or other non-PHI text) is kept when <= 10% of its ink changed
LOSSY_CONTRAST_SHARE = 0.35       # lossy outputs: a change counts from a third of the ink's contrast up
LOCAL_WINDOW_PX = 7               # neighbourhood in which an ink pixel's background is judged


def ink_mask(text: TextTruth, before_box: np.ndarray | None = None) -> np.ndarray:
    """The box's ink as a bool mask of the box's shape."""
    shape = (text.box.height, text.box.width)
    if text.ink_mask is not None and text.ink_mask.shape == shape:
        return text.ink_mask
    if text.overlay_group is not None and before_box is not None:
        return before_box.astype(bool)                   # an overlay plane's bitmap is its own ink
    if text.font in CLASSIC_FONTS and text.size_px:
        alpha = render_glyphs(text.text, text.font, text.size_px).alpha
        if alpha.shape == shape:
            return alpha >= INK_ALPHA
    return np.ones(shape, bool)


def _difference(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    diff = np.abs(after.astype(np.float64) - before.astype(np.float64))
    return diff.max(axis=-1) if diff.ndim == 3 else diff


def _ink_level(before: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The value of the most inked pixels: the mask's extreme away from the background (small text has
    many partly covered pixels, so the mask's median lies between ink and background)."""
    inked = before[mask].astype(np.float64)
    grey = inked.mean(axis=-1) if inked.ndim == 2 else inked
    around = before[background].astype(np.float64) if background.any() else inked
    around_grey = float(np.median(around.mean(axis=-1) if around.ndim == 2 else around))
    cut = np.percentile(grey, 20 if float(np.median(grey)) < around_grey else 80)
    extreme = grey <= cut if float(np.median(grey)) < around_grey else grey >= cut
    return np.median(inked[extreme], axis=0)


def ink_changed_share(before: np.ndarray, after: np.ndarray, mask: np.ndarray, tolerance: float = 0.0,
                      lossy: bool = False) -> float:
    """Share of the ink pixels (mask) wiped in `after`: changed, or left without contrast."""
    if before.size == 0 or not mask.any():
        return 0.0
    diff = _difference(before, after)
    background = ~mask
    ink_level = _ink_level(before, mask, background)
    background_level = np.median(before[background], axis=0) if background.any() else ink_level
    contrast = float(np.max(np.abs(background_level - ink_level)))
    threshold = max(tolerance, LOSSY_CONTRAST_SHARE * contrast) if lossy else tolerance
    if lossy:       # each pixel against its own contrast: a faint edge pixel changes less than a stroke's core
        own = _difference(before, np.broadcast_to(background_level, before.shape))
        changed = diff > np.maximum(tolerance, LOSSY_CONTRAST_SHARE * own)
    else:
        changed = diff > threshold
    near_ink = _difference(after, np.broadcast_to(ink_level, after.shape)) <= max(threshold, 0.25 * contrast)
    lost = background & changed & near_ink
    if lost.any():
        size = (LOCAL_WINDOW_PX, LOCAL_WINDOW_PX)
        lost_around = cv2.boxFilter(lost.astype(np.float32), -1, size, normalize=False)
        around = cv2.boxFilter(background.astype(np.float32), -1, size, normalize=False)
        box_share_lost = lost.sum() / max(1, background.sum())
        # an ink pixel with no background within the window (inside a thick stroke) follows the box
        contrast_gone = np.where(around > 0, lost_around >= 0.5 * np.maximum(around, 1.0), box_share_lost >= 0.5)
    else:
        contrast_gone = np.zeros_like(mask)
    wiped = mask & (changed | contrast_gone)
    counted = mask
    rows, columns = mask.shape
    if lossy and rows > 4 and columns > 4:
        # the codec smears a fill's edge over the box's outer pixels (as coverage, the ring is left out)
        inner = np.zeros_like(mask)
        inner[1:-1, 1:-1] = True
        counted = mask & inner if (mask & inner).any() else mask
    return float((wiped & counted).sum() / counted.sum())


def is_wiped(share: float) -> bool:
    return share >= VALUE_WIPED_SHARE


def is_fully_wiped(share: float) -> bool:
    return share >= VALUE_FULLY_WIPED_SHARE


def is_kept(share: float) -> bool:
    return share <= LABEL_KEPT_MAX_SHARE
