"""The pipeline's frame task over a corpus, without Spark, for the scorer and for looking at the fills.

    .venv/bin/python bench/redact_frames.py CORPUS_DIR OUT_DIR [--mode phi|all] [--png PNG_DIR]
    .venv/bin/python -m transforms.scoring.cli --truth CORPUS_DIR --deidentified OUT_DIR --no-dciodvfy

Per file: `frame_task.process_frames` (decode, locate, OCR, the redaction policy, the fill, the encoding:
exactly what a Spark frame task runs) over all frames, with the PHI finder built from the file's own
header (as the pipeline builds it from bronze), then `write_deidentified_file` with the file's own header
(pixel data and overlay planes dropped). Headers are not de-identified here, so the scorer's header leaks
are expected: read its pixel PHI recall, non-PHI kept, integrity and non-text pixels changed.

`--png DIR` writes, per changed frame, the display view before and after side by side with the changed
pixels in red (to look at; identified images: keep them out of the repository).
Prints counts and timings only, never OCR text.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redact_all_text import header_without_pixels  # noqa: E402
from transforms.frame_task import frame_staging_path, process_frames  # noqa: E402
from transforms.keyring import Keyring  # noqa: E402
from transforms.metadata import flatten_elements  # noqa: E402
from transforms.phi import build_phi_finder  # noqa: E402
from transforms.pixels.assemble import write_deidentified_file  # noqa: E402
from transforms.pixels.encode import EncodedFrame, plan_encoding  # noqa: E402
from transforms.pixels.frames import FrameReader  # noqa: E402
from transforms.pixels.ocr import OcrCache  # noqa: E402
from transforms.pixels.prepare import display_grey  # noqa: E402


def redact_file(path: Path, out_dir: Path, mode: str, keyring: Keyring, png_dir: Path | None = None
                ) -> tuple[int, int, int, float]:
    """(frames, frames changed, boxes filled, seconds) for one file."""
    start = time.perf_counter()
    rows, _ = flatten_elements(pydicom.dcmread(path, stop_before_pixels=True))
    find_phi = build_phi_finder(rows, keyring) if mode == "phi" else None
    with tempfile.TemporaryDirectory(prefix="redact-frames-") as staging, FrameReader(path) as reader:
        result = process_frames(str(path), 0, reader.frame_count, mode, keyring, staging, find_phi, cache=OcrCache())
        plan = plan_encoding(reader.info, bool(result.changed_frames))
        changed = {i: EncodedFrame(frame_staging_path(staging, i).read_bytes(), plan.output_syntax)
                   for i in result.changed_frames}
        out_path = out_dir / path.name
        write_deidentified_file(header_without_pixels(path), reader, changed, out_path)
        seconds = time.perf_counter() - start
        if png_dir is not None and result.changed_frames:
            _write_pngs(path, out_path, reader, result.changed_frames, png_dir)
        return reader.frame_count, len(result.changed_frames), sum(b.redacted for b in result.boxes), seconds


def _write_pngs(path: Path, out_path: Path, reader: FrameReader, frames: list[int], png_dir: Path) -> None:
    from PIL import Image

    png_dir.mkdir(parents=True, exist_ok=True)
    with FrameReader(out_path) as after_reader:
        for index in frames[:3]:
            before = reader.decode_frame(index)
            after = after_reader.decode_frame(index)
            shown = display_grey(before, reader.info, reader.header)
            shown_after = display_grey(after, reader.info, reader.header)
            diff = np.abs(before.astype(np.int64) - after.astype(np.int64))
            changed = diff.max(axis=-1) > 0 if diff.ndim == 3 else diff > 0
            marked = np.repeat(shown[..., None], 3, axis=2)
            marked[changed] = (255, 0, 0)
            side = np.concatenate([np.repeat(shown[..., None], 3, axis=2), marked,
                                   np.repeat(shown_after[..., None], 3, axis=2)], axis=1)
            Image.fromarray(side.astype(np.uint8)).save(png_dir / f"{path.stem}_f{index}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", default="phi", choices=("phi", "all"))
    parser.add_argument("--png", type=Path, default=None, help="before | changed in red | after, per changed frame")
    parser.add_argument("--only", default=None, help="only files whose name contains this")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    keyring = Keyring.from_env()
    total_frames, total_seconds = 0, 0.0
    for path in sorted(args.corpus.glob("*.dcm")):
        if args.only and args.only not in path.name:
            continue
        frames, changed, filled, seconds = redact_file(path, args.out, args.mode, keyring, args.png)
        total_frames += frames
        total_seconds += seconds
        print(f"{path.name}: {frames} frames, {changed} changed, {filled} boxes redacted, {seconds:.2f} s")
    print(f"{total_frames} frames in {total_seconds:.1f} s ({total_frames / max(total_seconds, 1e-9):.2f} frames/s)")


if __name__ == "__main__":
    main()
