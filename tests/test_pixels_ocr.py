"""OCR of located lines with real Tesseract, in process (tesserocr) and as a process (pytesseract).

Only rendered, made-up strings are read here (no PHI), so assertions may compare text."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz import fuzz

from transforms.pixels import ocr as ocr_module
from transforms.pixels.ocr import OcrCache, OcrSettings, OcrUnavailableError, full_frame_ocr, ocr_regions, tessdata_path
from transforms.text_types import Box
from transforms.synth.fonts import FONT_FILES

SANS = FONT_FILES["DejaVuSans"]
LINES = ("ACCESSION 4471 PLANE", "WINDOW 400 LEVEL 40")


def two_close_lines(gap: int = 4) -> tuple[np.ndarray, list[Box]]:
    """Two rendered lines `gap` px apart on a dark page, and line regions that overlap each other
    (as detector boxes of closely set lines do)."""
    page = Image.new("L", (420, 90), 20)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(SANS, 18)
    boxes, top = [], 20
    for text in LINES:
        left, upper, right, lower = draw.textbbox((0, 0), text, font=font)
        draw.text((10 - left, top - upper), text, font=font, fill=230)
        boxes.append(Box(10, top, right - left, lower - upper))
        top += (lower - upper) + gap
    regions = [Box(b.left - 2, b.top - 4, b.width + 4, b.height + 8) for b in boxes]     # overlapping
    return np.asarray(page), regions


def read(lines) -> list[str]:
    return [line.text for line in lines]


@pytest.mark.parametrize("settings", [OcrSettings(), OcrSettings(engine="pytesseract", psm=6)],
                         ids=["tesserocr-psm7", "pytesseract-psm6"])
def test_each_line_is_read_alone_with_either_binding(settings):
    page, regions = two_close_lines()
    texts = read(ocr_regions(page, regions, settings, OcrCache()))
    assert [fuzz.ratio(text, expected) >= 90 for text, expected in zip(texts, LINES)] == [True, True]


def test_in_process_reading_is_one_call_per_new_crop_and_cached():
    page, regions = two_close_lines()
    cache = OcrCache()
    first = read(ocr_regions(page, regions, OcrSettings(), cache))
    calls = cache.tesseract_calls
    again = read(ocr_regions(page.copy(), regions, OcrSettings(), cache))
    assert 2 <= calls <= 4 and cache.tesseract_calls == calls and again == first and cache.hits == 2


def test_threads_each_get_their_own_tesseract():
    page, regions = two_close_lines()
    expected = read(ocr_regions(page, regions, OcrSettings(), OcrCache()))
    results: list[list[str]] = []

    def worker() -> None:
        results.append(read(ocr_regions(page, regions, OcrSettings(), OcrCache())))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 3


def test_full_frame_baseline_reads_with_both_bindings():
    page, _ = two_close_lines(gap=12)
    for engine in ("tesserocr", "pytesseract"):
        words = " ".join(w.text for line in full_frame_ocr(page, engine=engine) for w in line.words)
        assert fuzz.partial_ratio(LINES[0], words) >= 80, engine


def test_missing_models_raise_a_typed_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(ocr_module, "TESSDATA_FOLDERS", (str(tmp_path / "none"),))
    with pytest.raises(OcrUnavailableError) as raised:
        tessdata_path()
    assert raised.value.reason == "tessdata_not_found" and str(tmp_path) not in str(raised.value)


def grey_text_over_dark_and_bright(text: str = "MEASURED 1934 WIDTH 76") -> tuple[np.ndarray, Box]:
    """Mid-grey small text whose background turns from black to bright bone halfway along the line:
    brighter than its ground on the left, darker on the right (no single polarity or threshold fits)."""
    page = Image.new("L", (360, 40), 0)
    draw = ImageDraw.Draw(page)
    draw.rectangle((150, 0, 360, 40), fill=210)
    font = ImageFont.truetype(SANS, 13)
    left, upper, right, lower = draw.textbbox((0, 0), text, font=font)
    draw.text((8 - left, 14 - upper), text, font=font, fill=105)
    return np.asarray(page), Box(6, 12, right - left + 4, lower - upper + 4)


def test_a_line_crossing_dark_and_bright_ground_is_read_whole():
    page, region = grey_text_over_dark_and_bright()
    [line] = ocr_regions(page, [region], OcrSettings(), OcrCache())
    assert fuzz.ratio(line.text, "MEASURED 1934 WIDTH 76") >= 85, f"read {line.text!r}"


def test_a_weak_reading_is_replaced_by_the_other_views_reading():
    """Text a display window clips to broken strokes: the stored-range view, passed as an alternate,
    is read when the first reading is weak."""
    page = Image.new("L", (300, 40), 30)
    draw = ImageDraw.Draw(page)
    draw.text((8, 10), "WINDOW 400 LEVEL 40", font=ImageFont.truetype(SANS, 14), fill=200)
    stored = np.asarray(page)
    clipped = np.where(stored > 190, 255, 0).astype(np.uint8)        # a narrow window keeps glyph cores
    region = Box(4, 6, 200, 26)
    alone = ocr_regions(clipped, [region], OcrSettings(), OcrCache())[0]
    with_alternate = ocr_module.ocr_frames([(clipped, [region])], OcrSettings(), OcrCache(),
                                           alternate_views=[[stored]])[0][0]
    assert fuzz.ratio(with_alternate.text, "WINDOW 400 LEVEL 40") >= 90, f"read {with_alternate.text!r}"
    assert fuzz.ratio(with_alternate.text, "WINDOW 400 LEVEL 40") >= fuzz.ratio(alone.text, "WINDOW 400 LEVEL 40")


def test_a_word_box_ends_where_the_next_word_begins():
    """Tesseract sometimes boxes a line's first word over the whole line when the rest reads as
    garbage: the box must not reach over the next words (a safe label would be kept over a value)."""
    region = Box(3, 51, 146, 14)
    crop = ocr_module._Crop(region, (0, 40), np.zeros((1, 1), np.uint8), 1.0, "key")
    words = (ocr_module._RelativeWord("DOB:", 85, 1, 11, 150, 14, 0),
             ocr_module._RelativeWord("12", 9, 48, 11, 19, 14, 1),
             ocr_module._RelativeWord("Oct", 23, 115, 11, 36, 14, 2))
    line = ocr_module._to_text_line(crop, words, 0)
    assert [(w.box.left, w.box.right) for w in line.words] == [(1, 48), (48, 67), (115, 151)]
    assert [w.text for w in line.words] == ["DOB:", "12", "Oct"]


def label_on_a_dark_band() -> tuple[np.ndarray, Box]:
    """A light "DOB:" on a dark band at the line's start, its dark value on light ground after it: one
    polarity for the whole crop leaves the label light on dark."""
    page = Image.new("L", (360, 40), 215)
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 52, 40), fill=15)
    font = ImageFont.truetype(SANS, 13)
    draw.text((8, 12), "DOB:", font=font, fill=235)
    draw.text((8 + int(draw.textlength("DOB: ", font=font)), 12), "1961-03-14", font=font, fill=30)
    return np.asarray(page), Box(4, 9, 160, 22)


def test_a_word_is_read_again_alone_on_demand_one_preparation_at_a_time_and_cached():
    page, region = label_on_a_dark_band()
    cache = OcrCache()
    [line] = ocr_regions(page, [region], OcrSettings(), cache)
    assert isinstance(line, ocr_module.WordRereadingLine) and cache.word_reread_calls == 0
    line_calls = cache.tesseract_calls
    readings = line.read_words_again(0, 0)
    first = next(readings)
    assert cache.tesseract_calls == line_calls + 1 == line_calls + cache.word_reread_calls   # lazy
    rest = list(readings)
    assert cache.word_reread_calls == 5 and 1 + len(rest) == 5                  # one per preparation
    assert any(reading and reading[0].text == "DOB:" for reading in [first] + rest), [first] + rest
    again = list(line.read_words_again(0, 0))
    assert cache.word_reread_calls == 5 and again == [first] + rest             # cached, same readings
    for reading in again:               # frame coordinates, within the line's band
        assert all(region.top - 2 <= w.box.top and w.box.bottom <= region.bottom + 2 for w in reading)
        assert all(region.left - 2 <= w.box.left and w.box.right <= region.right + 2 for w in reading)


def test_the_readings_that_lost_stay_with_the_line():
    """The cascade keeps the reading that explains the line best; the others (another preparation,
    another view) stay with the line, placed in the frame, for the redaction policy: here one of them
    spells the label the chosen one made garbage of. A repeated crop gets them from the cache."""
    page, region = label_on_a_dark_band()
    cache = OcrCache()
    [line] = ocr_regions(page, [region], OcrSettings(), cache)
    assert line.other_readings and line.words not in line.other_readings
    assert any(reading and reading[0].text == "DOB:" for reading in line.other_readings), line.other_readings
    for reading in line.other_readings:          # frame coordinates, within the line's band
        assert all(region.top - 2 <= w.box.top and w.box.bottom <= region.bottom + 2 for w in reading)
    calls = cache.tesseract_calls
    [again] = ocr_regions(page, [region], OcrSettings(), cache)
    assert cache.tesseract_calls == calls and again.other_readings == line.other_readings


def test_a_stretch_to_read_again_is_halfway_to_its_neighbours_and_never_narrower_than_its_words():
    region = Box(0, 0, 200, 20)
    image = np.full((20, 200), 255, np.uint8)
    crop = ocr_module._Crop(region, (0, 0), image, 1.0, "key")
    words = (ocr_module._RelativeWord("a", 90, 10, 2, 20, 16, 0),
             ocr_module._RelativeWord("b", 90, 50, 2, 30, 16, 1),
             ocr_module._RelativeWord("c", 90, 70, 2, 40, 16, 2))     # boxed over "b"'s end
    first = ocr_module._words_cut(crop, words, 0, 0, OcrSettings())
    middle = ocr_module._words_cut(crop, words, 1, 1, OcrSettings())
    both = ocr_module._words_cut(crop, words, 0, 1, OcrSettings())
    assert (first.region.left, first.region.right) == (0, 40)          # the line's start, halfway to "b"
    assert (middle.region.left, middle.region.right) == (40, 80)       # never less than its own box
    assert (both.region.left, both.region.right) == (0, 80)
    assert first.image.shape == (20, 40) and both.image.shape == (20, 80)
    assert first.key == middle.key != both.key        # keyed by pixels: the same stretch is read once


def test_a_short_word_boxed_over_the_whole_line_does_not_outscore_a_reading_of_its_words():
    """Tesseract may box three letters of garbage over a whole line: counted at its box's width, "wer" at
    66 explained more of the line than "Name: Z." at 93 (and a Greek name read at 0). A word explains
    at most one line height per character."""
    crop = ocr_module._Crop(Box(6, 9, 142, 22), (0, 0), np.zeros((1, 1), np.uint8), 1.0, "key")
    word = ocr_module._RelativeWord
    garbage = (word("wer", 66, 8, 0, 142, 22, 0),)
    honest = (word("Name:", 93, 2, 0, 44, 22, 0), word("Z.", 93, 52, 0, 12, 22, 1), word("Tooonpag", 0, 69, 0, 61, 22, 2))
    assert ocr_module._reading_score(honest, crop) > ocr_module._reading_score(garbage, crop)
    assert ocr_module._reading_score(garbage * 3, crop) <= 66       # never above its words' confidence
