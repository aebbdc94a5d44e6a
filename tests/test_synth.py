"""The synthetic corpus generator: determinism, coverage of kinds and syntaxes, truthful ground truth.

Assertion messages name files, element paths and categories, never generated values (they are
identified data by construction).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from transforms.scoring.frames import geometry_of, iter_frames
from transforms.scoring.ocr import OcrRequest, read_boxes
from transforms.scoring.variants import normalize
from transforms.synth import generate_corpus
from transforms.synth.burn import CLASSIC_FONTS
from transforms.synth.cli import main as synth_main
from transforms.synth.fields import GENERIC_WORDS
from transforms.synth.kinds import ALL_SYNTAXES, KINDS
from transforms.synth.large import write_large_file
from transforms.synth.realistic import design_of
from transforms.synth.truth import FileTruth, PhiTruth, load_truth_dir, read_truth, truth_path_for
from transforms.text_types import Box

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "corpus"
CORPUS_COMMAND = ["--out", "{out}", "--n", "16", "--seed", "7"]     # as in docs/corpus-and-scoring.md


@pytest.fixture(scope="module")
def corpus() -> list[FileTruth]:
    truths = load_truth_dir(CORPUS)
    assert truths, "checked-in corpus missing: run deidlake synth --out tests/data/corpus --n 16 --seed 7"
    return truths


def _files(directory: Path) -> dict[str, str]:
    """File name -> SHA-256 (digests, so that a failure never prints the identified bytes)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate_corpus(tmp_path / name, n=3, seed=11)
    generate_corpus(tmp_path / "c", n=3, seed=12)
    first, again, other = (_files(tmp_path / name) for name in ("a", "b", "c"))
    assert len(first) == 6
    assert first == again, "same seed produced different files"
    differing = [name for name in first if first[name] != other.get(name)]
    assert differing == sorted(first), "a different seed left some files identical"


def test_checked_in_corpus_holds_every_kind_and_syntax(corpus: list[FileTruth]) -> None:
    kinds = {t["kind"] for t in corpus}
    syntaxes = {t["transfer_syntax_uid"] for t in corpus}
    assert kinds == set(KINDS), f"kinds missing: {sorted(set(KINDS) - kinds)}"
    assert {str(s) for s in ALL_SYNTAXES} <= syntaxes, f"syntaxes missing: {sorted({str(s) for s in ALL_SYNTAXES} - syntaxes)}"
    assert any(t["frames"] > 1 and t["samples_per_pixel"] == 3 for t in corpus), "no RGB multi-frame cine"
    assert any(any(b.overlay_group is not None for b in t.burned_in_text) for t in corpus), "no overlay text"
    assert any(t["references"] for t in corpus), "no instance references"
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 8 * 2**20, "checked-in corpus grew past 8 MiB"


def test_every_corpus_file_decodes_with_the_stated_geometry(corpus: list[FileTruth]) -> None:
    for truth in corpus:
        ds = pydicom.dcmread(truth.path)
        assert str(ds.file_meta.TransferSyntaxUID) == truth["transfer_syntax_uid"], truth.name
        assert ds.SOPClassUID == truth["sop_class_uid"], truth.name
        frames = list(iter_frames(truth.path, geometry_of(ds)))
        assert len(frames) == truth["frames"], truth.name
        expected = (truth["rows"], truth["columns"]) + ((3,) if truth["samples_per_pixel"] == 3 else ())
        assert all(f.shape == expected for f in frames), truth.name
        if truth["lossy"]:
            assert ds.LossyImageCompression == "01", f"{truth.name}: lossy file not marked"
        if truth["kind"] == "CT":
            assert ds.PixelRepresentation == 1 and float(ds.RescaleIntercept) == -1024, truth.name
        if truth["kind"] in ("CR", "DX"):
            assert ds.PhotometricInterpretation == "MONOCHROME1", truth.name


def test_regenerating_with_the_documented_command_gives_the_checked_in_truth(tmp_path: Path) -> None:
    """Guards against a generator change without a regenerated corpus (pixel bytes are not compared:
    they may differ in the last bit across CPUs, the truth and headers may not)."""
    argv = [a.format(out=tmp_path) for a in CORPUS_COMMAND]
    assert synth_main(argv) == 0
    for fresh in sorted(tmp_path.glob("*.truth.json")):
        kept = json.loads((CORPUS / fresh.name).read_text(encoding="utf-8"))
        new = json.loads(fresh.read_text(encoding="utf-8"))
        kept.pop("sha256"), new.pop("sha256")
        differing = sorted(key for key in kept.keys() | new.keys() if kept.get(key) != new.get(key))
        assert differing == [], f"{fresh.name}: {differing} differ from the checked-in corpus; regenerate it"
        header_same = _header_digest(tmp_path / new["file"]) == _header_digest(CORPUS / kept["file"])
        assert header_same, f"{fresh.name}: the DICOM header differs from the checked-in file"


def _header_digest(path: Path) -> str:
    """A digest of every element but the pixel data."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return hashlib.sha256(repr(ds.file_meta).encode() + repr(ds).encode()).hexdigest()


def _ink_pixels(region: np.ndarray, ink) -> int:
    if region.ndim == 3:
        return int(np.all(region == np.asarray(ink, region.dtype), axis=-1).sum())
    return int((region == ink).sum())


def _rendered_size(text: str, font: str, size_px: int) -> tuple[int, int]:
    """Width and height of the ink Pillow draws for this text, rendered here independently."""
    image_font = ImageFont.truetype(CLASSIC_FONTS[font], size_px)
    canvas = Image.new("L", (size_px * (len(text) + 4), size_px * 3), 0)
    ImageDraw.Draw(canvas).text((size_px, size_px), text, fill=255, font=image_font)
    ys, xs = np.nonzero(np.asarray(canvas))
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def test_truth_boxes_are_the_tight_boxes_of_rendered_text(corpus: list[FileTruth]) -> None:
    """Each pixel box has the size of its text's ink, and (lossless files) holds pixels of exactly
    its ink colour: solid glyph cores. Tiny text may have no fully inked pixel, hence the 95%."""
    checked, with_ink = 0, 0
    for truth in corpus:
        ds = pydicom.dcmread(truth.path)
        for index, frame in enumerate(iter_frames(truth.path, geometry_of(ds))):
            for text in (t for t in truth.burned_in_text if t.frame == index and t.plane == "pixel"):
                box = text.box
                inside = 0 <= box.left and box.right <= truth["columns"] and box.bottom <= truth["rows"]
                assert inside, f"{truth.name} frame {index} {text.category}: box outside the frame"
                size_matches = _rendered_size(text.text, text.font, text.size_px) == (box.width, box.height)
                assert size_matches, f"{truth.name} frame {index} {text.category}: box is not the ink's size"
                if not truth["lossy"]:
                    count = _ink_pixels(frame[box.top:box.bottom, box.left:box.right], text.ink)
                    with_ink += count > 0
                    checked += 1
    share = with_ink / checked
    assert checked > 100 and share >= 0.95, f"{share:.1%} of {checked} lossless boxes hold their ink colour"


def test_ocr_reads_most_large_truth_texts_where_the_truth_says(corpus: list[FileTruth]) -> None:
    """An independent reader (Tesseract) finds the truth text in its box: text and position agree."""
    requests, index = [], 0
    for truth in corpus:
        if truth["lossy"] or truth["frames"] > 1:
            continue
        frame = next(iter(iter_frames(truth.path, geometry_of(pydicom.dcmread(truth.path)))))
        for text in truth.burned_in_text:
            if text.plane == "pixel" and text.box.height >= 14 and all(ord(c) < 128 for c in text.text):
                region = text.box.padded(max(3, text.box.height // 3), truth["rows"], truth["columns"])
                crop = frame[region.top:region.bottom, region.left:region.right]
                requests.append(OcrRequest(index, crop.copy(), text.text, text.box.height))
                index += 1
    reads = read_boxes(requests)
    share = sum(reads.values()) / len(reads)
    assert len(reads) >= 20 and share >= 0.8, f"OCR read {share:.0%} of {len(reads)} large truth texts"


def _resolve(ds: Dataset, path: str):
    """The element at one of our paths; a private sequence read as UN bytes ends the walk early."""
    current: Dataset = ds
    parts = path.split(".")
    for depth, part in enumerate(parts):
        tag_hex, _, index = part.partition("[")
        tag = int(tag_hex, 16)
        holder = ds.file_meta if tag >> 16 == 0x0002 else current
        if tag not in holder:
            return None
        element = holder[tag]
        if not index:
            return element
        if element.VR != "SQ":
            return element                       # implicit VR private sequence: raw bytes
        current = element.value[int(index.rstrip("]"))]
    return None


def _element_texts(element, ds: Dataset) -> list[str]:
    value = element.value
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value).decode("latin-1"), bytes(value).decode("utf-8", "replace")]
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return [str(v) for v in value]
    return [str(value)]


def _holds(item: PhiTruth, element, ds: Dataset) -> bool:
    texts = _element_texts(element, ds)
    if item.rendered is not None:
        return any(item.rendered in t for t in texts)
    if isinstance(element.value, (bytes, bytearray)):
        return any(item.value.split("=")[0] in t for t in texts)
    return item.value in texts if len(texts) > 1 else texts[0] == item.value


def test_truth_header_paths_resolve_to_their_values(corpus: list[FileTruth]) -> None:
    for truth in corpus:
        ds = pydicom.dcmread(truth.path)
        categories = {item.category for item in truth.header_phi}
        assert {"NAME", "ID", "DATE", "AGE", "ACCESSION", "INSTITUTION", "ADDRESS", "PHONE", "TIME", "UID"} <= categories
        for item in truth.header_phi:
            element = _resolve(ds, item.element_path)
            found = element is not None
            assert found, f"{truth.name}: {item.element_path} ({item.category}) not in the file"
            holds = _holds(item, element, ds)       # a bool: pytest must not print the values
            assert holds, f"{truth.name}: {item.element_path} ({item.category}) holds another value"
        paths = [item.element_path for item in truth.header_phi]
        assert any("[" in p for p in paths), f"{truth.name}: no PHI inside a sequence"
        assert any(p.startswith("0029") for p in paths), f"{truth.name}: no PHI in private elements"


def test_large_file_is_written_frame_by_frame(tmp_path: Path) -> None:
    """The streamed writer (small here): a readable multi-frame file whose truth covers every frame."""
    path = write_large_file(tmp_path, seed=5, frames=6, rows=128, columns=160)
    ds = pydicom.dcmread(path)
    assert (ds.NumberOfFrames, ds.Rows, ds.Columns) == (6, 128, 160)
    assert ds.pixel_array.shape == (6, 128, 160)
    truth = read_truth(truth_path_for(path))
    assert {t.frame for t in truth.burned_in_text} == set(range(6))
    assert truth["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_large_option_writes_500_mb_without_holding_it(tmp_path: Path) -> None:
    # VmHWM is this process's own peak: ru_maxrss would carry over the (large) pytest parent's peak,
    # which Linux keeps across fork and exec.
    code = ("import sys; from transforms.synth import generate_corpus; "
            "generate_corpus(sys.argv[1], 0, 3, large=True); "
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO, check=True)
    peak_mib = int(done.stdout.strip()) / 1024
    large = next(tmp_path.glob("large_*.dcm"))
    assert large.stat().st_size >= 500 * 10**6
    assert peak_mib < 400, f"peak memory {peak_mib:.0f} MiB: the large file was held in memory"
    ds = pydicom.dcmread(large, stop_before_pixels=True)
    assert int(ds.NumberOfFrames) * ds.Rows * ds.Columns >= 500 * 10**6


def test_cli_writes_files_and_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_main(["--out", str(tmp_path), "--n", "2", "--seed", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [row["file"] for row in summary["files"]] == sorted(p.name for p in tmp_path.glob("*.dcm"))
    assert summary["unproducible_syntaxes"], "the syntaxes not produced must be listed"
    assert synth_main(["--out", str(tmp_path), "--n", "x", "--seed", "3"]) != 0
    assert synth_main(["--out", str(tmp_path), "--n", "-1", "--seed", "3"]) != 0
    assert synth_main(["--n", "2"]) != 0


# ---------------------------------------------------------------- realistic styles (schema 2)

REALISTIC_SEED = 101           # a development seed (docs/corpus-and-scoring.md lists them; evaluations use others)
REALISTIC_SIDE = 320           # small images keep these tests fast; the layout code is the same at full size
REALISTIC_STYLES = ("overlay", "rotated", "ultrasound", "sc")


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[FileTruth]]:
    root = tmp_path_factory.mktemp("realistic")
    corpora = {}
    for style in REALISTIC_STYLES:
        generate_corpus(root / style, n=3, seed=REALISTIC_SEED, style=style, max_side=REALISTIC_SIDE)
        corpora[style] = load_truth_dir(root / style)
    return corpora


def test_realistic_styles_are_deterministic_per_seed(tmp_path: Path, realistic: dict[str, list[FileTruth]]) -> None:
    for style in REALISTIC_STYLES:
        first = realistic[style][0].path.parent
        generate_corpus(tmp_path / style, n=3, seed=REALISTIC_SEED, style=style, max_side=REALISTIC_SIDE)
        assert _files(tmp_path / style) == _files(first), f"{style}: same seed produced different files"
        generate_corpus(tmp_path / f"{style}-other", n=3, seed=REALISTIC_SEED + 1, style=style, max_side=REALISTIC_SIDE)
        other = _files(tmp_path / f"{style}-other")
        assert not set(other.values()) & set(_files(first).values()), f"{style}: another seed repeated a file"


def _unburned_frames(truth: FileTruth) -> list[np.ndarray]:
    """The file's frames as the generator drew them before any text (its design's backdrop, stored)."""
    generator = truth["generator"]
    design, _ = design_of(generator["seed"], generator["index"], truth["style"], REALISTIC_SIDE)
    return [design.pixel.to_stored(design.backdrop(i)) for i in range(truth["frames"])]


def test_every_burned_pixel_lies_in_a_truth_box_and_every_box_holds_ink(
        realistic: dict[str, list[FileTruth]]) -> None:
    """Truth completeness, checked against the pixels: on lossless files, every pixel the text changed
    is inside a truth box of its frame (plates may reach 2 px beyond), and each box's ink mask marks
    pixels that differ from the picture without text."""
    checked_files, boxes, inked = 0, 0, 0
    for style, truths in realistic.items():
        for truth in (t for t in truths if not t["lossy"]):
            burned = list(iter_frames(truth.path, geometry_of(pydicom.dcmread(truth.path))))
            for index, (with_text, without) in enumerate(zip(burned, _unburned_frames(truth))):
                changed = with_text != without
                changed = changed.any(axis=-1) if changed.ndim == 3 else changed
                covered = np.zeros_like(changed)
                for text in (t for t in truth.burned_in_text if t.frame == index):
                    grown = text.box.padded(2, truth["rows"], truth["columns"])
                    covered[grown.top:grown.bottom, grown.left:grown.right] = True
                    mask = text.ink_mask
                    fits = mask is not None and mask.shape == (text.box.height, text.box.width)
                    assert fits, f"{truth.name} frame {index} {text.category}: ink mask missing or not the box's size"
                    box = text.box
                    share = changed[box.top:box.bottom, box.left:box.right][mask].mean()
                    boxes += 1
                    inked += share >= 0.5
                stray = int((changed & ~covered).sum())
                assert stray == 0, f"{truth.name} frame {index}: {stray} text pixels outside every truth box"
            checked_files += 1
    assert checked_files >= 6 and boxes > 100
    assert inked / boxes >= 0.97, f"only {inked} of {boxes} boxes changed at least half of their ink pixels"


def test_realistic_truth_says_role_angle_and_header_presence(realistic: dict[str, list[FileTruth]]) -> None:
    """(Only scalars reach the asserts: pytest would print a TextTruth, and with it the text.)"""
    for style, truths in realistic.items():
        for truth in truths:
            assert truth["schema_version"] == 2 and truth["style"] == style
            items = {t.item: t for t in truth.burned_in_text}
            for text in items.values():
                role, category, is_phi = text.role, text.category, text.is_phi
                assert role in ("label", "value", "other"), f"{truth.name}: role {role}"
                assert is_phi == (role == "value"), f"{truth.name}: {category} role and is_phi disagree"
                assert (category == "LABEL") == (role == "label"), f"{truth.name}: {category}"
                said = isinstance(text.in_header, bool)
                assert said or not is_phi, f"{truth.name}: {category} value without in_header"
                inked = text.ink_mask is not None and bool(text.ink_mask.any())
                assert inked, f"{truth.name}: {category} without ink mask"
            roles = [t.role for t in items.values()]
            values = roles.count("value")
            assert values >= (4 if style != "ultrasound" else 2), f"{truth.name}: {values} PHI values"
            assert "other" in roles, f"{truth.name}: no non-PHI text"
            if style in ("overlay", "rotated", "sc"):
                assert "label" in roles, f"{truth.name}: no field label"


def test_rotated_style_runs_names_along_an_edge_and_skews(realistic: dict[str, list[FileTruth]]) -> None:
    orientations: set[str] = set()
    for truth in realistic["rotated"]:
        vertical = [(t.category, t.orientation) for t in truth.burned_in_text
                    if t.role == "value" and t.orientation in ("90", "270")]
        vertical_values = len(vertical)
        assert vertical_values > 0, f"{truth.name}: no vertical PHI value"
        orientations |= {t.orientation for t in truth.burned_in_text}
    assert "skewed" in orientations and {"90", "270"} & orientations, sorted(orientations)


def test_ultrasound_truth_matches_its_regions_and_leaves_frames_text_free(
        realistic: dict[str, list[FileTruth]]) -> None:
    for truth in realistic["ultrasound"]:
        ds = pydicom.dcmread(truth.path, stop_before_pixels=True)
        stated = [(int(r.RegionLocationMinX0), int(r.RegionLocationMinY0), int(r.RegionLocationMaxX1),
                   int(r.RegionLocationMaxY1)) for r in ds.SequenceOfUltrasoundRegions]
        recorded = [(b["left"], b["top"], b["left"] + b["width"] - 1, b["top"] + b["height"] - 1)
                    for b in (r["box"] for r in truth["ultrasound_regions"])]
        assert stated == recorded, f"{truth.name}: header regions and truth regions differ"
        tissue = truth["ultrasound_regions"][0]["box"]
        region = Box(tissue["left"], tissue["top"], tissue["width"], tissue["height"])
        inside = [t for t in truth.burned_in_text if t.box.overlaps(region)]
        annotation_only = all(not t.is_phi and t.category in ("ANNOTATION", "MEASUREMENT") for t in inside)
        assert annotation_only, f"{truth.name}: text other than clinical annotation inside the region"
        frames_with_text = {t.frame for t in inside}
        if truth["frames"] > 1:
            assert len(frames_with_text) < truth["frames"], f"{truth.name}: every cine frame has region text"
        band_items = {t.item for t in truth.burned_in_text if t.placement == "band"}
        for item in band_items:                      # the band is on every frame
            on_every_frame = {t.frame for t in truth.burned_in_text if t.item == item} == set(range(truth["frames"]))
            assert on_every_frame, f"{truth.name}: band item {item} missing on some frames"


def test_values_said_to_be_outside_the_header_are_not_in_it(realistic: dict[str, list[FileTruth]]) -> None:
    """Names, institutions and addresses burned in but held nowhere in the header (issue 23 needs them):
    neither the phrase nor any distinctive word of it (4+ letters) is in any header element."""
    outside = 0
    for truths in realistic.values():
        for truth in truths:
            ds = pydicom.dcmread(truth.path, stop_before_pixels=True)
            header_words = set(normalize(" ".join(_all_texts(ds))).split())
            for text in {t.item: t for t in truth.burned_in_text if t.in_header is False}.values():
                outside += 1
                category = text.category
                assert category in ("NAME", "INSTITUTION", "ADDRESS"), f"{truth.name}: {category}"
                words = [w for w in normalize(text.text).split() if len(w) >= 4 and not w.isdigit()
                         and w not in GENERIC_WORDS]
                held = sum(w in header_words for w in words)
                assert held == 0, f"{truth.name}: an outside {category} shares {held} words with the header"
    assert outside >= 2, f"only {outside} outside values in the realistic fixture"


def _all_texts(ds: Dataset) -> list[str]:
    texts = []
    for dataset in (ds.file_meta, ds):
        for element in dataset.iterall():
            if element.VR != "SQ" and element.value is not None:
                texts += _element_texts(element, ds)
    return texts


def test_realistic_headers_hold_vendor_uids_beside_identifying_ones(realistic: dict[str, list[FileTruth]]) -> None:
    for truths in realistic.values():
        for truth in truths:
            ds = pydicom.dcmread(truth.path, stop_before_pixels=True)
            kinds = {u["kind"] for u in truth["non_phi_uids"]}
            assert {"implementation_class", "referenced_sop_class", "coding_scheme", "context_group"} <= kinds
            for kept in truth["non_phi_uids"]:
                element = _resolve(ds, kept["element_path"])
                value = None if element is None else element.value   # implicit VR: a private UID reads as bytes
                text = value.decode("ascii").rstrip("\x00 ") if isinstance(value, bytes) else str(value)
                there = element is not None and text == kept["value"]
                assert there, f"{truth.name}: {kept['element_path']} ({kept['kind']})"
            uid_paths = {p.element_path for p in truth.header_phi if p.category == "UID"}
            assert {"00081140[0].00081155", "00081140[1].00081155", "00081111[0].00081155"} <= uid_paths
            for item in truth.header_phi:
                element = _resolve(ds, item.element_path)
                holds = element is not None and _holds(item, element, ds)
                assert holds, f"{truth.name}: {item.element_path} ({item.category})"


def test_classic_stays_the_default_style(tmp_path: Path) -> None:
    assert synth_main(["--out", str(tmp_path / "a"), "--n", "1", "--seed", "7"]) == 0
    assert synth_main(["--out", str(tmp_path / "b"), "--n", "1", "--seed", "7", "--style", "classic"]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert read_truth(next((tmp_path / "a").glob("*.truth.json")))["schema_version"] == 1
    assert synth_main(["--out", str(tmp_path / "c"), "--n", "1", "--seed", "7", "--style", "bogus"]) != 0
