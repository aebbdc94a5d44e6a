"""The scorer's independent OCR pass: does Tesseract still read the truth text in a box?

Each box is cut from the output frame with a margin, scaled to 8 bits on its own range, upscaled so
the text is about 32 px high, and read as one line (--psm 7) in up to three views: bright strokes,
dark strokes (both polarities), then the plain stretched crop. A box not read in one view is tried
in the next. One Tesseract process reads all boxes of a view. A box "still reads" when the OCR
text holds the truth text within a bounded edit distance (see `text_still_read`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytesseract
from rapidfuzz.distance import Levenshtein

TARGET_TEXT_PX = 32
MAX_UPSCALE = 6.0
VIEWS = ("tophat", "blackhat", "global")
TIMEOUT_S = 600
MAX_EDIT_SHARE = 0.25            # edits allowed per truth character
EXACT_BELOW_CHARS = 4            # shorter texts must be read exactly


@dataclass(frozen=True)
class OcrRequest:
    key: int
    crop: np.ndarray             # the output frame around the box (identified pixels, memory only)
    text: str                    # truth text (identified, memory only)
    text_height: int


def ocr_available() -> bool:
    return shutil.which(pytesseract.pytesseract.tesseract_cmd) is not None


def fold(text: str) -> str:
    """Letters and digits only, accents removed, upper case: what OCR can be compared on."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)).upper()


def text_still_read(truth: str, ocr_text: str) -> bool:
    """The truth text is in the OCR text, up to MAX_EDIT_SHARE edits per character."""
    wanted, seen = fold(truth), fold(ocr_text)
    if not wanted or not seen:
        return False
    if len(wanted) < EXACT_BELOW_CHARS:
        return wanted in seen
    budget = int(len(wanted) * MAX_EDIT_SHARE)
    if len(seen) <= len(wanted):
        return Levenshtein.distance(wanted, seen, score_cutoff=budget) <= budget
    for width in range(max(1, len(wanted) - budget), len(wanted) + budget + 1):
        for start in range(0, len(seen) - width + 1):
            if Levenshtein.distance(wanted, seen[start:start + width], score_cutoff=budget) <= budget:
                return True
    return False


def _to_grey8(crop: np.ndarray) -> np.ndarray | None:
    grey = crop.astype(np.float32)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114], np.float32)
    low, high = np.percentile(grey, [1.0, 99.0])
    if high - low < 1e-6:
        low, high = float(grey.min()), float(grey.max())
        if high - low < 1e-6:
            return None                                   # flat: nothing to read
    return np.clip((grey - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def prepare(request: OcrRequest, view: str) -> np.ndarray | None:
    """Dark text on a light background, text about TARGET_TEXT_PX high.

    'global' stretches the crop's range and puts the background light; 'tophat' / 'blackhat' keep
    only thin bright / dark strokes, for text that crosses a background edge (a collimator, the
    sector of an echo) where no single polarity fits the whole box."""
    grey = _to_grey8(request.crop)
    if grey is None:
        return None
    scale = float(np.clip(TARGET_TEXT_PX / max(1, request.text_height), 1.0, MAX_UPSCALE))
    if scale > 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if view == "global":
        if np.median(grey) < 128:
            grey = 255 - grey
    else:
        size = int(TARGET_TEXT_PX * 0.6) | 1
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
        operation = cv2.MORPH_TOPHAT if view == "tophat" else cv2.MORPH_BLACKHAT
        strokes = cv2.normalize(cv2.morphologyEx(grey, operation, kernel), None, 0, 255, cv2.NORM_MINMAX)
        grey = 255 - strokes
    return cv2.copyMakeBorder(grey, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=int(np.median(grey)))


def read_boxes(requests: list[OcrRequest]) -> dict[int, bool]:
    """key -> whether the OCR still reads the box's truth text in any of the views."""
    result = {r.key: False for r in requests}
    pending = list(requests)
    for view in VIEWS:
        if not pending:
            break
        texts = _tesseract_batch(pending, view)
        for request in pending:
            if text_still_read(request.text, texts.get(request.key, "")):
                result[request.key] = True
        pending = [r for r in pending if not result[r.key]]
    return result


def _tesseract_batch(requests: list[OcrRequest], view: str) -> dict[int, str]:
    """One Tesseract process for many images: it reads a list file and numbers pages in its TSV.

    Hand-written because pytesseract starts one process per image (about 10x slower here); the
    binary is the one pytesseract is configured with."""
    with tempfile.TemporaryDirectory(prefix="deidlake-ocr-") as tmp:
        keys = []
        for request in requests:
            image = prepare(request, view)
            if image is None:
                continue
            path = Path(tmp) / f"{len(keys):05d}.png"
            cv2.imwrite(str(path), image)
            keys.append(request.key)
        if not keys:
            return {}
        listing = Path(tmp) / "images.txt"
        listing.write_text("".join(f"{Path(tmp) / f'{i:05d}.png'}\n" for i in range(len(keys))))
        command = [pytesseract.pytesseract.tesseract_cmd, str(listing), "stdout", "--psm", "7", "tsv"]
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}          # one core: the machine is shared
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    words: dict[int, list[str]] = {}
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) < 12 or not fields[1].isdigit() or not fields[11].strip():
            continue
        words.setdefault(int(fields[1]), []).append(fields[11])
    return {key: " ".join(words.get(page + 1, [])) for page, key in enumerate(keys)}
