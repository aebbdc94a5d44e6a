"""The realistic corpus styles (see docs/corpus-and-scoring.md): each turns a random source into a file
design (what the image is, how it stores pixels, what text it shows where)."""

from __future__ import annotations

from transforms.synth.styles.overlay import design_overlay
from transforms.synth.styles.rotated import design_rotated
from transforms.synth.styles.screen import design_screen
from transforms.synth.styles.ultrasound import design_ultrasound

DESIGNERS = {"overlay": design_overlay, "rotated": design_rotated, "ultrasound": design_ultrasound,
             "sc": design_screen}
REALISTIC_STYLES = tuple(DESIGNERS)

__all__ = ["DESIGNERS", "REALISTIC_STYLES"]
