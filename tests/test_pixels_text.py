"""Text detection and OCR with real Tesseract: real burned-in PHI (Presidio's samples), a real ultrasound
cine, and text rendered here in several fonts, sizes (8-40 px), polarities and places over noise.

Assertions compare counts and keyed hashes only: OCR text is identified data and must not appear in
test output."""

from __future__ import annotations

import json
import random
import string

import numpy as np
import pydicom.uid as uid
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file
from rapidfuzz import fuzz

from tests.conftest import PRESIDIO_SAMPLES
from transforms.keyring import Keyring
from transforms.pixels.analyze import find_text, regions_to_redact
from transforms.pixels.detect import detect_text_regions
from transforms.pixels.frames import FrameReader, PixelInfo
from transforms.pixels.ocr import OcrCache, OcrSettings, full_frame_ocr, ocr_regions, text_hashes
from transforms.pixels.prepare import grey_views
from transforms.pixels.redact import redact_regions
from transforms.text_types import Box
from transforms.synth.fonts import FONT_FILES

PRESIDIO = f"{PRESIDIO_SAMPLES}/"
GROUND_TRUTH_PAD = 25      # Presidio's ground-truth boxes are in an image padded by 25 px on each side
FONTS = [FONT_FILES[name] for name in ("DejaVuSans", "LiberationSerif", "DejaVuSansMono-Bold", "LiberationSans-Bold")]


def overlaps(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


def coverage(regions, box: Box, shape) -> float:
    mask = np.zeros(shape, dtype=bool)
    for r in regions:
        mask[r.top:r.bottom, r.left:r.right] = True
    return float(mask[box.top:box.bottom, box.left:box.right].mean())


def presidio_truth(file_name: str, truth_key: str) -> tuple[str, list[tuple[str, Box]]]:
    truth = json.load(open(PRESIDIO + "ground_truth.json"))[f"sample_data/{truth_key}"]
    return PRESIDIO + file_name, [(t["label"], Box(t["left"] - GROUND_TRUTH_PAD, t["top"] - GROUND_TRUTH_PAD,
                                                   t["width"], t["height"])) for t in truth]


@pytest.fixture(scope="module", params=[("0_ORIGINAL_compressed.dcm", "0_ORIGINAL.dcm"),
                                        ("2_ORIGINAL.dcm", "2_ORIGINAL.dcm")], ids=["CR-MONO1-RLE", "CT-signed"])
def presidio_case(request):
    path, truth = presidio_truth(*request.param)
    with FrameReader(path) as reader:
        frame = reader.decode_frame(0)
        found = find_text([(0, frame)], reader.info, reader.header, OcrCache())[0]
        return reader.info, reader.header, frame, truth, found


def test_every_real_phi_box_is_detected(presidio_case):
    _, _, frame, truth, found = presidio_case
    missed = sum(1 for _, box in truth if coverage(found.regions, box, frame.shape) < 0.9)
    boxes = len(truth)
    assert missed == 0, f"{missed} of {boxes} PHI boxes not covered"


def words_read(truth, lines) -> int:
    """How many truth labels some overlapping OCR word matches (fuzzy ratio >= 80); a count only, so a
    failing assertion never prints the labels (PHI)."""
    words = [w for line in lines for w in line.words]
    return sum(1 for label, box in truth
               if max([fuzz.ratio(label, w.text) for w in words if overlaps(w.box, box)] or [0]) >= 80)


def test_real_phi_words_are_read(presidio_case):
    _, _, _, truth, found = presidio_case
    read, boxes = words_read(truth, found.lines), len(truth)
    assert read >= boxes - 1, f"{read} of {boxes} PHI words read"


def test_redacted_real_frame_shows_no_text_where_the_phi_was(presidio_case):
    info, header, frame, truth, found = presidio_case
    redacted = redact_regions(frame, regions_to_redact(found), info, header=header)
    again = detect_text_regions(grey_views(redacted, info, header))
    still = sum(1 for _, box in truth for b in again if overlaps(b, box))
    assert still == 0


def test_an_independent_pass_reads_the_same_phi(presidio_case):
    """The leakage gate's kind of pass: other page segmentation and preparation, same API."""
    _, header, frame, truth, found = presidio_case
    info = presidio_case[0]
    grey = grey_views(frame, info, header)[0].image
    lines = ocr_regions(grey, found.regions, OcrSettings(psm=11, binarize=False, target_height=44))
    read, boxes = words_read(truth, lines), len(truth)
    assert read >= boxes - 1, f"{read} of {boxes} PHI words read"


def render_page(font_path: str, bright: bool, seed: int):
    """Random words of 8-40 px over a noisy, shaded background, in corners, at edges and centre."""
    rng, chooser = np.random.default_rng(seed), random.Random(seed)
    size = 640
    yy, xx = np.mgrid[0:size, 0:size]
    background = (90 if bright else 165) + 30 * np.sin(xx / 90.0) * np.cos(yy / 70.0)
    page = Image.fromarray(np.clip(background + rng.normal(0, 12, (size, size)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(page)
    truth = []
    places = [("left", "top"), ("right", "top"), ("left", "bottom"), ("right", "bottom"),
              ("centre", "centre"), ("centre", "top")]
    for (horizontal, vertical), height in zip(places, [8, 12, 18, 26, 40, 10]):
        word = "".join(chooser.choice(string.ascii_uppercase) for _ in range(4)) + " " + \
            "".join(chooser.choice(string.digits) for _ in range(4))
        font = ImageFont.truetype(font_path, round(height / 0.72))     # capital height ~ 0.72 em
        left, top, right, bottom = draw.textbbox((0, 0), word, font=font)
        width, tall = right - left, bottom - top
        x = {"left": 4, "right": size - width - 4, "centre": (size - width) // 2}[horizontal]
        y = {"top": 4, "bottom": size - tall - 4, "centre": (size - tall) // 2}[vertical]
        draw.text((x - left, y - top), word, font=font, fill=235 if bright else 25)
        truth.append((word, Box(x, y, width, tall)))
    return np.asarray(page), truth


@pytest.mark.parametrize("font_path", FONTS, ids=lambda p: p.rsplit("/", 1)[-1])
@pytest.mark.parametrize("bright", [True, False], ids=["light-text", "dark-text"])
def test_rendered_text_is_found_and_read(font_path, bright):
    page, truth = render_page(font_path, bright, seed=FONTS.index(font_path) * 2 + bright)
    info = PixelInfo(640, 640, 1, 1, 8, 8, 0, "MONOCHROME2", 0, uid.ExplicitVRLittleEndian)
    found = find_text([(0, page)], info, None, OcrCache())[0]
    uncovered = sum(1 for _, box in truth if coverage(found.regions, box, page.shape) < 0.98)
    assert uncovered == 0
    words = [w for line in found.lines for w in line.words]
    scores = [fuzz.ratio(text, " ".join(w.text for w in words if overlaps(w.box, box))) for text, box in truth]
    assert sum(score >= 80 for score in scores) >= len(truth) - 1, f"scores {sorted(scores)}"


def test_colour_text_on_grey_is_found():
    with FrameReader(get_testdata_file("GDCMJ2K_TextGBR.dcm")) as reader:   # red, green, blue words
        frame = reader.decode_frame(0)
        found = find_text([(0, frame)], reader.info, reader.header, OcrCache())[0]
    assert len(found.regions) == 3
    assert sum(1 for line in found.lines if line.words) >= 2


def test_cine_overlay_is_recognised_once_for_all_frames():
    cache = OcrCache()
    with FrameReader(get_testdata_file("examples_ybr_color.dcm")) as reader:
        frames = [(k, reader.decode_frame(k)) for k in range(reader.frame_count)]
        found = find_text(frames, reader.info, reader.header, cache)
    assert len(found) == 30 and all(f.regions for f in found)
    assert cache.hits > 3 * cache.misses
    # In process: each new crop read once, a weak one at most 6 times (the retry cascade over 2 views).
    assert cache.tesseract_calls <= 6 * cache.misses
    first = {line.region: line.text for line in found[0].lines}
    last = {line.region: line.text for line in found[29].lines}
    shared = set(first) & set(last)
    assert shared and all(first[r] == last[r] for r in shared)


def test_single_line_mode_reads_one_crop_per_call():
    path, truth = presidio_truth("0_ORIGINAL_compressed.dcm", "0_ORIGINAL.dcm")
    with FrameReader(path) as reader:
        frame = reader.decode_frame(0)
        grey = grey_views(frame, reader.info, reader.header)[0].image
    first_line = Box(0, 0, 830, 52)
    cache = OcrCache()
    lines = ocr_regions(grey, [first_line], OcrSettings(psm=7), cache)
    assert cache.tesseract_calls >= 1 and len(lines[0].words) >= 4


def test_full_frame_baseline_returns_word_boxes():
    path, truth = presidio_truth("2_ORIGINAL.dcm", "2_ORIGINAL.dcm")
    with FrameReader(path) as reader:
        grey = grey_views(reader.decode_frame(0), reader.info, reader.header)[0].image
    words = [w for line in full_frame_ocr(grey) for w in line.words]
    assert sum(1 for _, box in truth if any(overlaps(w.box, box) for w in words)) >= 3


def test_silver_gets_keyed_hashes_never_text(monkeypatch):
    monkeypatch.setenv("DEIDLAKE_MODE", "test")
    keyring = Keyring.from_env()
    path, _ = presidio_truth("2_ORIGINAL.dcm", "2_ORIGINAL.dcm")
    with FrameReader(path) as reader:
        found = find_text([(0, reader.decode_frame(0))], reader.info, reader.header, OcrCache())[0]
    lines = [line for line in found.lines if line.words][:2]
    hashes = text_hashes(lines, keyring)
    assert all(len(h) == 64 and all(w.text not in h for line in lines for w in line.words) for h in hashes)
    assert hashes == text_hashes(lines, keyring)
