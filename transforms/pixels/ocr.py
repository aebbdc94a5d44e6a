"""Tesseract on candidate text regions only, in process, with a per-file cache of repeated overlays.

Why in process: every pytesseract call starts a Tesseract process and loads its model (about 0.2 s on
this machine), more than recognising a line costs. The default engine is `tesserocr` (the Tesseract C++
API bound in process: one API object per thread, loaded once and reused), which makes one call per
line affordable: each crop is read alone as a single line (`--psm 7`), upscaled to one text height
and made dark-on-light; words and confidences come from the result iterator.

The `pytesseract` engine is kept (`OcrSettings(engine="pytesseract")`): it stacks the crops of many
frames with white gaps on one page per call, read as a uniform block (`--psm 6`), and maps words back
to their crop, so a batch costs ~2 process starts. Single-line modes there cost one call per crop:
crops side by side in one line read badly, because Tesseract normalises a line's size and baseline as
a whole.

Why cached: cine loops repeat the same overlay on every frame. A crop is keyed by a hash of its
binarised pixels (robust to JPEG noise) and the OCR settings; a repeated crop is recognised once.

Why a word can be read again: Tesseract normalises a line as a whole, so one weak stretch of it (a
label in a thinner stroke, on a different background, or set close to the value after it) may read as
garbage while the rest reads well. The lines returned are `WordRereadingLine`s: the redaction policy may
ask for a word, or a few words in a row, to be read again alone (`read_words_again`), only where a second
reading can change what is kept (see `redaction_policy`), so the extra calls stay rare; they are cached
like the lines.

OCR text is identified data: it lives only in the returned `TextLine`s (memory). `text_hashes` gives the
keyed hashes that may leave the identified zone.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np
import pytesseract

from transforms.keyring import Keyring
from transforms.pixels.prepare import dark_text_on_light, upscale_for_ocr
from transforms.text_types import Box, OcrWord, TextLine

SINGLE_LINE_PSMS = frozenset({7, 8, 13})    # single line / word / raw line: one call per crop
MAX_MOSAIC_HEIGHT = 12000                    # keeps one call's page modest
OCR_TEXT_PURPOSE = "ocr_text"
MEDIAN_SHARE_OF_TEXT_HEIGHT = 0.4            # local-background window, relative to the upscaled text height
WORD_BOX_SLACK = 2                           # pixels a word box may reach beyond its detected line
TESSDATA_FOLDERS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                    "/usr/share/tessdata", "/usr/local/share/tessdata")


@dataclass(frozen=True)
class OcrSettings:
    """How a pass prepares and segments crops; the leakage gate runs a pass with other values."""

    psm: int = 7                      # tesserocr: each crop a single line; pytesseract: use 6 (a block
                                      # per stacked crop), since 7 costs a process per crop
    oem: int = 1                      # LSTM engine
    engine: str = "tesserocr"         # "tesserocr" (in process) | "pytesseract" (a process per call)
    lang: str = "eng"
    target_height: int = 36           # text height after upscaling, in pixels
    max_upscale: float = 4.0
    margin_ratio: float = 0.3         # white-ish context around a line, in line heights
    binarize: bool = True             # Otsu-binarise each upscaled crop: noise and soft anti-aliasing
                                      # otherwise cost Tesseract many characters on thin fonts
    retry_below: float = 60           # crops read with a lower `_reading_score` are read again with
                                      # other preparations; crops read as nothing, also inverted
    timeout_s: float = 60.0

    @property
    def config(self) -> str:
        return f"--oem {self.oem} --psm {self.psm}"


@dataclass(frozen=True)
class _RelativeWord:
    text: str
    confidence: float
    left: float                # in frame pixels, relative to the crop's origin
    top: float
    width: float
    height: float
    word_index: int


@dataclass
class OcrCache:
    """Per-file cache: crop hash -> words; counts show how much repetition was saved."""

    entries: dict[str, tuple[_RelativeWord, ...]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    tesseract_calls: int = 0
    other_readings: dict[str, tuple[tuple[_RelativeWord, ...], ...]] = field(default_factory=dict)
    word_rereads: dict[str, list[tuple[_RelativeWord, ...]]] = field(default_factory=dict)
    word_reread_calls: int = 0       # the share of `tesseract_calls` spent reading words again


@dataclass(frozen=True)
class WordRereadingLine(TextLine):
    """A line read by `ocr_frames`, which can read some of its words again, alone:
    `read_words_again(first, last)` yields, one preparation after the other, the words read in the
    stretch of words first..last (from halfway to the word before, or the line's start, to halfway to
    the word after, or the line's end), in frame coordinates; a caller stops at the reading it needs,
    and later readings are never made."""

    read_words_again: Callable[[int, int], Iterator[tuple[OcrWord, ...]]] | None = field(
        default=None, compare=False, repr=False)
    other_readings: tuple[tuple[OcrWord, ...], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class _Crop:
    region: Box               # the detected line, frame coordinates
    origin: tuple[float, float]   # (left, top) of the crop in the frame
    image: np.ndarray         # prepared: upscaled, dark text on light
    factor: float             # upscaling factor
    key: str


def ocr_regions(grey: np.ndarray, regions: Sequence[Box], settings: OcrSettings = OcrSettings(),
                cache: OcrCache | None = None) -> list[TextLine]:
    """Read the text of each region of an 8-bit grey view; one `TextLine` per region, same order."""
    return ocr_frames([(grey, regions)], settings, cache)[0]


def ocr_frames(frames: Sequence[tuple[np.ndarray, Sequence[Box]]], settings: OcrSettings = OcrSettings(),
               cache: OcrCache | None = None,
               alternate_views: Sequence[Sequence[np.ndarray]] | None = None) -> list[list[TextLine]]:
    """`ocr_regions` for several frames (grey view, regions) in as few Tesseract calls as possible:
    a frame task should pass all its frames at once.

    `alternate_views[k]` are other 8-bit views of frame k (same geometry), where a region read weakly
    in the first view is read again (see `_recognise`): a display window that clips anti-aliased text
    to a few broken strokes leaves it legible in the stored-range view."""
    cache = cache if cache is not None else OcrCache()
    crops = [[_make_crop(grey, region, settings, regions) for region in regions] for grey, regions in frames]
    todo = _unique_uncached([crop for frame in crops for crop in frame], cache)
    if todo:
        views_of = {}
        for (_, regions), frame_crops, views in zip(frames, crops, alternate_views or [()] * len(frames)):
            for crop in frame_crops:
                views_of.setdefault(crop.key, (views, regions))

        def in_other_views(crop: _Crop) -> list[_Crop]:
            views, regions = views_of[crop.key]
            return [_make_crop(view, crop.region, settings, regions) for view in views]

        for crop, (words, others) in zip(todo, _recognise(todo, settings, cache, in_other_views)):
            cache.entries[crop.key] = words
            cache.other_readings[crop.key] = others
    return [[_rereading_line(crop, cache.entries[crop.key], index, settings, cache)
             for index, crop in enumerate(frame)] for frame in crops]


def _rereading_line(crop: _Crop, words: tuple[_RelativeWord, ...], line_index: int, settings: OcrSettings,
                    cache: OcrCache) -> WordRereadingLine:
    line = _to_text_line(crop, words, line_index)
    others = tuple(_to_text_line(crop, other, line_index).words for other in cache.other_readings.get(crop.key, ()))
    return WordRereadingLine(line.region, line.words, partial(_readings_of_words, crop, words, line_index=line_index,
                                                              settings=settings, cache=cache), others)


def _readings_of_words(crop: _Crop, words: tuple[_RelativeWord, ...], first: int, last: int, line_index: int,
                       settings: OcrSettings, cache: OcrCache) -> Iterator[tuple[OcrWord, ...]]:
    """Words first..last read alone, once per preparation of the line cascade (the line's own
    preparation, the other one, the distance from the local background, the background removed for
    either polarity), each reading made only when the one before did not satisfy the caller. Cached by
    the stretch's pixels, as crops are: a label repeated on every frame of a loop is read again once."""
    cut = _words_cut(crop, words, first, last, settings)
    if cut.image.shape[1] < 2:
        return
    done = cache.word_rereads.setdefault(cut.key, [])
    read = _read_in_process if settings.engine == "tesserocr" else _recognise_batch
    for stage, prepare in enumerate(_preparations(settings)):
        if stage == len(done):
            calls = cache.tesseract_calls
            done.append(read([prepare(cut.image)], [cut], settings, cache)[0])
            cache.word_reread_calls += cache.tesseract_calls - calls
        yield _to_text_line(cut, done[stage], line_index).words


def _words_cut(crop: _Crop, words: tuple[_RelativeWord, ...], first: int, last: int,
               settings: OcrSettings) -> _Crop:
    """The stretch of the crop over words first..last, halfway to their neighbours (to the crop's ends
    for the line's first and last word), and never less than their boxes: a word box from a reading
    that went wrong may be too narrow, or reach into the next word's (which then cannot mark its end).
    Its polarity is its own: a label may be light on a dark band where the rest of its line is dark on
    light ground."""
    head, tail = words[first], words[last]
    left = min((words[first - 1].left + words[first - 1].width + head.left) / 2, head.left) if first > 0 else 0.0
    right = max((tail.left + tail.width + words[last + 1].left) / 2, tail.left + tail.width) \
        if last + 1 < len(words) else None
    start = min(max(int(np.floor(left * crop.factor)), 0), crop.image.shape[1])
    stop = crop.image.shape[1] if right is None else min(int(np.ceil(right * crop.factor)), crop.image.shape[1])
    stop = max(stop, start)
    ox, oy = crop.origin
    region_left = max(int(np.floor(ox + left)), crop.region.left)
    region_right = crop.region.right if right is None else min(int(np.ceil(ox + right)), crop.region.right)
    region = Box(region_left, crop.region.top, max(region_right - region_left, 1), crop.region.height)
    image = np.ascontiguousarray(dark_text_on_light(crop.image[:, start:stop]))
    key = f"{_crop_key(image, settings)}/words/{crop.factor}"
    return _Crop(region, (ox + start / crop.factor, oy), image, crop.factor, key)


def full_frame_ocr(grey: np.ndarray, psm: int = 3, lang: str = "eng", engine: str = "pytesseract") -> list[TextLine]:
    """Baseline: Tesseract over the whole frame (what the benchmark compares against), with either
    binding: "pytesseract" (a process per frame, as one would script it) or "tesserocr" (in process)."""
    page = dark_text_on_light(grey)
    if engine == "tesserocr":
        api = _tesseract_api(OcrSettings(psm=psm, lang=lang))
        page = np.ascontiguousarray(page)
        api.SetImageBytes(page.tobytes(), page.shape[1], page.shape[0], 1, page.shape[1])
        api.Recognize()
        words = [OcrWord(text, confidence, Box(*box), 0, k)
                 for k, (text, confidence, box) in enumerate(_iterate_words(api))]
        return [TextLine(_union_of(w.box for w in words), tuple(words))] if words else []
    data = pytesseract.image_to_data(page, lang=lang, config=f"--oem 1 --psm {psm}",
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[OcrWord]] = {}
    for k, text in enumerate(data["text"]):
        if not text.strip() or float(data["conf"][k]) < 0:
            continue
        key = (data["block_num"][k], data["par_num"][k], data["line_num"][k])
        box = Box(int(data["left"][k]), int(data["top"][k]), int(data["width"][k]), int(data["height"][k]))
        words = lines.setdefault(key, [])
        words.append(OcrWord(text.strip(), float(data["conf"][k]), box, len(lines) - 1, len(words)))
    return [TextLine(_union_of(w.box for w in words), tuple(words)) for words in lines.values()]


def _union_of(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    region = boxes[0]
    for box in boxes[1:]:
        region = region.union(box)
    return region


def text_hashes(lines: Iterable[TextLine], keyring: Keyring) -> list[str]:
    """Keyed hashes of each line's text: what silver may store instead of the text."""
    return [keyring.hexdigest(OCR_TEXT_PURPOSE, line.text) for line in lines]


def _make_crop(grey: np.ndarray, region: Box, settings: OcrSettings, others: Sequence[Box] = ()) -> _Crop:
    margin = max(2, round(settings.margin_ratio * region.height))
    outer = region.padded(margin, grey.shape[0], grey.shape[1])
    light = dark_text_on_light(grey[outer.top:outer.bottom, outer.left:outer.right])
    light = _blank_neighbours(light, region, outer, others)
    image, factor = upscale_for_ocr(light, region.height, settings.target_height, settings.max_upscale)
    return _Crop(region, (outer.left, outer.top), np.ascontiguousarray(image), factor,
                 _crop_key(light, settings))


def _blank_neighbours(light: np.ndarray, region: Box, outer: Box, others: Sequence[Box]) -> np.ndarray:
    """Paint neighbouring text lines inside the crop as background: closely set lines would otherwise
    add half-lines of another line's glyphs to this one's reading. Where a neighbour's region overlaps
    this one (line boxes of closely set lines do), the rows nearer the neighbour's middle are its own."""
    blank = np.zeros(light.shape, dtype=bool)
    own_middle = region.top + region.height / 2
    for other in others:
        if other == region:
            continue
        top, bottom = max(other.top, outer.top), min(other.bottom, outer.bottom)
        left, right = max(other.left, outer.left), min(other.right, outer.right)
        if top >= bottom or left >= right:
            continue
        rows = np.arange(top, bottom)
        other_middle = other.top + other.height / 2
        outside_own = (rows < region.top) | (rows >= region.bottom)
        nearer_other = np.abs(rows + 0.5 - other_middle) < np.abs(rows + 0.5 - own_middle)
        theirs = rows[outside_own | nearer_other] - outer.top
        if theirs.size:
            blank[theirs[:, None], np.arange(left - outer.left, right - outer.left)[None, :]] = True
    if not blank.any():
        return light
    blanked = light.copy()
    blanked[blank] = 255
    return blanked


def _crop_key(light: np.ndarray, settings: OcrSettings) -> str:
    """Binarised pixels, so JPEG noise between cine frames does not defeat the cache."""
    binary = np.packbits(light >= 128)
    digest = hashlib.sha256(repr((light.shape, settings)).encode())
    digest.update(binary.tobytes())
    return digest.hexdigest()


def _unique_uncached(crops: list[_Crop], cache: OcrCache) -> list[_Crop]:
    todo: dict[str, _Crop] = {}
    for crop in crops:
        if crop.key in cache.entries or crop.key in todo:
            cache.hits += 1
        else:
            cache.misses += 1
            todo[crop.key] = crop
    return list(todo.values())


def _recognise(crops: list[_Crop], settings: OcrSettings, cache: OcrCache,
               in_other_views: Callable[[_Crop], list[_Crop]] | None = None
               ) -> list[tuple[tuple[_RelativeWord, ...], tuple[tuple[_RelativeWord, ...], ...]]]:
    """Words of each crop: read once, then, while a crop's reading stays weak (`_reading_score` below
    `settings.retry_below`), again with the next preparation; the best reading wins.

    The cascade, cheapest and most often useful first: the other preparation (grey instead of
    binarised, or the reverse); the same region in the frame's other views; the distance from the local
    median, for grey text whose polarity flips along the line (brighter than black, darker than bone);
    the background removed for one polarity at a time (text crossing a bright-to-dark edge of the
    anatomy, or grey text on a slightly lighter background, binarises into blots otherwise); and, for
    a crop read as nothing, the opposite polarity. Most crops stop after the first reading, so the
    retries cost only where they are needed (with pytesseract each stage is one call for all its crops)."""
    read = _read_in_process if settings.engine == "tesserocr" else _recognise_batch
    own, other, local, dark_text, light_text = _preparations(settings)
    results = list(read([own(c.image) for c in crops], crops, settings, cache))
    readings = [[words] for words in results]
    other_views = in_other_views or (lambda crop: [])
    stages: list[Callable[[_Crop], list[tuple[_Crop, np.ndarray]]]] = [
        lambda c: [(c, other(c.image))],
        lambda c: [(o, own(o.image)) for o in other_views(c)],
        lambda c: [(c, local(c.image))],
        lambda c: [(c, dark_text(c.image)), (c, light_text(c.image))],
    ]
    for stage in stages:
        weak = [k for k, words in enumerate(results) if _reading_score(words, crops[k]) < settings.retry_below]
        _read_again(weak, stage, crops, results, readings, read, settings, cache)
    unread = [k for k, words in enumerate(results) if not words]
    _read_again(unread, lambda c: [(c, _prepared(c.image, settings.binarize, True))], crops, results, readings,
                read, settings, cache)
    return [(best, tuple(words for words in made if words and words is not best))
            for best, made in zip(results, readings)]


def _preparations(settings: OcrSettings) -> list[Callable[[np.ndarray], np.ndarray]]:
    """The preparations of one crop, in the cascade's order: its own (binarised or grey, as set), the
    other one, the distance from the local background, the background removed for dark text, then for
    light text. The line cascade tries the frame's other views between the second and the third."""
    height = settings.target_height
    return [
        lambda image: _prepared(image, settings.binarize, False),
        lambda image: _prepared(image, not settings.binarize, False),
        lambda image: _away_from_local_background(image, height),
        lambda image: _background_removed(image, True, height),
        lambda image: _background_removed(image, False, height),
    ]


def _read_again(which: list[int], attempts: Callable[[_Crop], list[tuple[_Crop, np.ndarray]]], crops: list[_Crop],
                results: list[tuple[_RelativeWord, ...]], readings: list[list[tuple[_RelativeWord, ...]]], read,
                settings: OcrSettings, cache: OcrCache) -> None:
    """Read the crops `which` again as `attempts` prepares them; keep a reading where it scores better,
    and every reading in `readings`."""
    tries = [(k, crop, image) for k in which for crop, image in attempts(crops[k])]
    if not tries:
        return
    for (k, _, _), words in zip(tries, read([image for _, _, image in tries], [crop for _, crop, _ in tries],
                                            settings, cache)):
        readings[k].append(words)
        if _reading_score(words, crops[k]) > _reading_score(results[k], crops[k]):
            results[k] = words


def _prepared(image: np.ndarray, binarize: bool, invert: bool) -> np.ndarray:
    if binarize:                # after upscaling: smooth edges threshold into clean glyph outlines
        _, image = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return 255 - image if invert else image


def _background_removed(image: np.ndarray, dark_text: bool, text_height: int) -> np.ndarray:
    """Strokes lifted off their local background (a morphological top-hat with a kernel wider than a
    stroke and narrower than the background's features), as dark text on white, binarised."""
    size = max(3, text_height // 2) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    strokes = cv2.morphologyEx(image, cv2.MORPH_BLACKHAT if dark_text else cv2.MORPH_TOPHAT, kernel)
    strokes = cv2.normalize(strokes, None, 0, 255, cv2.NORM_MINMAX)
    _, binary = cv2.threshold(strokes, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return 255 - binary


def _away_from_local_background(image: np.ndarray, text_height: int) -> np.ndarray:
    """How far each pixel lies from its neighbourhood's median (the background where text covers less
    than half of it), either way: strokes of one grey stand out over dark and bright ground alike."""
    size = max(3, round(MEDIAN_SHARE_OF_TEXT_HEIGHT * text_height)) | 1
    distance = cv2.absdiff(image, cv2.medianBlur(image, size))
    distance = cv2.normalize(distance, None, 0, 255, cv2.NORM_MINMAX)
    _, binary = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return 255 - binary


def _reading_score(words: tuple[_RelativeWord, ...], crop: _Crop) -> float:
    """Confidence weighted by how much of the line the words explain (0-100, -1 for nothing read).

    Mean confidence alone prefers a confident reading of part of a line ("LAO" out of "LAO 19 CRA 9"
    where the background turns dark halfway) to a slightly less confident reading of all of it."""
    if not words:
        return -1.0
    width = max(crop.region.width, 1)
    explained = [min(w.width, width, len(w.text) * crop.region.height) for w in words]
    return float(sum(w.confidence * e for w, e in zip(words, explained)) / max(width, sum(explained)))


def reading_score(line: TextLine) -> float:
    """`_reading_score` of a line as returned (frame or canvas pixels): how well its words explain it.
    Compares the readings of one line made in two directions (upright or turned half way)."""
    if not line.words:
        return -1.0
    width, height = max(line.region.width, 1), line.region.height
    explained = [min(w.box.width, width, len(w.text) * height) for w in line.words]
    return float(sum(w.confidence * e for w, e in zip(line.words, explained)) / max(width, sum(explained)))


def _recognise_batch(images: list[np.ndarray], crops: list[_Crop], settings: OcrSettings,
                     cache: OcrCache) -> list[tuple[_RelativeWord, ...]]:
    results: list[tuple[_RelativeWord, ...]] = [() for _ in images]
    for batch in _batches(images, settings):
        mosaic, slots = _mosaic([images[k] for k in batch], settings)
        cache.tesseract_calls += 1
        data = pytesseract.image_to_data(mosaic, lang=settings.lang, config=settings.config,
                                         output_type=pytesseract.Output.DICT, timeout=settings.timeout_s)
        per_slot = _words_per_slot(data, slots, settings)
        for position, k in enumerate(batch):
            results[k] = tuple(_relative(word, slots[position], crops[k].factor, index)
                               for index, word in enumerate(per_slot[position]))
    return results


def _read_in_process(images: list[np.ndarray], crops: list[_Crop], settings: OcrSettings,
                     cache: OcrCache) -> list[tuple[_RelativeWord, ...]]:
    """Each prepared crop read alone by the thread's in-process Tesseract."""
    api = _tesseract_api(settings)
    results = []
    border = _gap(settings) // 2           # Tesseract reads a line best with white space around it
    for image, crop in zip(images, crops):
        cache.tesseract_calls += 1
        page = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT, value=255)
        api.SetImageBytes(page.tobytes(), page.shape[1], page.shape[0], 1, page.shape[1])
        api.Recognize()
        words = [(text, confidence, left - border, top - border, width, height)
                 for text, confidence, (left, top, width, height) in _iterate_words(api)]
        results.append(tuple(_relative(word, (0, 0, 0, 0), crop.factor, index) for index, word in enumerate(words)))
    return results


def _iterate_words(api) -> Iterable[tuple[str, float, tuple[int, int, int, int]]]:
    """(text, confidence, (left, top, width, height)) of each non-empty word Tesseract read."""
    import tesserocr

    level = tesserocr.RIL.WORD
    iterator = api.GetIterator()
    if iterator is None:
        return
    for word in tesserocr.iterate_level(iterator, level):
        if word.Empty(level):
            continue
        text = (word.GetUTF8Text(level) or "").strip()
        box = word.BoundingBox(level)
        if text and box is not None:
            left, top, right, bottom = box
            yield text, float(word.Confidence(level)), (left, top, right - left, bottom - top)


_API_STORE = threading.local()


def _tesseract_api(settings: OcrSettings):
    """This thread's Tesseract API for the settings' language and engine mode, loaded once (~0.1 s)
    and reused; the page segmentation mode is set per call."""
    import tesserocr

    apis = getattr(_API_STORE, "apis", None)
    if apis is None:
        apis = _API_STORE.apis = {}
    key = (settings.lang, settings.oem)
    api = apis.get(key)
    if api is None:
        api = tesserocr.PyTessBaseAPI(path=tessdata_path(), lang=settings.lang, oem=settings.oem)
        apis[key] = api
    api.SetPageSegMode(settings.psm)
    return api


def tessdata_path() -> str:
    """Where Tesseract's trained models are: $TESSDATA_PREFIX, else the distribution's usual folders.
    The tesserocr wheel bundles the library, not the models; Debian's tesseract-ocr-eng provides them."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")] + list(TESSDATA_FOLDERS)
    for folder in candidates:
        if folder and os.path.isfile(os.path.join(folder, "eng.traineddata")):
            return folder.rstrip("/") + "/"
    raise OcrUnavailableError("tessdata_not_found")


class OcrUnavailableError(RuntimeError):
    """Tesseract's models are not installed where they are looked for (reason only, no paths)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _batches(images: list[np.ndarray], settings: OcrSettings) -> list[list[int]]:
    """Groups of crops whose mosaic stays under the size limit; single-line modes read each crop alone
    (Tesseract normalises a line as a whole, so unrelated crops side by side read badly)."""
    if settings.psm in SINGLE_LINE_PSMS:
        return [[k] for k in range(len(images))]
    batches: list[list[int]] = [[]]
    extent = 0
    for k, image in enumerate(images):
        size = image.shape[0]
        if batches[-1] and extent + size > MAX_MOSAIC_HEIGHT:
            batches.append([])
            extent = 0
        batches[-1].append(k)
        extent += size + _gap(settings)
    return [b for b in batches if b]


def _gap(settings: OcrSettings) -> int:
    return 2 * settings.target_height


def _mosaic(images: list[np.ndarray], settings: OcrSettings) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """One white page holding every crop; slots are (left, top, width, height) of each crop."""
    gap = _gap(settings)
    height = sum(i.shape[0] for i in images) + gap * (len(images) + 1)
    width = max(i.shape[1] for i in images) + 2 * gap
    page = np.full((height, width), 255, dtype=np.uint8)
    slots = []
    cursor = gap
    for image in images:
        h, w = image.shape
        page[cursor:cursor + h, gap:gap + w] = image
        slots.append((gap, cursor, w, h))
        cursor += h + gap
    return page, slots


def _words_per_slot(data: dict, slots: list[tuple[int, int, int, int]],
                    settings: OcrSettings) -> list[list[tuple[str, float, int, int, int, int]]]:
    per_slot: list[list[tuple[str, float, int, int, int, int]]] = [[] for _ in slots]
    for k, text in enumerate(data["text"]):
        text = text.strip()
        confidence = float(data["conf"][k])
        if not text or confidence < 0:
            continue
        left, top, width, height = (int(data[key][k]) for key in ("left", "top", "width", "height"))
        centre = top + height / 2
        for position, (sl, st, sw, sh) in enumerate(slots):
            if st <= centre < st + sh:
                per_slot[position].append((text, confidence, left - sl, top - st, width, height))
                break
    return per_slot


def _relative(word: tuple[str, float, int, int, int, int], slot: tuple[int, int, int, int],
              factor: float, index: int) -> _RelativeWord:
    text, confidence, left, top, width, height = word
    return _RelativeWord(text, confidence, left / factor, top / factor, width / factor, height / factor, index)


def _to_text_line(crop: _Crop, words: tuple[_RelativeWord, ...], line_index: int) -> TextLine:
    """Words placed in the frame, their boxes kept within the line (slightly grown): Tesseract's word
    boxes on an upscaled crop often reach into the blanked neighbouring lines, and a box that does
    would make a PHI word's fill, or a safe word's keep, spill onto the line above or below.

    A word's box also ends where the next word's begins: when the rest of a line reads as garbage,
    Tesseract may give its first word a box over the whole line ("DOB:" spanning the date after it),
    which would put a safe label under the date's PHI box and fill it with the date."""
    ox, oy = crop.origin
    bounds = Box(crop.region.left - WORD_BOX_SLACK, crop.region.top - WORD_BOX_SLACK,
                 crop.region.width + 2 * WORD_BOX_SLACK, crop.region.height + 2 * WORD_BOX_SLACK)
    boxes = []
    for word in words:
        left, top = int(np.floor(ox + word.left)), int(np.floor(oy + word.top))
        right, bottom = int(np.ceil(ox + word.left + word.width)), int(np.ceil(oy + word.top + word.height))
        boxes.append(Box(left, top, right - left, bottom - top).clipped_to(bounds))
    for k, (box, following) in enumerate(zip(boxes, boxes[1:])):
        if box.left < following.left < box.right:
            boxes[k] = Box(box.left, box.top, following.left - box.left, box.height)
    return TextLine(crop.region, tuple(OcrWord(word.text, word.confidence, box, line_index, word.word_index)
                                       for word, box in zip(words, boxes)))
