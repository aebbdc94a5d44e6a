"""Leakage measures of one candidate output file: what the gate in front of gold checks.

Each measure is computed independently of the step that produced the file, against what that step
promises: the one table of the header step (`transforms.deid.plan`: what the profile and the options in
force remove, replace or keep, element by element) says which identified values must be gone, and the
header is scanned for them (every rendering the recognizer knows); the UIDs the profile replaces are
searched everywhere; dciodvfy must find no error kind the input did not have; and every redacted frame
is read again by an independent OCR pass (full frame, sparse-text page segmentation, stored-range
preparation; the detection pass used line crops, the display window and a block segmentation), its own
morphological lines read as crops, upright and, for text that does not run left to right, turned upright
in every direction that could be its own (no learned model: the detection pass relied on one), and
judged by the PHI recognizer. Only counts, element paths and value-free error kinds come out.

`LEAKAGE_RULES` is the one definition of "clean": the Great Expectations suites and the publish filter
are both built from it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import pydicom
import pytesseract
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.dciodvfy import added_error_kinds, dciodvfy_available, error_kinds
from transforms.deid.dummy_values import DUMMY_BY_VR
from transforms.deid.options import DeidOptions
from transforms.deid.plan import Decision, Fate, plan_elements
from transforms.deid.profile import Op, action_table, load_rows
from transforms.deid.run import effective_vr
from transforms.modes import GateDciodvfy
from transforms.phi import PhiDictionary, PhiRecognizer
from transforms.phi.normalize import plain_key
from transforms.phi.rules import VOCABULARY
from transforms.phi.sources import category_of
from transforms.phi.sparknlp_engine import MIN_LONE_WORD
from transforms.phi.vocabulary import LABEL_WORDS
from transforms.pixels.detect import DEFAULT_SETTINGS, LineCandidate, line_candidates, merge_overlapping
from transforms.pixels.frames import FrameReader
from transforms.pixels.ocr import OcrSettings, ocr_regions, reading_score
from transforms.pixels.orient import Reading, TextRegion, readings_of, region_from_corners, rotated_rectangle, upside_down
from transforms.pixels.prepare import display_grey, grey_views, to_rgb
from transforms.text_types import Box, OcrWord, PhiSpan, TextLine

NUMERIC_VRS = frozenset({"DS", "IS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"})
# Not searched for header values either: UIDs are searched exactly by count_uid_survivors (a standard
# SOP Class UID is public and must not match a dictionary entry), and code strings (Modality "SR",
# PatientPosition "HFS") are defined terms of at most 16 characters that match short name parts by chance.
HEADER_LEAK_SKIPPED_VRS = NUMERIC_VRS | frozenset({"UI", "CS"})
STANDARD_UID_ROOT = "1.2.840.10008."           # DICOM's own UIDs (classes, syntaxes, context groups): not searched
# A "UID" shorter than this ("0", "9.8.7.6", seen in real files) identifies nothing, and as a substring
# it matches almost every output text: reportsi.dcm's "0" held the file for `original_uids`.
MIN_SEARCHED_UID_CHARS = 8
RECHECK_PSM = 11                               # sparse text: no layout assumption
RECHECK_MIN_HEIGHT = 1024                      # frames are upscaled to at least this height for OCR
RECHECK_MAX_UPSCALE = 3.0
# What an element the profile (or an option) keeps unchanged may hold without leaking: the identity of a
# site or a device (Manufacturer "TOSHIBA_MEC" beside InstitutionName "TOSHIBA"; ManufacturerModelName
# "... name here" beside InstitutionName "Here"; a model "<Vendor> Ultrasound Imaging System" beside a
# StationName that is the vendor's word: the kept attribute's own text, which the standard judges safe),
# and a value of the element's own kind (a SeriesDate kept by the Full Dates option that equals a removed
# private date is the date the option keeps; a kept time may spell a removed date's digits). Site and
# device identity are the values of the rows Retain Institution / Device Identity govern in Table E.1-1
# (`identity_tags`), plus the INSTITUTION category (issuers name the site too). A person's name, an ID or
# an address there still leaks.
SITE_CATEGORIES = frozenset({"INSTITUTION"})
TEMPORAL_CATEGORIES = frozenset({"DATE", "TIME"})
IDENTITY_OPTION_COLUMNS = ("rtnDevIdOpt", "rtnInstIdOpt")


@dataclass(frozen=True)
class KeptValue:
    value: str
    category: str | None        # the element's own dictionary category (DATE for a DA), if any

    @property
    def own_categories(self) -> frozenset[str]:
        """What this element may hold although another element's value of that kind was removed."""
        if self.category in TEMPORAL_CATEGORIES:
            return SITE_CATEGORIES | TEMPORAL_CATEGORIES
        return SITE_CATEGORIES | ({self.category} if self.category else set())


@dataclass(frozen=True)
class HeaderPromise:
    """What the header step promises for one file, read from its one table (`transforms.deid.plan`).

    `phi`: the identified values the profile and options remove or replace (the header scan's dictionary
    for every element that is not kept as read); `personal`: the same without site and device identity
    (the dictionary for elements kept as read); `kept`: element path -> value of the public elements kept
    as read; `uids`: the UIDs the profile replaces (searched everywhere, see `replaced_uids`); `dummies`:
    element path -> the dummy the header step writes there (D), which is the promise kept, not a leak,
    even where an identified value happens to equal it (a birth time "000000" and the dummy SeriesTime
    "000000"; an input already anonymised to "REDACTED")."""

    phi: PhiDictionary
    personal: PhiDictionary
    kept: Mapping[str, KeptValue]
    uids: frozenset[str]
    dummies: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeakageRule:
    """One expectation over the leakage report: `column` must lie in [low, high] (or equal `value`)."""

    check: str
    column: str
    low: int | None = None
    high: int | None = None
    value: bool | None = None
    description: str = ""

    def passes(self, observed) -> bool:
        if self.value is not None:
            return observed == self.value
        return observed is not None and self.low <= observed <= self.high


LEAKAGE_RULES: tuple[LeakageRule, ...] = (
    LeakageRule("header_leak", "header_leak_hits", 0, 0,
                description="no value the profile removes or replaces, in any rendering, in the output header"),
    LeakageRule("pixel_leak", "pixel_leak_hits", 0, 0,
                description="an independent OCR pass finds no PHI in any redacted frame"),
    LeakageRule("original_uids", "uid_survivors", 0, 0,
                description="no UID the profile replaces survives anywhere"),
    LeakageRule("deid_record", "record_present", value=True,
                description="PatientIdentityRemoved=YES, method text and CID 7050 codes present"),
    LeakageRule("structure", "structure_ok", value=True,
                description="readable; rows, columns, frames, SOP class and planned syntax kept; "
                            "no dciodvfy error the input did not have"),
)


@dataclass
class LeakageMeasures:
    header_leak_hits: int = 0
    header_leak_paths: list[str] = field(default_factory=list)    # element paths: no values
    uid_survivors: int = 0
    record_present: bool = False
    structure_ok: bool = False
    structure_problems: list[str] = field(default_factory=list)
    pixel_leak_hits: int = 0
    pixel_leak_frames: list[int] = field(default_factory=list)
    frames_rechecked: int = 0

    def failed_checks(self) -> list[str]:
        return [rule.check for rule in LEAKAGE_RULES if not rule.passes(getattr(self, rule.column))]


@dataclass(frozen=True)
class Expected:
    rows: int | None
    columns: int | None
    frames: int
    sop_class_uid: str | None
    output_syntax: str | None
    input_path: str | None = None      # the identified input: dciodvfy's errors there are not the output's


def retained_tags(options: DeidOptions) -> frozenset[int]:
    """Tags an option keeps on purpose (Retain Device Identity keeps StationName, ...): not leaks."""
    chosen = action_table(options)
    basic = action_table(DeidOptions())
    kept = (Op.KEEP, Op.RECURSE_RETAIN)
    return frozenset(tag for tag, rule in chosen.rules.items()
                     if rule.op in kept and basic.rules[tag].op not in kept)


def identified_dictionary(rows: Iterable, options: DeidOptions) -> PhiDictionary:
    """The file's PHI dictionary from its bronze rows, minus what the run's options retain (the pixel
    re-check's dictionary: text burned into pixels is judged against every identified value)."""
    keep = retained_tags(options)
    own = [r for r in rows if int(_field(r, "tag"), 16) not in keep] if keep else list(rows)
    return PhiDictionary.from_header_elements(own)


@cache
def identity_tags() -> frozenset[int]:
    """Site and device identity: the tags of the Table E.1-1 rows that Retain Institution Identity or
    Retain Device Identity govern (Institution Name, Station Name, Device Serial Number, ...)."""
    return frozenset(row.tag for row in load_rows()
                     if row.tag is not None and any(column in row.columns for column in IDENTITY_OPTION_COLUMNS))


def header_promise(rows: Iterable, options: DeidOptions) -> HeaderPromise:
    """The header step's promise for one file, from its bronze rows and the run's options."""
    rows = list(rows)
    plan = plan_elements(rows, options)
    promised = [r for r in rows if plan[_field(r, "element_path")].fate is not Fate.KEEP]
    identity = identity_tags()
    personal = [r for r in promised if int(_field(r, "tag"), 16) not in identity]
    return HeaderPromise(phi=PhiDictionary.from_header_elements(promised),
                         personal=PhiDictionary.from_header_elements(personal),
                         kept=kept_values(rows, plan), uids=replaced_uids(rows, plan), dummies=dummies(rows, plan))


def dummies(rows: Iterable, plan: Mapping[str, Decision]) -> dict[str, str]:
    """Element path -> the text of the dummy value the header step writes there (action D)."""
    written = {}
    for r in rows:
        path = _field(r, "element_path")
        if plan[path].op is Op.DUMMY:
            value = DUMMY_BY_VR.get(effective_vr(_field(r, "vr"), int(_field(r, "tag"), 16)))
            if isinstance(value, str):
                written[path] = value
    return written


def replaced_uids(rows: Iterable, plan: Mapping[str, Decision]) -> frozenset[str]:
    """The UIDs the profile replaces: the values of every UI element the header step gives a new UID
    (Table E.1-1's U and the D of a UI, under the options in force, at any depth, also inside a sequence
    the profile removes; unlisted instance-like UIDs; local coding schemes' UIDs) and the Media Storage
    SOP Instance UID.

    Not searched, because the header step keeps them and they identify no one: SOP Class UIDs (standard
    or under a vendor's root, e.g. Siemens' 1.3.12.2.1107.5.9.1 as a ReferencedSOPClassUID), Transfer
    Syntax, Implementation Class, coding scheme and context group UIDs, any UID registered in PS3.6 and
    any value that also stands in an element the header step keeps as read (it is then a definition UID
    of this file, not an instance's). A "UID" shorter than MIN_SEARCHED_UID_CHARS identifies nothing."""
    rows = list(rows)
    kept = {uid for r in rows if _field(r, "vr") == "UI" and plan[_field(r, "element_path")].fate is Fate.KEEP
            for uid in _uid_values(r)}
    return frozenset(uid for r in rows if _field(r, "vr") == "UI" and plan[_field(r, "element_path")].own_op is Op.UID
                     for uid in _uid_values(r)
                     if len(uid) >= MIN_SEARCHED_UID_CHARS and uid not in UID_dictionary
                     and not uid.startswith(STANDARD_UID_ROOT) and uid not in kept)


def _uid_values(row) -> list[str]:
    return [value.strip(" \x00") for value in (_field(row, "value") or "").split("\\")]


def kept_values(rows: Iterable, plan: Mapping[str, Decision]) -> dict[str, KeptValue]:
    """Element path -> identified value of the public elements the header step keeps as read."""
    kept = {}
    for r in rows:
        tag, value, path = int(_field(r, "tag"), 16), _field(r, "value"), _field(r, "element_path")
        if value and not (tag >> 16) & 1 and plan[path].fate is Fate.KEEP:
            kept[path] = KeptValue(value, category_of(_field(r, "keyword"), _field(r, "vr"), False))
    return kept


def measure_candidate(path: str, promise: HeaderPromise, expected: Expected, recognizer: PhiRecognizer,
                      dciodvfy: str = "required") -> LeakageMeasures:
    """Every measure of one output file but the pixel re-check (`recheck_frames`, run per frame)."""
    measures = LeakageMeasures()
    try:
        ds = pydicom.dcmread(path, defer_size=64 * 1024)
    except Exception:  # noqa: BLE001 - an unreadable output fails the structure check
        measures.structure_problems.append("unreadable_output")
        return measures
    measures.header_leak_paths = header_leaks(ds, promise, recognizer)
    measures.header_leak_hits = len(measures.header_leak_paths)
    measures.uid_survivors = count_uid_survivors(ds, promise.uids)
    measures.record_present = record_present(ds)
    measures.structure_problems = structure_problems(ds, expected) + added_validity_errors(
        expected.input_path, path, dciodvfy)
    measures.structure_ok = not measures.structure_problems
    return measures


def header_leaks(ds: Dataset, promise: HeaderPromise, recognizer: PhiRecognizer) -> list[str]:
    """Paths of elements whose text holds a value the header step promised to remove or replace
    (dictionary matches only: pattern matches would flag the pseudonyms and shifted dates the profile
    writes on purpose).

    Header text is typed, not read: a value matches as a whole rendering or a whole name part, letter for
    letter (`typed_matcher`), never one edit away ("Phillips" the operator is not "Philips" the vendor).
    In an element kept as read, site and device identity and a value of the element's own kind are not
    counted (see SITE_CATEGORIES); a value the header step keeps is never searched for."""
    typed = typed_matcher(recognizer)
    leaks = []
    for path, text in text_values(ds, skip_vrs=HEADER_LEAK_SKIPPED_VRS):
        # Numbers (window width 400, slice thickness 5.0) cannot carry a name, address or date, and
        # fuzzy-match short ages and IDs by accident; UIDs are searched exactly by count_uid_survivors.
        if promise.dummies.get(path) == text:
            continue
        kept = promise.kept.get(path)
        as_read = kept is not None and kept.value == text
        dictionary = promise.personal if as_read else promise.phi
        found = {c.category for c in typed.find_phi_in_text(text, dictionary) if c.source == "dictionary"}
        if as_read:
            found -= kept.own_categories
        if found:
            leaks.append(path)
    return leaks


def typed_matcher(recognizer: PhiRecognizer) -> PhiRecognizer:
    """The recognizer for typed header text: no edit allowed (OCR's slips cannot happen in a value a
    machine wrote), digits exact (`for_typed_text`); the renderings and normalised keys still make
    "DOE^JOHN", "John Doe" and "Müller"/"Mueller" match."""
    typed = recognizer.for_typed_text()
    return PhiRecognizer(replace(typed.settings, edit_bounds=(), long_edits=0))


def count_uid_survivors(ds: Dataset, uids: Iterable[str]) -> int:
    """Elements (file meta, nested, private, any VR) holding one of `uids`, counted per UID found."""
    if not uids:
        return 0
    return sum(1 for _, text in text_values(ds) for uid in uids if uid in text)


def record_present(ds: Dataset) -> bool:
    codes = [str(item.get("CodeValue", "")) for item in ds.get("DeidentificationMethodCodeSequence", [])]
    return (str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"
            and bool(ds.get("DeidentificationMethod")) and "113100" in codes)


def structure_problems(ds: Dataset, expected: Expected) -> list[str]:
    problems = []
    frames = int(ds.get("NumberOfFrames", 1) or 1) if "PixelData" in ds else 0
    checks = (("rows", ds.get("Rows"), expected.rows), ("columns", ds.get("Columns"), expected.columns),
              ("frames", frames, expected.frames), ("sop_class", str(ds.get("SOPClassUID", "")) or None,
                                                    expected.sop_class_uid))
    problems += [f"{name}_changed" for name, got, want in checks if want is not None and got != want]
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if expected.output_syntax and syntax != expected.output_syntax:
        problems.append("transfer_syntax_not_as_planned")
    return problems


def added_validity_errors(input_path: str | None, output_path: str,
                          mode: GateDciodvfy = GateDciodvfy.required) -> list[str]:
    """dciodvfy's error kinds in the output that its input did not have, as `dciodvfy:<kind>` (kinds hold
    no value, see transforms.dciodvfy). `mode`: "required" holds every file with `dciodvfy_not_installed`
    when the tool is missing (nothing unverified is published), "when_installed" skips the comparison
    then, "off" never runs it. A run that fails (`dciodvfy_failed:<error>`) holds the file too."""
    mode = GateDciodvfy(mode)                  # a value outside the enum raises ValueError naming it
    if mode is GateDciodvfy.off or input_path is None:
        return []
    if not dciodvfy_available():
        return ["dciodvfy_not_installed"] if mode is GateDciodvfy.required else []
    try:
        added = added_error_kinds(error_kinds(input_path), error_kinds(output_path))
    except (OSError, subprocess.SubprocessError) as exc:
        return [f"dciodvfy_failed:{type(exc).__name__}"]
    return [f"dciodvfy:{kind}" for kind in sorted(added)]


# The crops of the second look: grey (not binarised), taller text, raw-line segmentation; the detection
# pass binarises and reads single lines (--psm 7).
RECHECK_CROP_SETTINGS = OcrSettings(psm=13, binarize=False, target_height=44, retry_below=0)
# Turned text: grey, taller, single lines (raw-line segmentation read a clean "W 400 L 40" crop as "W400 LA"
# at 10-20 with the LSTM engine; a turned reading must score to count, see `turned_lines`).
RECHECK_TURNED_SETTINGS = OcrSettings(psm=7, binarize=False, target_height=44, retry_below=60)
RECHECK_TURNED_MARGIN = 10.0
RECHECK_TURNED_ASPECT = 3.0


def recheck_frames(path: str, frames: Sequence[int], dictionary: PhiDictionary,
                   recognizer: PhiRecognizer) -> list[int]:
    """Frames of an output file in which an independent reading still finds PHI.

    Two looks at the stored range (the detection pass used the display window): Tesseract over the
    whole frame with sparse-text segmentation, and a fresh detection on the *output* frame whose regions
    are read as grey crops with raw-line segmentation. Text in other orientations (`turned_lines`): the
    same detection's glyphs chained top to bottom and along a slant, and its lines turned half way
    round, read upright in every direction that could be theirs. PHI in any reading fails the frame.
    The detection pass found such text with its learned detector; this one uses none.
    """
    return leaking_frames(recheck_lines(path, frames), dictionary, recognizer)


def recheck_lines(path: str, frames: Sequence[int]) -> list[tuple[int, list[TextLine]]]:
    """The independent reading of each frame (both looks), before any judgement."""
    read = []
    with FrameReader(path) as reader:
        for index in frames:
            frame = reader.decode_frame(index)
            grey = _recheck_view(frame, reader)
            views = grey_views(frame, reader.info, reader.header)
            candidates = line_candidates(views, vertical=True, slanted=True)
            regions = _padded_lines([c.box for c in candidates if not c.vertical and not c.corners], grey.shape)
            lines = full_frame_lines(grey) + ocr_regions(grey, regions, RECHECK_CROP_SETTINGS)
            lines += turned_lines(grey, regions, candidates)
            read.append((int(index), lines))
    return read


SHORT_VALUE = 3          # letters and digits a label's value must exceed (or hold two digits) to count
LEGIBLE_CONFIDENCE = 70.0   # Tesseract's confidence (0-100) at which a word counts as read, not guessed
MIN_FUZZY_LABEL_WORD = 6   # a label word this long read with one letter wrong is still that word
MIN_EDGE_LABEL_WORD = 5    # a label word with a letter more at one end, or cut short, read this long
                           # (not 4: "Agee" is a name, "age" a label)
LONG_LABEL_WORDS = sorted(word for word in LABEL_WORDS if len(word) >= MIN_FUZZY_LABEL_WORD)
NAME_PUNCTUATION = ".,:;\"'()"   # what may stand around a word of a name on an image ("Smith,", "(Jr.)")


def leaking_frames(read: Sequence[tuple[int, list[TextLine]]], dictionary: PhiDictionary,
                   recognizer: PhiRecognizer) -> list[int]:
    """Frames whose reading holds PHI by the recognizer's judgement, in text that can carry it."""
    leaking = []
    for index, lines in read:
        words = [word for line in lines for word in line.words]
        spans = recognizer.find_phi_in_lines(lines, dictionary)
        if any(carries_information(span, [w for w in words if any(w.box.overlaps(b) for b in span.boxes)])
               for span in spans):
            leaking.append(index)
    return leaking


def carries_information(span: PhiSpan, words: Sequence[OcrWord]) -> bool:
    """Whether the text judged PHI could still tell anything. A kept field label is followed, after a
    fill, by what the fill's edge reads as ("Age: i", "Pat Name: iy", "Sexe oa", "Acquisition Time:
    iii"); the recognizer's label rule (source "rule") calls that the label's value by its place alone,
    as the redaction must (an unread value is removed). Here such a value counts only if it is more
    than three letters or digits, holds two digits, or is a single letter after a sex label; a label
    word there, or what OCR makes of one (`_label_word`), is the rest of a misread label ("Accession;
    Numoer"), not its value. The NER's chunks count where they hold a legible word
    (`_legible_name_word`); what the header's values and the patterns found always counts. The
    redaction path keeps the wider judgement; this one only decides whether to hold the file."""
    if span.source == "ner":
        return any(_legible_name_word(word) for word in words)
    if span.source != "rule":
        return True
    value_words = [word for word in words if not _label_word(plain_key(word.text))]
    text = "".join(ch for word in value_words for ch in word.text if ch.isalnum())
    if span.category == "SEX" and len(text) == 1:
        return True
    return len(text) > SHORT_VALUE or sum(ch.isdigit() for ch in text) >= 2


def _label_word(plain: str) -> bool:
    """A word of a label phrase, or what OCR makes of one at a fill's or a frame's edge: a bar beside it
    read as a letter ("DATEI", "BIRTHI"), cut short ("TELEPHO"), or one letter wrong in a long one
    ("numoer", "BIRTHDATI"). Names this close to a label word are rare, and this judgement only decides
    whether the gate holds a file (the redaction path removed names before)."""
    if plain in LABEL_WORDS:
        return True
    if len(plain) >= MIN_EDGE_LABEL_WORD and (plain[:-1] in LABEL_WORDS or plain[1:] in LABEL_WORDS
                                              or any(word.startswith(plain) for word in LONG_LABEL_WORDS)):
        return True
    return len(plain) >= MIN_FUZZY_LABEL_WORD and process.extractOne(
        plain, LONG_LABEL_WORDS, scorer=Levenshtein.distance, score_cutoff=1) is not None


def _legible_name_word(word: OcrWord) -> bool:
    """Whether a word the NER took for part of a name, place or address can be one: letters only, as
    many as the NER's own lone-word rule asks (`MIN_LONE_WORD`), read with confidence, and not a label
    or radiology word. The NER judges OCR remnants of fills and labels by their shape and took them for
    names ("#HIAI", "fo. tes", "PATIENT AGE: PENTA"); the words of such remnants read at 0-63, those of
    PHI left in clear at 69-97 (realistic corpus, seed 61206), and the few remnants read higher were
    short ("ADS", "day"). Whatever the header, the patterns or the label rule find is judged without
    this test, at any length and confidence. A word with a mark inside or around it that no name
    carries ("peoy|" at 77: a fill's edge read as a bar) is a remnant too."""
    plain = plain_key(word.text)           # the key the vocabularies are written in
    return (word.confidence >= LEGIBLE_CONFIDENCE and len(plain) >= MIN_LONE_WORD and plain.isalpha()
            and word.text.strip(NAME_PUNCTUATION).replace("-", "").replace("'", "").isalpha()
            and plain not in VOCABULARY and not _label_word(plain))


def _padded_lines(boxes: Sequence[Box], shape: tuple[int, int]) -> list[Box]:
    """What `detect_text_regions` returns, from candidates already found."""
    margin = DEFAULT_SETTINGS.line_margin_ratio
    return [box.padded(max(1, round(margin * box.height)), *shape) for box in merge_overlapping(list(boxes))]


def turned_lines(grey: np.ndarray, regions: Sequence[Box], candidates: Sequence[LineCandidate]) -> list[TextLine]:
    """Readings of text that may not run left to right, in the two directions along each line, each in
    its upright view (`orient.py`), as grey single lines (`RECHECK_TURNED_SETTINGS`):
    - lines at least `RECHECK_TURNED_ASPECT` heights long, as they stand and turned half way round;
    - vertical chains as long that cross fewer than two horizontal lines (a column of the first letters
      of a text block is not a line), turned a quarter either way;
    - slanted chains, straightened, both ways along them.
    A direction's reading is judged unless it reads clearly worse than the other
    (`RECHECK_TURNED_MARGIN`): text reads far better the right way round (an ID 91-97, and 0 turned the
    wrong way), some text about as well either way ("TIS 0.6" 82, turned "90 SIL" 79), and the wrong
    direction of a kept label can spell a pattern ("Acc:" at 89, turned ":20y" at 17, an age)."""
    rows, columns = grey.shape
    pairs: list[list[tuple[Reading, Box]]] = []
    half, same = upside_down(rows, columns), Reading(0, (rows, columns))
    pairs += [[(same, box), (half, half.box_in_canvas(box))] for box in regions
              if box.width >= RECHECK_TURNED_ASPECT * box.height]
    vertical = merge_overlapping([c.box for c in candidates if c.vertical and not c.corners
                                  and c.box.height >= RECHECK_TURNED_ASPECT * c.box.width])
    turned = [TextRegion(box, -90.0, ((box.left, box.bottom), (box.left, box.top), (box.right, box.top),
                                      (box.right, box.bottom)))
              for box in vertical if sum(1 for other in regions if other.overlaps(box)) < 2]
    turned += [region_from_corners(rotated_rectangle(np.asarray(c.corners)), rows, columns)
               for c in candidates if c.corners]
    pairs += [[(reading, reading.region_in_canvas(region)) for reading in readings_of(region, rows, columns)]
              for region in turned if region.rotated]
    once = replace(RECHECK_TURNED_SETTINGS, retry_below=0)
    lines = []
    for pair in pairs:
        canvases = [reading.canvas(grey) for reading, _ in pair]
        read = [ocr_regions(canvas, [box], once)[0] for canvas, (_, box) in zip(canvases, pair)]
        best = max(range(len(read)), key=lambda k: reading_score(read[k]))
        if reading_score(read[best]) < RECHECK_TURNED_SETTINGS.retry_below:   # the cascade, for that one only
            read[best] = ocr_regions(canvases[best], [pair[best][1]], RECHECK_TURNED_SETTINGS)[0]
        top = max(reading_score(line) for line in read)
        lines += [line for line in read if line.words and reading_score(line) >= top - RECHECK_TURNED_MARGIN]
    return lines


def _recheck_view(frame: np.ndarray, reader: FrameReader) -> np.ndarray:
    """Stored range, not the display window (the detection pass used the window)."""
    info = reader.info
    if frame.ndim == 3:
        rgb = to_rgb(frame, info)
        return np.asarray(rgb, dtype=np.float32).max(axis=2).astype(np.uint8)
    return display_grey(frame, info, reader.header, use_window=False)


def full_frame_lines(grey: np.ndarray) -> list[TextLine]:
    """Tesseract over the whole frame, sparse text, upscaled; words grouped into their lines."""
    scale = min(RECHECK_MAX_UPSCALE, max(1.0, RECHECK_MIN_HEIGHT / grey.shape[0]))
    import cv2

    image = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else grey
    data = pytesseract.image_to_data(image, config=f"--oem 1 --psm {RECHECK_PSM}",
                                     output_type=pytesseract.Output.DICT)
    grouped: dict[tuple, list[OcrWord]] = {}
    for i, text in enumerate(data["text"]):
        if not text.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        box = Box(int(data["left"][i] / scale), int(data["top"][i] / scale),
                  max(1, int(data["width"][i] / scale)), max(1, int(data["height"][i] / scale)))
        words = grouped.setdefault(key, [])
        words.append(OcrWord(text, float(data["conf"][i]), box, len(grouped) - 1, len(words)))
    lines = []
    for words in grouped.values():
        region = words[0].box
        for w in words[1:]:
            region = region.union(w.box)
        lines.append(TextLine(region, tuple(words)))
    return lines


def text_values(ds: Dataset, prefix: str = "", skip_vrs: frozenset[str] = frozenset()
                ) -> Iterable[tuple[str, str]]:
    """(element path, text) of every element with a text rendering, file meta and sequences included."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and not prefix:
        yield from _walk_text(meta, "", skip_vrs)
    yield from _walk_text(ds, prefix, skip_vrs)


def _walk_text(ds: Dataset, prefix: str, skip_vrs: frozenset[str]) -> Iterable[tuple[str, str]]:
    for elem in ds:
        path = f"{prefix}{int(elem.tag):08X}"
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or []):
                yield from _walk_text(item, f"{path}[{index}].", skip_vrs)
            continue
        if elem.tag in (0x7FE00010, 0x7FE00008, 0x7FE00009) or elem.VR in skip_vrs:
            continue
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            text = bytes(value[:4096]).decode("latin-1", errors="ignore")
        elif isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, str):
            text = "\\".join(str(v) for v in value)
        else:
            text = str(value) if value is not None else ""
        if text.strip():
            yield path, text


def _field(row, name: str):
    if isinstance(row, dict):
        return row.get(name)
    return getattr(row, name, None) if not isinstance(row, tuple) else None


