"""Score a de-identified directory against the truth: match files, then judge each and the corpus.

Works on any tool's output (ours, dicognito's, a hand-redacted copy): it reads DICOM files with
pydicom and the truth JSON, nothing else; no Spark.
"""

from __future__ import annotations

import math
from pathlib import Path

import pydicom.uid as uid
from pydicom.dataset import Dataset

from transforms import transfer_syntax
from transforms.dicom_io import HeaderError, read_header
from transforms.scoring.consistency import check_consistency
from transforms.scoring.header_leak import element_texts, scan_header
from transforms.scoring.held import QUARANTINE_LISTING, read_held, read_published
from transforms.scoring.matching import Match, find_outputs, match_files, read_mapping
from transforms.scoring.ocr import ocr_available
from transforms.scoring.pixels import PixelResult, score_pixels
from transforms.scoring.report import FileScore, Integrity, ScoreReport
from transforms.scoring.validity import check_validity
from transforms.synth.truth import FileTruth, load_truth_dir


def score_directories(truth_dir: str | Path, deidentified_dir: str | Path, run_ocr: bool = True,
                      run_dciodvfy: bool = True, mapping_csv: str | Path | None = None,
                      only: list[str] | None = None) -> ScoreReport:
    """Score every truth file under `truth_dir` (or the `only` file names) against the outputs."""
    truth_root, output_root = Path(truth_dir), Path(deidentified_dir)
    truths = load_truth_dir(truth_root)
    if only is not None:
        truths = [t for t in truths if t.name in set(only)]
    outputs, skipped = find_outputs(output_root)
    published = read_published(output_root)
    mapping = {t.name: published[t["sha256"]] for t in truths if t["sha256"] in published}
    if published and not mapping_csv:
        # The run listed what it published, each output with its input: a truth it did not list was not
        # published (held or lost), and no listed output (another input's, maybe of another corpus in the
        # same folder and as alike as a slice of the same series) is a candidate for it.
        listed = set(mapping.values())
        outputs = [o for o in outputs if o.path in listed]
    mapping |= read_mapping(Path(mapping_csv), output_root) if mapping_csv else {}
    matches, unmatched = match_files(truths, outputs, mapping)
    held = read_held(output_root)
    ocr = run_ocr and ocr_available()
    files, pairs = [], []
    for match in matches:
        score, ds = score_file(match, output_root, ocr, run_dciodvfy)
        score.held_reasons = held.get(match.truth["sha256"], [])
        if score.status == "missing" and score.held_reasons:
            score.status = "held"                   # quarantined by the run, with its reasons: not lost
        files.append(score)
        if ds is not None:
            pairs.append((match.truth, ds))
    settings = {"ocr": ocr, "ocr_requested": run_ocr, "dciodvfy": run_dciodvfy, "mapping": bool(mapping_csv),
                "manifest_pairs": len(published),
                "quarantine_listing": (output_root / QUARANTINE_LISTING).is_file()}
    return ScoreReport(files, check_consistency(pairs),
                       unmatched_outputs=[str(o.path.relative_to(output_root)) for o in unmatched],
                       skipped_outputs=skipped, settings=settings)


def score_file(match: Match, output_root: Path, run_ocr: bool, run_dciodvfy: bool) -> tuple[FileScore, Dataset | None]:
    truth = match.truth
    if match.output is None:
        return FileScore(truth.name, "missing", truth=truth), None
    out_path = match.output.path
    relative = str(out_path.relative_to(output_root)) if out_path.is_relative_to(output_root) else str(out_path)
    try:
        ds = read_header(out_path)
    except HeaderError:
        return FileScore(truth.name, "unreadable", relative, match.method, truth=truth), None
    header = scan_header(truth, element_texts(ds))
    pixels = score_pixels(truth, out_path, ds, run_ocr)
    validity = check_validity(truth.path, out_path) if run_dciodvfy else None
    return FileScore(truth.name, "matched", relative, match.method, header, pixels,
                     integrity_of(truth, ds, pixels), validity, truth=truth), ds


def integrity_of(truth: FileTruth, ds: Dataset, pixels: PixelResult) -> Integrity:
    meta = getattr(ds, "file_meta", None)
    out_ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    out_lossy = transfer_syntax.is_lossy(uid.UID(out_ts) if out_ts else None, ds)
    psnr = pixels.psnr_outside
    return Integrity(
        rows_kept=int(ds.get("Rows", 0) or 0) == truth["rows"],
        columns_kept=int(ds.get("Columns", 0) or 0) == truth["columns"],
        frames_kept=int(ds.get("NumberOfFrames", 1) or 1) == truth["frames"],
        sop_class_kept=str(ds.get("SOPClassUID", "")) == truth["sop_class_uid"],
        transfer_syntax_kept=out_ts == truth["transfer_syntax_uid"],
        output_lossy=out_lossy,
        degraded_to_lossy=out_lossy and not truth["lossy"],
        changed_outside_boxes=pixels.outside_changed_exact,
        bit_identical_outside_boxes=pixels.scorable and pixels.outside_changed_exact == 0,
        psnr_outside_boxes=psnr if psnr is None or not math.isnan(psnr) else None,
    )
