"""The de-identification scorer, judged on the untouched corpus, a hand-redacted copy, copies with
known faults, and real images with burned-in PHI (Presidio's samples).

The hand redactor below is a test helper: it knows the truth, so it redacts exactly what the truth
names (every PHI box filled, every PHI element replaced, UIDs remapped consistently) and keeps the
transfer syntax. Assertion messages name files, paths and categories, never PHI values.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pack_bits
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.conftest import PRESIDIO_SAMPLES
from transforms.deid import DeidOptions
from transforms.deid.header import deidentify_file
from transforms.keyring import Keyring
from transforms.scoring import score_directories
from transforms.scoring.cli import main as score_main
from transforms.scoring.coverage import BoxMeasure, is_phi_removed, lossy_tolerance, measure_box, text_mask
from transforms.scoring.ink import ink_changed_share
from transforms.scoring.pixels import _beyond
from transforms.scoring.ocr import OcrRequest, read_boxes
from transforms.scoring.validity import check_validity
from transforms.synth import generate_corpus
from transforms.synth.encoding import write_instance
from transforms.synth.truth import FileTruth, load_truth_dir
from transforms.text_types import Box

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "corpus"
PRESIDIO = PRESIDIO_SAMPLES
SINGLE_FRAME_LOSSLESS = "000_CT_explicit_le.dcm"
CT_SERIES = ["000_CT_explicit_le.dcm", "001_CT_implicit_le.dcm", "002_CT_rle.dcm"]
DATE_PLACEHOLDERS = {"DA": "19000101", "TM": "000000", "DT": "19000101000000"}


# ---------------------------------------------------------------- the hand redactor (test helper)

def _new_uid(original: str) -> str:
    return str(generate_uid(entropy_srcs=["hand-redacted", original]))


def _holder(ds: Dataset, path: str) -> tuple[Dataset, int]:
    """The dataset that holds the element at `path` and its tag (a private sequence read as UN
    bytes from an implicit VR file is treated as one element)."""
    parts = path.split(".")
    current = ds.file_meta if int(parts[0][:4], 16) == 0x0002 else ds
    for part in parts[:-1]:
        tag_hex, _, index = part.partition("[")
        element = current[int(tag_hex, 16)]
        if element.VR != "SQ":
            return current, int(tag_hex, 16)
        current = element.value[int(index.rstrip("]"))]
    return current, int(parts[-1], 16)


def _replace_header_phi(ds: Dataset, truth: FileTruth, leave_paths: frozenset[str]) -> None:
    for item in truth.header_phi:
        if item.element_path in leave_paths:
            continue
        holder, tag = _holder(ds, item.element_path)
        if tag not in holder:
            continue
        element = holder[tag]
        if element.VR == "UI":
            element.value = _new_uid(item.value)
        elif element.VR in ("OB", "OW", "UN"):
            element.value = b""
        elif element.VR in DATE_PLACEHOLDERS:
            element.value = DATE_PLACEHOLDERS[element.VR]
        elif element.VR in ("AS", "CS"):
            element.value = ""
        elif tag == 0x00100020:
            element.value = f"PSEUDO-{truth['patient_key']}"     # one pseudonym per patient
        elif tag == 0x00100010:
            element.value = f"PSEUDO^{truth['patient_key']}"
        else:
            element.value = "REDACTED"


def _fill_value(ds: Dataset):
    if ds.SamplesPerPixel == 3:
        return (0, 0, 0)
    return -(1 << (ds.BitsStored - 1)) if ds.PixelRepresentation else 0


def hand_redact(truth: FileTruth, out_path: Path, leave_boxes: frozenset[tuple] = frozenset(),
                leave_paths: frozenset[str] = frozenset()) -> None:
    """Fill every PHI box (except `leave_boxes`: (frame, plane, left, top)) and replace every PHI
    element (except `leave_paths`), writing the same transfer syntax."""
    ds = pydicom.dcmread(truth.path)
    frames = np.array(ds.pixel_array)
    if truth["frames"] == 1:
        frames = frames[None]
    fill = _fill_value(ds)
    for text in truth.phi_boxes:
        box = text.box
        if (text.frame, text.plane, box.left, box.top) in leave_boxes:
            continue
        if text.overlay_group is None:
            frames[text.frame, box.top:box.bottom, box.left:box.right] = fill
        else:
            bits = ds.overlay_array(text.overlay_group)
            bits[box.top:box.bottom, box.left:box.right] = 0
            ds[(text.overlay_group << 16) | 0x3000].value = pack_bits(bits.ravel())
    _replace_header_phi(ds, truth, leave_paths)
    if ds.SamplesPerPixel == 3:
        ds.PhotometricInterpretation = "RGB"          # decoded to RGB; the encoder sets its own
    write_instance(ds, frames, str(ds.file_meta.TransferSyntaxUID), out_path)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def truths() -> dict[str, FileTruth]:
    return {t.name: t for t in load_truth_dir(CORPUS)}


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory, truths: dict[str, FileTruth]) -> Path:
    out = tmp_path_factory.mktemp("redacted")
    for name, truth in truths.items():
        hand_redact(truth, out / f"redacted_{name}")
    return out


def _copy_subset(source: Path, names: list[str], target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(source / name, target / name)
    return target


# ---------------------------------------------------------------- untouched and hand-redacted

def test_untouched_corpus_reports_every_phi_item_leaked(truths: dict[str, FileTruth]) -> None:
    report = score_directories(CORPUS, CORPUS, run_ocr=False, run_dciodvfy=False)
    totals = report.totals
    header, pixels = totals["header"], totals["pixels"]
    assert header["items"] == sum(len(t.header_phi) for t in truths.values())
    assert header["leaked"] == header["items"], f"{header['items'] - header['leaked']} PHI items not found"
    assert pixels["phi_boxes"] == sum(len(t.phi_boxes) for t in truths.values())
    assert pixels["phi_removed"] == 0 and pixels["phi_recall"] == 0.0
    assert pixels["non_phi_kept_share"] == 1.0 and pixels["non_text_pixels_changed"] == 0
    assert totals["integrity"]["bit_identical_outside_boxes"] == totals["integrity"]["lossless_outputs"] > 0
    assert not report.consistency.consistent, "original UIDs kept must fail consistency"
    assert not report.passed


def test_hand_redacted_copy_gets_the_expected_figures(redacted: Path, truths: dict[str, FileTruth]) -> None:
    report = score_directories(CORPUS, redacted, run_ocr=False, run_dciodvfy=True)
    totals = report.totals
    assert totals["files"]["matched"] == len(truths) and totals["files"]["unmatched_outputs"] == 0
    leaked = [(f.truth_file, i.element_path, i.category) for f in report.files for i in f.header_leaks]
    assert leaked == [], f"header leaks reported: {leaked}"
    not_removed = [(f.truth_file, b.frame, b.category) for f in report.files for b in f.pixels.boxes
                   if b.is_phi and not b.removed]
    assert not_removed == [], f"PHI boxes not counted as removed: {not_removed}"
    assert totals["pixels"]["phi_recall"] == 1.0
    assert totals["pixels"]["non_phi_kept_share"] == 1.0
    for f in report.files:
        if not f.truth["lossy"]:
            assert f.integrity.bit_identical_outside_boxes, f"{f.truth_file}: pixels changed outside boxes"
        else:
            assert f.integrity.psnr_outside_boxes > 35, f"{f.truth_file}: PSNR {f.integrity.psnr_outside_boxes}"
        assert f.integrity.transfer_syntax_kept and f.integrity.frames_kept, f.truth_file
    assert report.consistency.consistent, json.dumps(report.consistency.to_json())
    assert report.consistency.references_resolved == report.consistency.references > 0
    assert totals["validity"]["checked"] == len(truths) and totals["validity"]["added_errors"] == 0
    assert report.passed


def test_one_box_and_one_header_value_left_are_exactly_what_is_reported(
        tmp_path: Path, truths: dict[str, FileTruth]) -> None:
    truth = truths[SINGLE_FRAME_LOSSLESS]
    left_box = truth.phi_boxes[0]
    left_key = (left_box.frame, left_box.plane, left_box.box.left, left_box.box.top)
    hand_redact(truth, tmp_path / "out.dcm", leave_boxes=frozenset({left_key}),
                leave_paths=frozenset({"00102154"}))
    report = score_directories(CORPUS, tmp_path, run_ocr=False, run_dciodvfy=False, only=[truth.name])
    (scored,) = report.files
    leaks = [(i.element_path, i.category, i.at_path) for i in scored.header_leaks]
    assert leaks == [("00102154", "PHONE", True)], f"header leaks: {leaks}"
    kept = [(b.frame, b.plane, b.box[0], b.box[1]) for b in scored.pixels.boxes if b.is_phi and not b.removed]
    assert kept == [left_key], f"boxes not removed: {kept}"
    phi = report.totals["pixels"]
    assert phi["phi_removed"] == phi["phi_boxes"] - 1
    assert scored.integrity.bit_identical_outside_boxes


# ---------------------------------------------------------------- header renderings

def test_header_leaks_are_found_in_other_renderings_but_not_for_short_tokens(
        tmp_path: Path, truths: dict[str, FileTruth]) -> None:
    truth = truths[SINGLE_FRAME_LOSSLESS]
    out = tmp_path / "out.dcm"
    hand_redact(truth, out)
    value = {item.element_path: item.value for item in truth.header_phi}
    family, given = value["00100010"].split("^")[:2]
    birth = value["00100030"]
    patient_id = value["00100020"]
    assert patient_id.startswith("00"), "the first patient's ID is zero-padded by construction"
    ds = pydicom.dcmread(out)
    ds.StudyComments = f"seen with {given.lower()} {family.title()}"             # parts reordered, case changed
    ds.AdditionalPatientHistory = f"born {birth[6:8]}.{birth[4:6]}.{birth[:4]}"   # DD.MM.YYYY
    ds.PatientComments = f"old id {patient_id.lstrip('0')}"                       # leading zeros dropped
    ds.ImageComments = f"{truth['kind']} M {given[:1]}."                          # sex and an initial
    ds.save_as(out)
    report = score_directories(CORPUS, tmp_path, run_ocr=False, run_dciodvfy=False, only=[truth.name])
    leaks = {i.element_path: set(i.elsewhere) for i in report.files[0].header_leaks}
    assert "00324000" in leaks.get("00100010", set()), "reordered name not found"
    assert "001021B0" in leaks.get("00100030", set()), "reformatted birth date not found"
    assert "00104000" in leaks.get("00100020", set()), "ID without leading zeros not found"
    short = [path for path, where in leaks.items() if "00204000" in where]
    assert short == [], f"short tokens reported as leaks for {short}"
    assert not any(i.at_path for i in report.files[0].header_leaks)


# ---------------------------------------------------------------- matching, missing, consistency, validity

def test_outputs_are_matched_by_content_after_renaming(tmp_path: Path, truths: dict[str, FileTruth]) -> None:
    shuffled = tmp_path / "out"
    mapping_rows = []
    for number, (name, truth) in enumerate(sorted(truths.items(), reverse=True)):
        target = shuffled / f"patient{number % 3}" / f"{hashlib.sha1(name.encode()).hexdigest()}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(truth.path, target)
        mapping_rows.append((name, str(target.relative_to(shuffled))))
    report = score_directories(CORPUS, shuffled, run_ocr=False, run_dciodvfy=False)
    for f in report.files:
        matched = hashlib.sha256((shuffled / f.output_file).read_bytes()).hexdigest()
        assert matched == truths[f.truth_file]["sha256"], f"{f.truth_file} matched to another file"
    mapping = tmp_path / "mapping.csv"
    with open(mapping, "w", newline="") as fh:
        csv.writer(fh).writerows([("truth", "output"), *mapping_rows])
    mapped = score_directories(CORPUS, shuffled, run_ocr=False, run_dciodvfy=False, mapping_csv=mapping)
    assert {f.match_method for f in mapped.files} == {"mapping"}


def test_missing_output_counts_against_every_figure(tmp_path: Path, redacted: Path) -> None:
    _copy_subset(redacted, [f"redacted_{CT_SERIES[0]}"], tmp_path)
    report = score_directories(CORPUS, tmp_path, run_ocr=False, run_dciodvfy=False, only=CT_SERIES[:2])
    statuses = sorted(f.status for f in report.files)
    assert statuses == ["matched", "missing"]
    pixels = report.totals["pixels"]
    assert 0 < pixels["phi_recall"] < 1 and pixels["non_phi_kept_share"] < 1
    assert not report.passed


def test_consistency_catches_a_split_series_and_a_broken_reference(tmp_path: Path, redacted: Path) -> None:
    _copy_subset(redacted, [f"redacted_{n}" for n in CT_SERIES], tmp_path)
    split = pydicom.dcmread(tmp_path / f"redacted_{CT_SERIES[2]}")
    split.SeriesInstanceUID = _new_uid("another series")
    split.save_as(tmp_path / f"redacted_{CT_SERIES[2]}")
    broken = pydicom.dcmread(tmp_path / f"redacted_{CT_SERIES[1]}")
    broken.ReferencedImageSequence[0].ReferencedSOPInstanceUID = _new_uid("nowhere")
    broken.save_as(tmp_path / f"redacted_{CT_SERIES[1]}")
    report = score_directories(CORPUS, tmp_path, run_ocr=False, run_dciodvfy=False, only=CT_SERIES)
    checks = {c.name: c for c in report.consistency.checks}
    assert checks["series_instance_uid"].split == 1
    assert checks["study_instance_uid"].consistent and checks["patient_id"].consistent
    assert (report.consistency.references, report.consistency.references_resolved) == (2, 1)
    assert not report.consistency.consistent


def test_validity_reports_added_errors_without_values(tmp_path: Path, redacted: Path) -> None:
    name = f"redacted_{SINGLE_FRAME_LOSSLESS}"
    _copy_subset(redacted, [name], tmp_path)
    ds = pydicom.dcmread(tmp_path / name)
    ds.PatientName = "X" * 80                      # PN longer than 64 characters
    del ds.Modality                                # a Type 1 attribute
    ds.save_as(tmp_path / name)
    report = score_directories(CORPUS, tmp_path, run_ocr=False, run_dciodvfy=True, only=[SINGLE_FRAME_LOSSLESS])
    validity = report.files[0].validity
    assert validity.ran and validity.added_errors >= 2
    assert any("Modality" in kind for kind in validity.added_kinds)
    assert not any("XXXX" in kind for kind in validity.added_kinds), "a value was kept in an error kind"


def test_an_error_the_input_had_is_not_added_when_its_uid_changed(tmp_path: Path) -> None:
    # pydicom's SR sample references instances missing from its evidence sequence: five errors that
    # quote the referenced UIDs, which de-identification replaces. They were counted as added.
    source = Path(get_testdata_file("test-SR.dcm"))
    output = tmp_path / "sr.dcm"
    output.write_bytes(deidentify_file(source, DeidOptions(), Keyring.from_env())[0])
    validity = check_validity(source, output)
    assert validity.ran and validity.input_errors >= 5
    assert validity.added_errors == 0, validity.added_kinds


def test_broken_outputs_are_reported_not_fatal(tmp_path: Path, redacted: Path) -> None:
    """A truncated output and a stray non-DICOM file: the run finishes and says what it could not do."""
    name = f"redacted_{SINGLE_FRAME_LOSSLESS}"
    data = (redacted / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.txt").write_text("not a DICOM file\n")
    report = score_directories(CORPUS, tmp_path, run_ocr=True, run_dciodvfy=True, only=[SINGLE_FRAME_LOSSLESS])
    (scored,) = report.files
    assert scored.status == "matched" and not scored.pixels.scorable
    assert scored.pixels.reason.startswith("pixel_decode_failed")
    assert report.totals["pixels"]["phi_recall"] == 0.0 and not report.passed
    assert report.skipped_outputs == ["notes.txt"]


# ---------------------------------------------------------------- the OCR pass and the removal rule

def test_ocr_pass_reads_untouched_phi_and_nothing_once_redacted(tmp_path: Path, redacted: Path) -> None:
    names = [SINGLE_FRAME_LOSSLESS, "007_US_jpeg_baseline.dcm"]
    untouched = score_directories(CORPUS, CORPUS, run_ocr=True, run_dciodvfy=False, only=names).totals["pixels"]
    assert untouched["phi_boxes_ocr_checked"] == untouched["phi_boxes"] > 0
    share = untouched["phi_still_read_by_ocr"] / untouched["phi_boxes_ocr_checked"]
    assert share >= 0.5, f"OCR read only {share:.0%} of untouched PHI boxes"
    _copy_subset(redacted, [f"redacted_{n}" for n in names], tmp_path)
    cleaned = score_directories(CORPUS, tmp_path, run_ocr=True, run_dciodvfy=False, only=names).totals["pixels"]
    assert cleaned["phi_still_read_by_ocr"] == 0 and cleaned["phi_recall"] == 1.0


def test_removal_rule_thresholds() -> None:
    assert is_phi_removed(BoxMeasure(0.95, 1.0), ocr_reads=True)
    assert is_phi_removed(BoxMeasure(0.70, 0.7), ocr_reads=False)
    assert not is_phi_removed(BoxMeasure(0.70, 0.7), ocr_reads=True)
    assert not is_phi_removed(BoxMeasure(0.70, 0.7), ocr_reads=None)     # OCR not run: no benefit of doubt
    assert not is_phi_removed(BoxMeasure(0.40, 0.4), ocr_reads=False)


def test_coverage_counts_paint_not_blur_and_not_codec_noise() -> None:
    rng = np.random.default_rng(0)
    before = rng.integers(0, 30, (20, 60)).astype(np.int32)               # dark noisy background
    before[6:14, 5:55:3] = 255                                            # bright strokes
    painted = np.zeros_like(before)
    assert measure_box(before, painted, 0.0).coverage == 1.0              # black paint over black-ish
    half = before.copy()
    half[:, :30] = 0
    assert 0.4 < measure_box(before, half, 0.0).coverage < 0.6
    blurred = (before + np.roll(before, 1, axis=1) + np.roll(before, 1, axis=0)) // 3
    assert measure_box(before, blurred, 0.0).coverage < 0.5
    noisy = before + rng.integers(-2, 3, before.shape)
    assert measure_box(before, noisy, 2.0, lossy=True).coverage == 0.0


def _presidio_boxes() -> dict[str, list[tuple[Box, str]]]:
    """Presidio's ground truth boxes are in a 25 px padded frame: shift them back."""
    truth = json.loads((PRESIDIO / "ground_truth.json").read_text())
    sources = {"2_ORIGINAL.dcm": "sample_data/2_ORIGINAL.dcm", "0_ORIGINAL_compressed.dcm": "sample_data/0_ORIGINAL.dcm"}
    return {name: [(Box(max(0, b["left"] - 25), max(0, b["top"] - 25), b["width"], b["height"]), b["label"])
                   for b in truth[key]] for name, key in sources.items()}


def test_paint_beyond_the_truth_boxes_is_not_taken_for_codec_error() -> None:
    """A lossy output: codec noise of +-2 everywhere, and a filled line whose paint (4095) reaches past
    its truth box over a word space and padding. The paint is far from the codec's error; counted in
    the tolerance, it made the fill over bright anatomy (3000 -> 4095) look unchanged."""
    rng = np.random.default_rng(5)
    before = np.full((200, 300), 400, np.int64)
    before[20:40, 100:200] = 3000                                    # bright anatomy under the text
    after = before + rng.integers(-2, 3, before.shape)
    after[18:42, 20:280] = 4095                                      # the line's fill, padding included
    truth = Box(100, 22, 100, 16)
    outside = ~text_mask(before.shape, [truth])
    tolerance = lossy_tolerance(before, after, outside)
    assert tolerance <= 2
    box = (slice(truth.top, truth.bottom), slice(truth.left, truth.right))
    assert measure_box(before[box], after[box], tolerance, lossy=True).coverage == 1.0
    noise_only = before + rng.integers(-2, 3, before.shape)             # no paint: the codec's level
    assert lossy_tolerance(before, noise_only, outside) == 2


def test_ocr_and_coverage_on_real_burned_in_phi() -> None:
    """Real images (TCIA pseudo-PHI via Presidio): the OCR reads their burned-in PHI, and after the
    boxes are painted it reads none of it and coverage is complete."""
    for name, boxes in _presidio_boxes().items():
        pixels = pydicom.dcmread(PRESIDIO / name).pixel_array
        painted = pixels.copy()
        for box, _ in boxes:
            painted[box.top:box.bottom, box.left:box.right] = pixels.min()
        for image, expect_read in ((pixels, True), (painted, False)):
            requests = [OcrRequest(i, image[r.top:r.bottom, r.left:r.right].copy(), text, box.height)
                        for i, (box, text) in enumerate(boxes)
                        for r in [box.padded(max(3, box.height // 3), *image.shape)]]
            reads = read_boxes(requests)
            read_count = sum(reads.values())
            if expect_read:
                assert read_count >= len(boxes) - 1, f"{name}: OCR read {read_count} of {len(boxes)} real PHI boxes"
            else:
                assert read_count == 0, f"{name}: OCR still reads {read_count} painted boxes"
        coverages = [measure_box(pixels[b.top:b.bottom, b.left:b.right], painted[b.top:b.bottom, b.left:b.right], 0.0)
                     .coverage for b, _ in boxes]
        assert min(coverages) == 1.0


# ---------------------------------------------------------------- report and CLI

def test_report_never_contains_phi_values(truths: dict[str, FileTruth]) -> None:
    report = score_directories(CORPUS, CORPUS, run_ocr=False, run_dciodvfy=False)
    rendered = report.to_json() + report.to_table()
    values = {item.value for t in truths.values() for item in t.header_phi if len(item.value) >= 6}
    values |= {b.text for t in truths.values() for b in t.phi_boxes if len(b.text) >= 6}
    found = sum(1 for value in values if value in rendered)
    assert found == 0, f"{found} PHI values appear in the report"


def test_cli_exit_codes_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = score_main(["--truth", str(CORPUS), "--deidentified", str(CORPUS), "--no-ocr", "--no-dciodvfy", "--json"])
    assert code == 1
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["passed"] is False and parsed["totals"]["header"]["leaked"] > 0
    assert score_main(["--truth", str(tmp_path / "absent"), "--deidentified", str(CORPUS)]) == 2
    assert score_main(["--truth", str(CORPUS)]) == 2


# ---------------------------------------------------------------- ink, labels, collateral, held (issues 22, 29)

def test_ink_share_counts_changed_ink_and_ink_left_without_contrast() -> None:
    rng = np.random.default_rng(1)
    dark = rng.integers(10, 30, (12, 40)).astype(np.int32)
    mask = np.zeros(dark.shape, bool)
    mask[3:9, 4:36:3] = True                                           # strokes
    bright_text = np.where(mask, 250, dark)
    assert ink_changed_share(bright_text, bright_text, mask) == 0.0
    assert ink_changed_share(bright_text, np.zeros_like(bright_text), mask) == 1.0
    half = bright_text.copy()
    half[:, :20] = 0
    assert ink_changed_share(bright_text, half, mask) == mask[:, :20].sum() / mask.sum()
    light = 255 - dark
    dark_text = np.where(mask, 5, light)                               # dark ink over a bright background
    painted_black = np.full_like(dark_text, 5)                         # the fill has the ink's own value
    assert ink_changed_share(dark_text, painted_black, mask) == 1.0, "contrast gone must count as wiped"
    codec = bright_text + rng.integers(-3, 4, bright_text.shape)       # a lossy copy, nobody touched it
    assert ink_changed_share(bright_text, codec, mask, tolerance=2.0, lossy=True) == 0.0


@pytest.fixture(scope="module")
def rotated_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[FileTruth]:
    """Small realistic files (seed 102: a development seed) whose lossless ones the tests edit by hand."""
    root = tmp_path_factory.mktemp("rotated")
    generate_corpus(root, n=4, seed=102, style="rotated", max_side=256)
    truths = [t for t in load_truth_dir(root) if not t["lossy"] and t["frames"] == 1]
    assert len(truths) >= 2
    return truths


def _edited_copy(truth: FileTruth, out_dir: Path, edit) -> Path:
    """The file with its frame changed by `edit(frame)` (same syntax, same header), and a mapping CSV."""
    ds = pydicom.dcmread(truth.path)
    frame = np.array(ds.pixel_array)
    edit(frame)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_instance(ds, frame[None], str(ds.file_meta.TransferSyntaxUID), out_dir / truth.name)
    mapping = out_dir.parent / f"{out_dir.name}.csv"
    mapping.write_text(f"{truth.name},{truth.name}\n")
    return mapping


def _score_one(truth: FileTruth, out_dir: Path, mapping: Path):
    return score_directories(truth.path.parent, out_dir, run_ocr=False, run_dciodvfy=False, mapping_csv=mapping,
                             only=[truth.name])


def test_half_wiped_value_label_kept_and_collateral_are_measured(tmp_path: Path,
                                                                rotated_corpus: list[FileTruth]) -> None:
    truth = rotated_corpus[0]
    texts = list(truth.burned_in_text)
    value_id = max((i for i, t in enumerate(texts) if t.role == "value"), key=lambda i: texts[i].ink_mask.sum())
    value = texts[value_id]
    mask = value.ink_mask
    half_columns = value.box.width // 2
    expected = float(mask[:, :half_columns].sum() / mask.sum())
    frame_shape = (truth["rows"], truth["columns"])
    spot = _free_spot(truth, frame_shape, size=6)

    def edit(frame: np.ndarray) -> None:
        box = value.box
        region = frame[box.top:box.bottom, box.left:box.left + half_columns]
        region[...] = np.where(region > 1000, region - 7, region + 7)     # every pixel changes, in range
        frame[spot[0]:spot[0] + 6, spot[1]:spot[1] + 6] ^= 1               # 36 pixels away from any text

    mapping = _edited_copy(truth, tmp_path / "out", edit)
    report = _score_one(truth, tmp_path / "out", mapping)
    boxes = {b.box_id: b for b in report.files[0].pixels.boxes}
    measured = boxes[value_id].ink_changed
    assert abs(measured - expected) < 1e-9, f"half-wiped value: {measured:.3f} of its ink, expected {expected:.3f}"
    assert boxes[value_id].wiped == (expected >= 0.5)
    edited = Box(value.box.left, value.box.top, half_columns, value.box.height)
    labels = [b for b in boxes.values() if b.role == "label"]
    apart = [b for b in labels if not Box(*b.box).overlaps(edited)]     # a skewed neighbour may overlap
    untouched = sum(b.kept and b.ink_changed == 0.0 for b in apart)
    assert apart and untouched == len(apart), f"{untouched} of {len(apart)} untouched labels kept"
    fields = report.totals["fields"]
    assert fields["label_boxes"] == len(labels) and fields["labels_kept"] >= len(apart)
    assert fields["values_wiped"] == int(expected >= 0.5)
    collateral = report.files[0].pixels.collateral
    assert collateral == 36 / (truth["rows"] * truth["columns"]), f"collateral {collateral}"
    assert report.totals["collateral"]["pixels_changed"] == 36
    orientation = value.orientation
    by_orientation = fields["recall_by_orientation"][orientation]
    assert by_orientation["wiped"] == int(expected >= 0.5)


def _free_spot(truth: FileTruth, shape: tuple[int, int], size: int) -> tuple[int, int]:
    """A square at least 5 px away from every truth box (beyond the 4 px a redactor may pad)."""
    near = text_mask(shape, [t.box for t in truth.burned_in_text], margin=5 + size)
    rows, columns = np.nonzero(~near[:-size, :-size])
    return int(rows[len(rows) // 2]), int(columns[len(columns) // 2])


def test_misses_name_boxes_by_index_and_never_by_text(tmp_path: Path, rotated_corpus: list[FileTruth],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    truth = rotated_corpus[1]
    mapping = _edited_copy(truth, tmp_path / "out", lambda frame: None)     # untouched: every value missed
    code = score_main(["--truth", str(truth.path.parent), "--deidentified", str(tmp_path / "out"),
                       "--mapping", str(mapping), "--no-ocr", "--no-dciodvfy", "--misses"])
    printed = capsys.readouterr().out
    assert code == 1
    values = [(i, t) for i, t in enumerate(truth.burned_in_text) if t.role == "value"]
    listed = [line for line in printed.splitlines() if line.startswith(truth.name[:40])]
    assert len(listed) >= len(values), f"{len(listed)} miss lines for {len(values)} untouched values"
    leaked = sum(t.text in printed for _, t in values if len(t.text) >= 3)
    assert leaked == 0, f"{leaked} PHI texts printed by --misses"
    report = _score_one(truth, tmp_path / "out", mapping)
    missed_ids = {row["box_id"] for row in report.misses() if "box_id" in row}
    assert {i for i, _ in values} <= missed_ids


def test_held_files_are_reported_with_their_reasons_not_as_missing(tmp_path: Path,
                                                                  rotated_corpus: list[FileTruth]) -> None:
    """A run's output folder: manifest.json pairs each published file with its input (no fingerprint:
    a held file is never paired with another input's output, however alike), quarantine.json names the
    held ones and why."""
    held, published = rotated_corpus[0], rotated_corpus[1]
    out = tmp_path / "out"
    _edited_copy(published, out / "pseudo" / "study", lambda frame: None)
    (out / "pseudo" / "study" / published.name).rename(out / "pseudo" / "study" / "instance.dcm")
    _edited_copy(held, out / "other" / "study", lambda frame: None)    # another corpus's output, same pixels
    (out / "manifest.json").write_text(json.dumps({"files": [
        {"gold_path": "pseudo/study/instance.dcm", "sha256": published["sha256"]},
        {"gold_path": f"other/study/{held.name}", "sha256": "f" * 64}]}))
    (out / "quarantine.json").write_text(json.dumps({"files": [
        {"sha256": held["sha256"], "stage": "leakage", "reason": "pixel_leak", "detail": None},
        {"sha256": held["sha256"], "stage": "leakage", "reason": "original_uids", "detail": None}]}))
    report = score_directories(held.path.parent, out, run_ocr=False, run_dciodvfy=False,
                               only=[held.name, published.name])
    statuses = {f.truth_file: (f.status, f.match_method, f.held_reasons) for f in report.files}
    assert statuses[held.name] == ("held", None, ["leakage:original_uids", "leakage:pixel_leak"])
    assert statuses[published.name][:2] == ("matched", "mapping")
    files = report.totals["files"]
    assert (files["held"], files["missing"], files["matched"]) == (1, 0, 1)
    assert files["held_by_reason"] == {"leakage:original_uids": 1, "leakage:pixel_leak": 1}
    published_values = sum(1 for t in published.burned_in_text if t.role == "value")
    assert report.totals["fields"]["value_boxes"] == published_values, "a held file's boxes were counted"
    assert not report.passed


def test_lossy_outputs_count_fills_not_codec_noise() -> None:
    """Lossy: faint (partly inked) glyph pixels painted over count as wiped; scattered codec noise beyond
    the tolerance is not collateral, a painted 5x5 square is."""
    rng = np.random.default_rng(3)
    before = rng.integers(0, 10, (10, 30)).astype(np.int64)
    mask = np.zeros(before.shape, bool)
    mask[2:8, 3:27:2] = True
    before[2:8, 3:27:4] = 2100                                          # stroke cores
    before[2:8, 5:27:4] = 650                                           # faint, partly covered pixels
    painted = rng.integers(0, 4, before.shape)
    assert ink_changed_share(before, painted, mask, tolerance=8.0, lossy=True) == 1.0
    noise = rng.integers(0, 12, (64, 64))
    noise[20:25, 30:35] = 500
    counted = _beyond(noise, tolerance=10.0, lossy=True)
    assert counted.sum() == 25 and counted[20:25, 30:35].all()
    assert _beyond(noise, tolerance=10.0, lossy=False).sum() > 25


def test_lookup_table_data_is_not_searched_as_text() -> None:
    """A palette's entries are numbers; read as bytes they can spell an age ("45 y") by chance."""
    from transforms.scoring.header_leak import element_texts
    ds = Dataset()
    ds.RedPaletteColorLookupTableData = b"45 y" * 8
    ds.ImageComments = "kept"
    paths = {text.path for text in element_texts(ds)}
    assert "00281201" not in paths and "00204000" in paths
