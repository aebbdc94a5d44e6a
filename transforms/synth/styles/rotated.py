"""`rotated`: the overlay layout on CT, MR and radiograph backgrounds, with turned text (issue 29).

Every image has a name running vertically along the left or right edge (90 degrees: read bottom to top;
270: top to bottom); other groups of fields are turned by 90, 180 or 270 degrees along the edges, skewed
by 2-10 degrees either way in corners and over the anatomy, or left level. Non-PHI text turns too, so
a de-identifier cannot take "turned" for "identifying".
"""

from __future__ import annotations

import random

from transforms.synth.styles.common import Design, LayoutContext
from transforms.synth.styles.overlay import design_overlay, layout_radiology

ROTATED_ANATOMIES = ("CT", "MR", "CR", "DX", "BODY")


def rotated_angle(rng: random.Random, destination: str) -> float:
    """Vertical along the side edges, upside down or level along top and bottom, skewed elsewhere."""
    if destination == "left":
        return 90.0
    if destination == "right":
        return 270.0 if rng.random() < 0.8 else 90.0
    if destination in ("top", "bottom"):
        return 180.0 if rng.random() < 0.35 else 0.0
    roll = rng.random()
    if roll < 0.4:
        return rng.choice((-1.0, 1.0)) * rng.uniform(2.0, 10.0)
    if roll < 0.55:
        return rng.choice((90.0, 270.0))
    if roll < 0.65:
        return 180.0
    return 0.0


def layout_rotated(ctx: LayoutContext) -> None:
    layout_radiology(ctx, rotated_angle, vertical_names=True)


def design_rotated(rng: random.Random, max_side: int | None = None) -> Design:
    for _ in range(20):                       # CT, MR, radiographs and cross-sections only
        design = design_overlay(rng, max_side, style="rotated", layout=layout_rotated, multi_frame_share=0.0)
        if design.modality in ("CT", "MR", "CR", "DX") and design.frames == 1:
            return design
    return design
