"""Assemble the corpus: for each planned slot, a header, pixels with burned-in text, the file in
its transfer syntax, and the truth beside it. Deterministic for a seed (same seed, same bytes).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pydicom.uid as uid

from transforms.synth.anatomy import make_frame_source
from transforms.synth.assembly import World, add_overlay, instance_context, iter_frames, truth_record
from transforms.synth.encoding import write_instance
from transforms.synth.header import build_header
from transforms.synth.identities import derive_seed
from transforms.synth.kinds import KINDS, SYNTAX_SHORT_NAMES
from transforms.synth.large import write_large_file
from transforms.synth.layout import plan_annotations
from transforms.synth.plan import FileSlot, plan_files
from transforms.synth.realistic import MIXED, generate_realistic_corpus
from transforms.synth.styles import REALISTIC_STYLES
from transforms.synth.truth import truth_path_for, write_truth

CLASSIC = "classic"
STYLES = (CLASSIC,) + REALISTIC_STYLES + (MIXED,)


def generate_corpus(out_dir: str | Path, n: int, seed: int, large: bool = False,
                    full_size: bool = False, style: str = CLASSIC, max_side: int | None = None) -> list[Path]:
    """Write n files (and with `large`, one more multi-frame file of >= 500 MB) with their truth.

    `style`: classic (the coverage plan of kinds and syntaxes, the default), a realistic style (overlay,
    rotated, ultrasound, sc), or mixed (a realistic style drawn per file). `max_side` scales the realistic
    styles' images down to at most that many pixels a side (quick corpora); classic ignores it."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}: one of {', '.join(STYLES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if style != CLASSIC:
        paths = generate_realistic_corpus(out, n, seed, style, max_side)
        return paths + ([write_large_file(out, seed)] if large else [])
    world = World(seed)
    paths = [generate_file(out, slot, world, full_size) for slot in plan_files(n, seed)]
    if large:
        paths.append(write_large_file(out, seed))
    return paths


def file_name(slot: FileSlot) -> str:
    return f"{slot.index:03d}_{slot.kind}_{SYNTAX_SHORT_NAMES[uid.UID(slot.syntax)]}.dcm"


def generate_file(out: Path, slot: FileSlot, world: World, full_size: bool) -> Path:
    kind = KINDS[slot.kind]
    ctx = instance_context(slot, world, kind, full_size)
    rng = random.Random(derive_seed(world.seed, "file", slot.index))
    header = build_header(ctx, rng)
    annotations = plan_annotations(kind, ctx.geometry, ctx.patient, ctx.study, ctx.series, ctx.instance,
                                   rng, ctx.with_overlay)
    if annotations.overlay_items:
        add_overlay(header, ctx, annotations.overlay_items, rng)
    source = make_frame_source(kind, ctx.geometry, derive_seed(world.seed, "pixels", slot.index))
    frames = np.stack(list(iter_frames(source, annotations.pixel_items)))
    path = out / file_name(slot)
    write_instance(header.dataset, frames, slot.syntax, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = truth_record(path.name, digest, slot, ctx, header, annotations, world.seed, full_size)
    write_truth(truth_path_for(path), record)
    return path
