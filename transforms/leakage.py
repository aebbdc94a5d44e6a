"""Leakage measures of one candidate output file: what the gate in front of gold checks.

Each measure is computed independently of the step that produced the file: the header is scanned for
the identified header's values (every rendering the recognizer knows, OCR-tolerant), the original UIDs
are searched everywhere, and every redacted frame is read again by an independent OCR pass (full frame,
sparse-text page segmentation, stored-range preparation; the detection pass used line crops, the display
window and a block segmentation) and judged by the PHI recognizer. Only counts and element paths come out.

`LEAKAGE_RULES` is the one definition of "clean": the Great Expectations suites and the publish filter
are both built from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pydicom
import pytesseract
from pydicom.dataset import Dataset

from transforms.deid.options import DeidOptions
from transforms.deid.profile import Op, action_table
from transforms.phi import PhiDictionary, PhiRecognizer
from transforms.phi.sources import category_of
from transforms.pixels.detect import detect_text_regions
from transforms.pixels.frames import FrameReader
from transforms.pixels.ocr import OcrSettings, ocr_regions
from transforms.pixels.prepare import display_grey, grey_views, to_rgb
from transforms.text_types import Box, OcrWord, TextLine

NUMERIC_VRS = frozenset({"DS", "IS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"})
# Not searched for header values either: UIDs are searched exactly by count_uid_survivors (a standard
# SOP Class UID is public and must not match a dictionary entry), and code strings (Modality "SR",
# PatientPosition "HFS") are defined terms of at most 16 characters that match short name parts by chance.
HEADER_LEAK_SKIPPED_VRS = NUMERIC_VRS | frozenset({"UI", "CS"})
STANDARD_UID_ROOT = "1.2.840.10008."           # DICOM's own UIDs (classes, syntaxes): not identifying
# A "UID" shorter than this ("0", "9.8.7.6", seen in real files) identifies nothing, and as a substring
# it matches almost every output text: reportsi.dcm's "0" held the file for `original_uids`.
MIN_SEARCHED_UID_CHARS = 8
RECHECK_PSM = 11                               # sparse text: no layout assumption
RECHECK_MIN_HEIGHT = 1024                      # frames are upscaled to at least this height for OCR
RECHECK_MAX_UPSCALE = 3.0
# What an element the profile (or an option) keeps unchanged may hold without leaking: a site's name
# (Manufacturer "TOSHIBA_MEC" beside InstitutionName "TOSHIBA"; ManufacturerModelName "... name here"
# beside InstitutionName "Here": the kept attribute's own text, which the standard judges safe), and a
# value of the element's own kind (a SeriesDate kept by the Full Dates option that equals a removed
# private date is the date the option keeps). A person's name, an ID or an address there still leaks.
SITE_CATEGORIES = frozenset({"INSTITUTION"})


@dataclass(frozen=True)
class KeptValue:
    value: str
    category: str | None        # the element's own dictionary category (DATE for a DA), if any


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
                description="no value of the identified header, in any rendering, in the output header"),
    LeakageRule("pixel_leak", "pixel_leak_hits", 0, 0,
                description="an independent OCR pass finds no PHI in any redacted frame"),
    LeakageRule("original_uids", "uid_survivors", 0, 0, description="no original UID survives anywhere"),
    LeakageRule("deid_record", "record_present", value=True,
                description="PatientIdentityRemoved=YES, method text and CID 7050 codes present"),
    LeakageRule("structure", "structure_ok", value=True,
                description="readable; rows, columns, frames, SOP class and planned syntax kept"),
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


def retained_tags(options: DeidOptions) -> frozenset[int]:
    """Tags an option keeps on purpose (Retain Device Identity keeps StationName, ...): not leaks."""
    chosen = action_table(options)
    basic = action_table(DeidOptions())
    kept = (Op.KEEP, Op.RECURSE_RETAIN)
    return frozenset(tag for tag, rule in chosen.rules.items()
                     if rule.op in kept and basic.rules[tag].op not in kept)


def identified_dictionary(rows: Iterable, options: DeidOptions) -> PhiDictionary:
    """The file's PHI dictionary from its bronze rows, minus what the run's options retain."""
    keep = retained_tags(options)
    own = [r for r in rows if int(_field(r, "tag"), 16) not in keep] if keep else list(rows)
    return PhiDictionary.from_header_elements(own)


def original_uids(rows: Iterable) -> set[str]:
    return {value for r in rows if _field(r, "vr") == "UI"
            for value in (_field(r, "value") or "").split("\\")
            if len(value) >= MIN_SEARCHED_UID_CHARS and not value.startswith(STANDARD_UID_ROOT)}


def profile_kept_values(rows: Iterable, options: DeidOptions) -> dict[str, KeptValue]:
    """Element path -> identified value of the standard elements the profile keeps as they are (not in
    Table E.1-1, or kept by it or by an option)."""
    rules = action_table(options).rules
    kept = {}
    for r in rows:
        tag, value = int(_field(r, "tag"), 16), _field(r, "value")
        if value and not (tag >> 16) & 1 and (tag not in rules or rules[tag].op is Op.KEEP):
            kept[_field(r, "element_path")] = KeptValue(value, category_of(_field(r, "keyword"), _field(r, "vr"),
                                                                           False))
    return kept


def measure_candidate(path: str, dictionary: PhiDictionary, uids: set[str], expected: Expected,
                      redacted_frames: Sequence[int], recognizer: PhiRecognizer,
                      check_uids: bool = True, kept_values: Mapping[str, KeptValue] | None = None) -> LeakageMeasures:
    measures = LeakageMeasures()
    try:
        ds = pydicom.dcmread(path, defer_size=64 * 1024)
    except Exception:  # noqa: BLE001 - an unreadable output fails the structure check
        measures.structure_problems.append("unreadable_output")
        return measures
    measures.header_leak_paths = header_leaks(ds, dictionary, recognizer, kept_values)
    measures.header_leak_hits = len(measures.header_leak_paths)
    measures.uid_survivors = count_uid_survivors(ds, uids) if check_uids else 0
    measures.record_present = record_present(ds)
    measures.structure_problems = structure_problems(ds, expected)
    measures.structure_ok = not measures.structure_problems
    if redacted_frames and expected.frames:
        measures.pixel_leak_frames = recheck_frames(path, redacted_frames, dictionary, recognizer)
        measures.pixel_leak_hits = len(measures.pixel_leak_frames)
        measures.frames_rechecked = len(redacted_frames)
    return measures


def header_leaks(ds: Dataset, dictionary: PhiDictionary, recognizer: PhiRecognizer,
                 kept_values: Mapping[str, KeptValue] | None = None) -> list[str]:
    """Paths of elements whose text holds a value of the identified header (dictionary matches only:
    pattern matches would flag the pseudonyms and shifted dates the profile writes on purpose).

    Header text is typed, not read: digits must match exactly (`PhiRecognizer.for_typed_text`).
    `kept_values` (see `profile_kept_values`): in an element kept unchanged, a site's name and a value
    of the element's own kind are not counted (see SITE_CATEGORIES)."""
    typed = recognizer.for_typed_text()
    kept_values = kept_values or {}
    leaks = []
    for path, text in text_values(ds, skip_vrs=HEADER_LEAK_SKIPPED_VRS):
        # Numbers (window width 400, slice thickness 5.0) cannot carry a name, address or date, and
        # fuzzy-match short ages and IDs by accident; UIDs are searched exactly by count_uid_survivors.
        found = {c.category for c in typed.find_phi_in_text(text, dictionary) if c.source == "dictionary"}
        kept = kept_values.get(path)
        if kept is not None and kept.value == text:
            found -= SITE_CATEGORIES | {kept.category}
        if found:
            leaks.append(path)
    return leaks


def count_uid_survivors(ds: Dataset, uids: set[str]) -> int:
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


# The crops of the second look: grey (not binarised), taller text, raw-line segmentation; the detection
# pass binarises and reads single lines (--psm 7).
RECHECK_CROP_SETTINGS = OcrSettings(psm=13, binarize=False, target_height=44, retry_below=0)


def recheck_frames(path: str, frames: Sequence[int], dictionary: PhiDictionary,
                   recognizer: PhiRecognizer) -> list[int]:
    """Frames of an output file in which an independent reading still finds PHI.

    Two looks at the stored range (the detection pass used the display window): Tesseract over the
    whole frame with sparse-text segmentation, and a fresh detection on the *output* frame whose regions
    are read as grey crops with raw-line segmentation. PHI in either reading fails the frame.
    """
    leaking = []
    with FrameReader(path) as reader:
        for index in frames:
            frame = reader.decode_frame(index)
            grey = _recheck_view(frame, reader)
            regions = detect_text_regions(grey_views(frame, reader.info, reader.header))
            lines = full_frame_lines(grey) + ocr_regions(grey, regions, RECHECK_CROP_SETTINGS)
            if recognizer.find_phi_in_lines(lines, dictionary):
                leaking.append(int(index))
    return leaking


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


