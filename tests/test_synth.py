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
from transforms.synth import generate_corpus
from transforms.synth.cli import main as synth_main
from transforms.synth.burn import FONT_FILES
from transforms.synth.kinds import ALL_SYNTAXES, KINDS
from transforms.synth.large import write_large_file
from transforms.synth.truth import FileTruth, PhiTruth, load_truth_dir, read_truth, truth_path_for

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
    image_font = ImageFont.truetype(FONT_FILES[font], size_px)
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
