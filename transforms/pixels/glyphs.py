"""Where the glyphs of a text line are, so a fill covers them and not the image around them.

A detected region spans its line's tallest glyphs, room for descenders and a margin; the redaction
policy pads it; a region found over two lines spans the rows between them; a line cut around the
words it keeps leaves pieces that may hold nothing but background. Filling all of that changes pixels
of the image that held no text (on the 16-file corpus, 1.8 % of every lossless image, and every such
file failed the scorer's bit-identical rule). `tight_boxes` brings each piece down to the words it
holds, each word's box grown by `FILL_GROWTH` pixels (anti-aliased edges):

1. Glyph pixels (`glyph_map`): a morphological top-hat (bright text) and black-hat (dark text) with a
   kernel wider than any stroke (half the line's height) take the background as it varies under the
   line (a CT's padding value beside its air, the edge of the field of view crossing the line, smooth
   anatomy), which one background value for the line cannot. Noise is measured on the ring of the
   analysed window: neighbour differences along it, over the pairs that differ at all (MR air is mostly
   one value). A glyph is a component above NOISE_SIGMAS deviations that reaches CLEAR_CONTRAST times
   that somewhere (hysteresis: its anti-aliased edge belongs to it), in either polarity, each judged
   alone below (bright text's black-hat is the space between its strokes, which joins its glyphs to a
   plate behind them or to the anatomy; choosing one polarity by how far its pixels lie from the
   median chose the plate over white digits on it).
2. The line's own glyphs (`_within_rows`): components inside the detected region's rows. Those wholly
   above or below it are another line's; those reaching beyond it (an edge of the anatomy, a ruler, a
   glyph touching one) do not shape the words, and step 4 fills their columns.
3. Words (`_words`): glyph components joined while within WORD_GAP_RATIO of the taller's height of
   each other on one line; the wider gap between two items stays unfilled, as do the rows between lines.
   A word much lower than its line is stretched to the line's rows (`_on_bands`).
4. What the region shows but the glyph map does not explain: a stretch of a piece with no word is
   filled over the rows its ink takes within the region (the detected region, not its padding) unless
   it is blank (nothing above the noise threshold there): text whose value equals the anatomy under it
   (found by its pen value, or by the learned detector) cannot be measured here, and the detector saw it.

Where none of this can be trusted the pieces are filled whole, as before: a window with no glyph
found, more "ink" than text can be (anatomy, a plate behind the text), or a region the glyph map
accounts for less than half of (`_explained_share`: the detector saw text there that the map cannot).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from transforms.text_types import Box

FILL_GROWTH = 2              # pixels a fill reaches beyond the glyphs it covers (anti-aliased edges)
NOISE_SIGMAS = 4.0           # a response this many noise deviations above the ring's level is ink
CLEAR_CONTRAST = 3.0         # a glyph reaches this many noise thresholds above the ring's level somewhere
MAD_TO_SIGMA = 1.4826        # median absolute deviation -> standard deviation (Gaussian noise)
WORD_GAP_RATIO = 1.2         # glyphs this close (in the taller's heights) are one item: letter and word
                             # spaces, a monospaced font's too (its space is about one capital high)
MAX_HEIGHT_RATIO = 1.6       # glyphs of one word: heights within this ratio, unless one lies within the other's rows
MIN_INK_PIXELS = 3           # ink components smaller than this are noise specks
ROW_SLACK = 1                # pixels a glyph may reach beyond its detected region's rows
PART_OF_LINE = 0.5           # a word lower than this share of its line is only partly measured (`_on_bands`)
MIN_WORD_HEIGHT_SHARE = 0.4  # a word lower than this share of the line's tallest is a speck or a stub
RING_PX = 2                  # width of a window's ring, where its background level and noise are measured
MAX_INK_SHARE = 0.6          # a window more "ink" than this (in one polarity) is anatomy or a plate
MIN_EXPLAINED_SHARE = 0.5    # of a region's columns the glyph map must account for, else the pieces are filled
STROKE_THICKNESS_RATIO = 1.5  # a polarity this much thicker than the thinnest is not strokes (`_stroke_parts`)
MAX_KERNEL = 31              # widest top-hat kernel (text 60+ px high)
RUN_HEIGHTS = 3.0            # a line's text is followed this many line heights past its region's ends
WINDOW_SHARE = 0.5           # the window analysed reaches this many line heights beyond the region
MAX_COMPONENTS = 400         # more glyph components than this in one window: texture, not a line


@dataclass(frozen=True)
class Fill:
    """What to fill for one text line (or one unread region, or one PHI box): `pieces`, padded boxes
    around (parts of) the detected region `core`, within `context` (the region padded), to be brought
    down to the glyphs they hold. The pieces of one line are judged together: a piece that holds no ink
    (the space between two kept words, the padding beside a label) is seen to be blank because the rest
    of the line shows ink."""

    context: Box
    pieces: tuple[Box, ...]
    core: Box | None = None      # the detected region; None: the context itself
    one_value: bool = False      # the pieces each hold one value (a PHI span): their words are filled as
                                 # one box, spaces included, so the value is covered to its last glyph


@dataclass(frozen=True)
class GlyphMap:
    """Glyph pixels of a window of the frame: `strong` (glyphs of the text's polarity), `weak` (anything
    above the noise, in either polarity)."""

    window: Box
    strong: np.ndarray
    weak: np.ndarray
    parts: tuple[np.ndarray, ...] = ()    # `strong` by polarity and sample, each judged alone


def tight_boxes(frame: np.ndarray, fill: Fill, growth: int = FILL_GROWTH) -> list[Box]:
    """The boxes to fill for `fill`: its pieces brought down to the words they hold (see the module's
    docstring), each grown by `growth` and kept inside its piece, or carried on to the end of its text
    run where a piece ends the line (`_run_reach`)."""
    rows, columns = frame.shape[:2]
    core = fill.core if fill.core is not None else fill.context
    window = fill.context.union(core.padded(max(1, round(WINDOW_SHARE * core.height)), rows, columns))
    window = window.union(_run_window(fill, core, columns))
    reaches = [_run_reach(piece, fill.context, window) for piece in fill.pieces]
    glyphs = glyph_map(frame, window, core.height)
    if glyphs is None:
        return list(fill.pieces)
    strong = None
    for part in glyphs.parts:          # each polarity alone: bright text's black-hat (the gaps between its
        kept = _within_rows(_in_columns(part, window, reaches), core.top - window.top,   # strokes) joins
                            core.bottom - window.top)            # its glyphs to a plate or the anatomy
        if kept is not None:
            strong = kept if strong is None else strong | kept
    words = _words(strong, (window.left, window.top)) if strong is not None else []
    if words is None:
        return list(fill.pieces)
    if words:                         # a speck or a stub of anatomy is no word of a line of text
        tallest = max(word.height for word in words)
        words = _on_bands([word for word in words if word.height >= MIN_WORD_HEIGHT_SHARE * tallest])
    boxes: list[Box] = []
    for piece, reach in zip(fill.pieces, reaches):
        touching = [word for word in words if word.overlaps(piece)]
        if fill.one_value:
            touching = _line_runs(touching)
        held = [word.clipped_to(reach) for word in touching]
        boxes += [_grown_within(word, growth, reach) for word in held]
        boxes += _unexplained(glyphs, core, piece, [w.clipped_to(piece) for w in held], growth)
    if _explained_share(core, fill.pieces, boxes) < MIN_EXPLAINED_SHARE:
        return list(fill.pieces)
    return boxes


def _run_window(fill: Fill, core: Box, columns: int) -> Box:
    """The context widened by RUN_HEIGHTS line heights on each side: where a line's text may go on
    beyond the region the detector drew (its last glyphs fainter, or over anatomy)."""
    reach = round(RUN_HEIGHTS * core.height)
    left, right = max(fill.context.left - reach, 0), min(fill.context.right + reach, columns)
    return Box(left, fill.context.top, right - left, fill.context.height)


def _run_reach(piece: Box, context: Box, window: Box) -> Box:
    """Where a piece's words may be followed: beyond the context's end when the piece ends the line
    there (a value's tail past the detected region: issue 22's partial fills); a word that starts beyond
    it is not followed, only one a piece's glyphs chain into within a word space (`_words`)."""
    left = window.left if piece.left <= context.left else piece.left
    right = window.right if piece.right >= context.right else piece.right
    return Box(left, piece.top, right - left, piece.height)


def _explained_share(core: Box, pieces: tuple[Box, ...], boxes: list[Box]) -> float:
    """Share of the region's columns that the boxes to fill (or the words kept, outside the pieces)
    account for. The detector saw text across its region; where the glyph map accounts for little of
    it (text at the noise, a lossy codec's smear), the map is not trusted and the pieces are filled."""
    if core.width <= 0:
        return 1.0
    seen = np.ones(core.width, dtype=bool)
    for piece in pieces:
        seen[max(piece.left - core.left, 0):max(piece.right - core.left, 0)] = False
    for box in boxes:
        seen[max(box.left - core.left, 0):max(box.right - core.left, 0)] = True
    return float(seen.mean())


def glyph_map(frame: np.ndarray, window: Box, text_height: int) -> GlyphMap | None:
    """The glyph pixels of `window` (see the module's docstring, step 1), or None where they cannot be
    told from the background: none found, so much that the window is anatomy, or mostly faint."""
    view = frame[window.top:window.bottom, window.left:window.right]
    if view.shape[0] < 2 * RING_PX + 1 or view.shape[1] < 2 * RING_PX + 1:
        return None
    size = int(np.clip(text_height // 2, 3, MAX_KERNEL)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    samples = view.reshape(view.shape[0], view.shape[1], -1).astype(np.float32)
    strong = np.zeros(view.shape[:2], dtype=bool)
    weak = np.zeros(view.shape[:2], dtype=bool)
    parts: list[np.ndarray] = []
    for k in range(samples.shape[2]):
        channel = np.ascontiguousarray(samples[..., k])
        noise = NOISE_SIGMAS * _ring_noise(channel)
        found = []
        for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
            response = cv2.morphologyEx(channel, operation, kernel)    # the border takes no part
            level = float(np.median(_ring(response)))
            found.append(_glyph_components(response, level + noise, level + CLEAR_CONTRAST * noise))
        for glyphs, above in found:   # both polarities: text may be bright or dark, and grey text turns
            strong |= glyphs          # darker than the anatomy where it crosses brighter anatomy
            weak |= above
            parts.append(glyphs)
    parts = _stroke_parts(parts)
    strong = np.logical_or.reduce(parts) if parts else strong
    if not strong.any() or max(part.mean() for part in parts) > MAX_INK_SHARE:
        return None                    # (per polarity: stacked lines' strokes and the spaces between
                                       # them, both polarities at once, cover most of their window)
    return GlyphMap(window, strong, weak, tuple(parts))


def _stroke_parts(parts: list[np.ndarray]) -> list[np.ndarray]:
    """The findings that are strokes: the thinnest (median distance to the background over its pixels),
    and those within STROKE_THICKNESS_RATIO of it. Text's own polarity is strokes; the other polarity
    is the space between them, which is as thin inside a word but thick where it fills the plate behind
    white digits or the rows between two closely set lines (and would join those lines into one word)."""
    present = [part for part in parts if part.any()]
    if len(present) <= 1:
        return present
    thickness = [float(np.median(cv2.distanceTransform(part.astype(np.uint8), cv2.DIST_L2, 3)[part]))
                 for part in present]
    thinnest = min(thickness)
    return [part for part, t in zip(present, thickness) if t <= STROKE_THICKNESS_RATIO * thinnest]


def _glyph_components(response: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels above `low` in components of MIN_INK_PIXELS or more that reach `high` (hysteresis: a
    glyph's anti-aliased edge belongs to it), and every pixel above `low` in components of that size."""
    above = (response > low).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    if count <= 1:
        empty = np.zeros(response.shape, dtype=bool)
        return empty, empty
    peaks = np.full(count, -np.inf, dtype=np.float64)
    np.maximum.at(peaks, labels.ravel(), response.ravel().astype(np.float64))
    big = stats[:, cv2.CC_STAT_AREA] >= MIN_INK_PIXELS
    big[0] = False
    kept = (peaks > high) & big
    return kept[labels], big[labels]


def _in_columns(ink: np.ndarray, window: Box, pieces: tuple[Box, ...]) -> np.ndarray:
    """`ink` in the pieces' columns only: a kept label's glyphs, a word space from the value after it,
    must not join the value's word and carry its fill over the space."""
    columns = np.zeros(ink.shape[1], dtype=bool)
    for piece in pieces:
        columns[max(piece.left - window.left, 0):max(piece.right - window.left, 0)] = True
    return ink & columns[None, :]


def _within_rows(ink: np.ndarray, top: int, bottom: int) -> np.ndarray | None:
    """`ink` as the glyphs of the line whose rows are [top, bottom): only the components inside those
    rows (ROW_SLACK allowed). Those wholly above or below are another line's (descenders, accents);
    those that reach beyond are an edge of the anatomy, a ruler, or glyphs touching one, and say nothing
    of where the line's glyphs end: their columns are filled as unexplained (`_unexplained`), over the
    rows their ink takes inside the line, never dropped from the fill."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    first, last = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]
    drop = (first < top - ROW_SLACK) | (last > bottom + ROW_SLACK)
    drop[0] = False
    if drop.any():
        ink = ink & ~drop[labels]
    return ink if ink.any() else None


def _words(ink: np.ndarray, origin: tuple[int, int]) -> list[Box] | None:
    """Boxes (frame coordinates) of the words of `ink`: its glyph components joined while they stand
    within a word space of each other on one line (`_same_word`); None for texture (too many parts)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if count - 1 > MAX_COMPONENTS:
        return None
    words: list[Box] = []
    for x, y, w, h in sorted(stats[1:, :4].tolist()):
        box = Box(int(x), int(y), int(w), int(h))
        for k in range(len(words) - 1, -1, -1):
            if _same_word(words[k], box):
                box = words.pop(k).union(box)
        words.append(box)
    joined = True
    while joined:                     # a join can bring two earlier words within reach of each other
        joined = False
        for i, j in ((i, j) for i in range(len(words)) for j in range(i + 1, len(words))):
            if _same_word(words[i], words[j]):
                words[i] = words[i].union(words.pop(j))
                joined = True
                break
    left, top = origin
    return [Box(left + b.left, top + b.top, b.width, b.height) for b in words]


def _on_bands(words: list[Box]) -> list[Box]:
    """Words much lower than the line they stand in (less than PART_OF_LINE of its height) stretched to
    its rows. Where a glyph's contrast flips along it (grey text crossing from dark background onto
    brighter anatomy) only part of it is measured, and the other words of its line say how tall the text
    is. A line is the words that share rows (by half the lower one's height); two lines of one region
    stay two; a word of lower-case letters without ascenders is lower than its line, but less so."""
    bands: list[Box] = []
    for word in sorted(words, key=lambda w: -w.height):
        overlaps = [min(word.bottom, b.bottom) - max(word.top, b.top) for b in bands]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] >= 0.5 * word.height:
            bands[best] = bands[best].union(Box(bands[best].left, word.top, 1, word.height))
        else:
            bands.append(word)
    stretched = []
    for word in words:
        band = max(bands, key=lambda b: min(word.bottom, b.bottom) - max(word.top, b.top))
        if word.height < PART_OF_LINE * band.height:
            word = Box(word.left, band.top, word.width, band.height)
        stretched.append(word)
    return stretched


def _same_word(a: Box, b: Box) -> bool:
    """Two glyphs (or words) of one word or item: horizontally within WORD_GAP_RATIO of the taller's
    height, and on one line (`_on_one_line`)."""
    tall = max(a.height, b.height)
    if max(a.left - b.right, b.left - a.right, 0) > WORD_GAP_RATIO * tall:
        return False
    return _on_one_line(a, b)


def _on_one_line(a: Box, b: Box) -> bool:
    """The shorter within the taller's rows (a dot, a colon, a lower-case letter beside capitals), or
    overlapping by half the shorter's height at heights within MAX_HEIGHT_RATIO (small text beside large
    text on the same rows is another item, another line)."""
    short, tall = sorted((a, b), key=lambda box: box.height)
    if short.top >= tall.top - 1 and short.bottom <= tall.bottom + 1:
        return True
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    return overlap >= 0.5 * short.height and tall.height <= MAX_HEIGHT_RATIO * short.height


def _line_runs(words: list[Box]) -> list[Box]:
    """The words of one value joined per line, spaces included (covered to its last glyph). Words of
    other lines that the piece reaches (a larger text crossing the value's rows, the line below) stay
    boxes of their own: one union of both spanned the image between them. Judged on the whole words,
    before they are clipped to the piece: a tall word's clipped top looks like a word of the value's line."""
    runs: list[Box] = []
    for word in sorted(words, key=lambda w: w.left):
        for k, run in enumerate(runs):
            if _on_one_line(run, word):
                runs[k] = run.union(word)
                break
        else:
            runs.append(word)
    return runs


def _unexplained(glyphs: GlyphMap, core: Box, piece: Box, held: list[Box], growth: int) -> list[Box]:
    """Stretches of `piece` within the detected region `core` that no word explains and that are not
    blank (something above the noise in the region's rows there), each over the rows its ink takes
    within the region: text the glyph map could not separate from what lies under or around it (grey
    on anatomy of its own grey, glyphs touching an edge). Never beyond the region: the piece's padding
    is room for anti-aliased edges, which the words' boxes cover; what crosses it unexplained is the
    edge of a field of view or of the anatomy, not text the detector saw."""
    left, right = max(piece.left, core.left), min(piece.right, core.right)
    if right <= left:
        return []
    explained = np.zeros(right - left, dtype=bool)
    for word in held:
        explained[max(word.left - growth - left, 0):max(word.right + growth - left, 0)] = True
    window = glyphs.window
    top, bottom = max(core.top, piece.top), min(core.bottom, piece.bottom)
    weak = glyphs.weak[top - window.top:bottom - window.top]
    boxes = []
    for start, stop in _runs(~explained):
        stretch = weak[:, left + start - window.left:left + stop - window.left]
        if stretch.sum() < MIN_INK_PIXELS:
            continue
        rows = np.flatnonzero(stretch.any(axis=1))
        box = Box(left + start, top + int(rows[0]), stop - start, int(rows[-1] - rows[0]) + 1)
        boxes.append(_grown_within(box, growth, Box(left + start, top, stop - start, bottom - top)))
    return boxes


def _runs(present: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in `present`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _union(boxes: list[Box]) -> Box:
    union = boxes[0]
    for box in boxes[1:]:
        union = union.union(box)
    return union


def _grown_within(box: Box, growth: int, bounds: Box) -> Box:
    left, top = max(box.left - growth, bounds.left), max(box.top - growth, bounds.top)
    right, bottom = min(box.right + growth, bounds.right), min(box.bottom + growth, bounds.bottom)
    return Box(left, top, max(right - left, 0), max(bottom - top, 0))


def _ring_noise(channel: np.ndarray) -> float:
    """The noise deviation of a window's ring: the median absolute difference of neighbours along it
    (scaled to a Gaussian's sigma), over the pairs that differ at all. Differences, because the
    background may be two flat values (a CT's padding beside its air) or a slope; pairs that differ,
    because a background mostly of one value (MR air) would otherwise give no noise."""
    steps = np.concatenate([np.abs(np.diff(channel[:RING_PX], axis=1)).ravel(),
                            np.abs(np.diff(channel[-RING_PX:], axis=1)).ravel(),
                            np.abs(np.diff(channel[:, :RING_PX], axis=0)).ravel(),
                            np.abs(np.diff(channel[:, -RING_PX:], axis=0)).ravel()])
    moving = steps[steps > 0]
    return float(np.median(moving)) * MAD_TO_SIGMA / np.sqrt(2.0) if moving.size else 0.0


def _ring(values: np.ndarray) -> np.ndarray:
    """The pixels within RING_PX of the edge of a 2-D array."""
    return np.concatenate([values[:RING_PX].ravel(), values[-RING_PX:].ravel(),
                           values[RING_PX:-RING_PX, :RING_PX].ravel(), values[RING_PX:-RING_PX, -RING_PX:].ravel()])
