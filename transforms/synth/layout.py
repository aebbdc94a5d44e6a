"""What a given image has burned into it: the annotation blocks of a scanner, filled from the file's
patient, study and series, with per-file fonts, sizes, inks and frame ranges.

Non-PHI items (orientation markers, technique, window, frame counter, scale) are there because a
de-identifier must keep them: they are what the over-redaction figure is measured on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from transforms.synth.burn import (Canvas, Run, Style, TextItem, available_fonts, label, phi,
                                   place_anywhere, place_block, place_line, plain, render_glyphs)
from transforms.synth.identities import Patient, Series, Study
from transforms.synth.kinds import Geometry, KindSpec
from transforms.synth.renderings import (AGE_STYLES, DATE_STYLES, NAME_STYLES, TIME_STYLES, pick,
                                         render_age, render_date, render_name, render_time)

US_INKS = ((255, 255, 255), (255, 255, 0), (0, 255, 255), (120, 255, 120), (170, 170, 170))
RENDERABLE_MAX_CODEPOINT = 0x052F      # Latin, Greek and Cyrillic: what DejaVu/Liberation draw


@dataclass(frozen=True)
class Annotations:
    pixel_items: list[TextItem]
    overlay_items: list[TextItem]


def ink_palette(kind: KindSpec) -> dict[str, float | tuple[int, int, int]]:
    """White (as scanners burn text: the display maximum), grey and dim inks in stored units."""
    if kind.samples_per_pixel == 3:
        return {"white": US_INKS[0], "grey": US_INKS[4], "dim": (110, 110, 110)}
    low, high = kind.stored_range
    offset = -(kind.rescale_intercept or 0.0)
    if kind.window:
        center, width = kind.window
        disp_low, disp_high = center - width / 2 + offset, center + width / 2 + offset
    else:
        disp_low, disp_high = float(low), float(high)
    span = disp_high - disp_low
    if kind.photometric == "MONOCHROME1":                 # low stored values display white
        inks = {"white": low, "grey": disp_high - 0.7 * span, "dim": disp_high - 0.45 * span}
    else:
        inks = {"white": min(high, 4095), "grey": disp_low + 0.7 * span, "dim": disp_low + 0.45 * span}
    return {role: float(round(value)) for role, value in inks.items()}   # inks are stored values


def renderable(text: str) -> bool:
    return all(ord(ch) <= RENDERABLE_MAX_CODEPOINT for ch in text)


def _choose_ink(kind: KindSpec, rng: random.Random) -> float | tuple[int, int, int]:
    if kind.samples_per_pixel == 3:
        return rng.choice(US_INKS)
    roll = rng.random()
    palette = ink_palette(kind)
    return palette["white"] if roll < 0.65 else palette["grey"] if roll < 0.9 else palette["dim"]


def _style(kind: KindSpec, rng: random.Random, low_px: int, high_px: int) -> Style:
    font = rng.choice(available_fonts())
    return Style(font, rng.randint(low_px, max(low_px, high_px)), _choose_ink(kind, rng))


def _frame_range(rng: random.Random, frames: int) -> tuple[int, ...] | None:
    """All frames, or (in multi-frame images, a third of the time) a contiguous part of them."""
    if frames <= 1 or rng.random() < 0.66:
        return None
    start = rng.randrange(0, frames - 1)
    stop = rng.randrange(start + 1, frames + 1)
    return tuple(range(start, stop))


def patient_block(patient: Patient, study: Study, rng: random.Random) -> list[list[Run]]:
    person = patient.person
    name = render_name(person.family, person.given, person.middle, pick(rng, NAME_STYLES))
    lines = [[label("Name:"), phi(name, "NAME")] if rng.random() < 0.4 else [phi(name, "NAME")]]
    id_label = rng.choice(("ID:", "Patient ID:", "MRN:"))
    lines.append([label(id_label), phi(patient.patient_id, "ID")] if rng.random() < 0.7
                 else [phi(patient.patient_id, "ID")])
    dob = [label("DOB:"), phi(render_date(patient.birth_date, pick(rng, DATE_STYLES)), "DATE")]
    if rng.random() < 0.7:
        dob.append(phi(render_age(study.age_years, pick(rng, AGE_STYLES)), "AGE"))
    lines.append(dob)
    return [line for line in lines if all(renderable(run.text) for run in line)]


def study_block(study: Study, series: Series, rng: random.Random) -> list[list[Run]]:
    lines = [[phi(study.institution.name, "INSTITUTION")],
             [phi(render_date(study.date, pick(rng, DATE_STYLES)), "DATE"),
              phi(render_time(series.time, pick(rng, TIME_STYLES)), "TIME")],
             [label(rng.choice(("Acc:", "Accession:", "Acc#"))), phi(study.accession, "ACCESSION")]]
    if rng.random() < 0.25:
        lines.append([label("Tel:"), phi(study.institution.phone, "PHONE")])
    return [line for line in lines if all(renderable(run.text) for run in line)]


def technique_block(kind: KindSpec, rng: random.Random) -> list[list[Run]]:
    thickness = plain(f"{rng.choice((0.625, 1.0, 2.5, 3.0, 5.0))} mm", "MEASUREMENT")
    blocks = {
        "CT": [[plain(f"kVp {rng.choice((80, 100, 120, 140))}", "TECHNIQUE")],
               [plain(f"mA {rng.randrange(100, 400)}", "TECHNIQUE")], [thickness],
               [plain("W:400 L:40", "TECHNIQUE")]],
        "MR": [[plain(f"TR {rng.randrange(400, 3000)} TE {rng.randrange(10, 120)}", "TECHNIQUE")],
               [thickness], [plain("W:1200 L:600", "TECHNIQUE")]],
        "CR": [[plain(f"kVp {rng.randrange(90, 125)}", "TECHNIQUE")],
               [plain(f"mAs {rng.choice((2.0, 3.2, 4.0, 5.0))}", "TECHNIQUE")]],
        "DX": [[plain(f"kVp {rng.randrange(90, 125)}", "TECHNIQUE")],
               [plain(f"mAs {rng.choice((2.0, 3.2, 4.0, 5.0))}", "TECHNIQUE")]],
        "US": [[plain(f"MI {rng.uniform(0.6, 1.4):.1f} TIS {rng.uniform(0.1, 0.9):.1f}", "TECHNIQUE")],
               [plain(f"Gain {rng.randrange(30, 70)}%", "TECHNIQUE")]],
        "XA": [[plain(f"LAO {rng.randrange(5, 45)} CRA {rng.randrange(5, 30)}", "TECHNIQUE")],
               [plain(f"{rng.choice((7.5, 15, 30))} fps", "TECHNIQUE")]],
        "MG": [[plain(f"kVp {rng.randrange(25, 33)}", "TECHNIQUE")],
               [plain(f"mAs {rng.randrange(60, 200)}", "TECHNIQUE")]],
    }
    return blocks[kind.name]


def _place_markers(canvas: Canvas, kind: KindSpec, rng: random.Random, style: Style) -> list[TextItem]:
    """Orientation markers mid-edge (cross-sectional) or a lead-marker style letter (projection)."""
    items: list[TextItem] = []
    margin = max(4, canvas.columns // 50)
    if kind.name in ("CT", "MR"):
        pairs = [("R", margin, canvas.rows // 2, False), ("L", canvas.columns - margin, canvas.rows // 2, True),
                 ("A", canvas.columns // 2, margin + style.font_px, False),
                 ("P", canvas.columns // 2, canvas.rows - margin - 2, False)]
        for text, x, y, right in pairs:
            items += place_line(canvas, [plain(text, "MARKER")], style, x, y, right, "edge", None)
    elif kind.name in ("CR", "DX", "MG"):
        text = rng.choice(("R", "L")) if kind.name != "MG" else rng.choice(("R CC", "L MLO", "R MLO"))
        items += place_line(canvas, [plain(text, "MARKER")], style, canvas.columns - margin,
                            canvas.rows // 4, True, "edge", None)
    return items


def _place_scale(canvas: Canvas, kind: KindSpec, style: Style) -> list[TextItem]:
    """Depth labels beside the ultrasound sector, a ruler label elsewhere."""
    items: list[TextItem] = []
    if kind.name == "US":
        step = canvas.rows // 4
        for index, depth in enumerate((0, 5, 10)):
            items += place_line(canvas, [plain(str(depth), "SCALE")], style, canvas.columns - 22,
                                step * (index + 1), True, "edge", None)
    else:
        items += place_line(canvas, [plain(f"{5 if canvas.rows < 600 else 10} cm", "SCALE")], style,
                            canvas.columns // 2 + canvas.columns // 8, canvas.rows - max(6, canvas.rows // 40),
                            False, "edge", None)
    return items


def _frame_counter(canvas: Canvas, frames: int, style: Style) -> list[TextItem]:
    """'Frame k/N' on frame k only (same place, different text on each frame)."""
    margin = max(4, canvas.columns // 64)
    widest = render_glyphs(f"Frame {frames}/{frames}", style.font, style.font_px)
    baseline = canvas.rows - margin - int(style.font_px * 0.3)
    x = canvas.columns - margin - widest.advance
    items: list[TextItem] = []
    for frame in range(frames):
        # Each frame's counter is checked against the other items only: counters share one place.
        scratch = Canvas(canvas.rows, canvas.columns, list(canvas.taken))
        items += place_line(scratch, [plain(f"Frame {frame + 1}/{frames}", "FRAME")], style, x, baseline,
                            False, "corner", (frame,))
    for item in items:
        canvas.take(item.box)
    return items


def plan_annotations(kind: KindSpec, geometry: Geometry, patient: Patient, study: Study,
                     series: Series, instance: int, rng: random.Random, with_overlay: bool) -> Annotations:
    """Lay out every item for one image (frame-independent; frame ranges say where each shows)."""
    canvas = Canvas(geometry.rows, geometry.columns)
    block_high = max(11, min(30, geometry.rows // 16))
    big_high = max(14, min(54, geometry.rows // 8))
    items: list[TextItem] = []
    frames = geometry.frames
    for corner, lines in (("tl", patient_block(patient, study, rng)), ("tr", study_block(study, series, rng)),
                          ("bl", technique_block(kind, rng))):
        ranges = [_frame_range(rng, frames) for _ in lines]
        items += place_block(canvas, lines, _style(kind, rng, 11, block_high), corner, ranges)
    counter_style = _style(kind, rng, 11, block_high)
    if frames > 1:
        items += _frame_counter(canvas, frames, counter_style)
    else:
        items += place_block(canvas, [[plain(f"Se {series.number} Im {instance}", "FRAME")]],
                             counter_style, "br", [None])
    items += _place_markers(canvas, kind, rng, _style(kind, rng, 14, big_high))
    items += _place_scale(canvas, kind, _style(kind, rng, 11, block_high))
    over = _anatomy_phi(patient, study, rng)
    items += place_anywhere(canvas, over, _style(kind, rng, 12, big_high), rng, (0.25, 0.7),
                            "anatomy", _frame_range(rng, frames))
    measurement = plain(f"{rng.uniform(3.0, 80.0):.1f} mm", "MEASUREMENT")
    items += place_anywhere(canvas, measurement, _style(kind, rng, 11, block_high), rng, (0.3, 0.65),
                            "anatomy", None)
    overlay = _overlay_items(kind, geometry, patient, study, rng) if with_overlay else []
    return Annotations(items, overlay)


def _anatomy_phi(patient: Patient, study: Study, rng: random.Random) -> Run:
    person = patient.person
    choice = rng.randrange(3)
    if choice == 0 and renderable(person.family):
        return phi(render_name(person.family, person.given, person.middle, "family_given_upper"), "NAME")
    if choice == 1:
        return phi(patient.patient_id, "ID")
    return phi(render_date(study.date, pick(rng, DATE_STYLES)), "DATE")


def _overlay_items(kind: KindSpec, geometry: Geometry, patient: Patient, study: Study,
                   rng: random.Random) -> list[TextItem]:
    """Overlay plane 6000: a name and a date, as some workstations store annotations."""
    canvas = Canvas(geometry.rows, geometry.columns)
    style = Style(rng.choice(available_fonts()), max(12, min(28, geometry.rows // 18)), 1.0)
    person = patient.person
    runs = [phi(render_name(person.family, person.given, person.middle, "family_comma_given"), "NAME"),
            phi(render_date(patient.birth_date, "eu_dots"), "DATE")]
    runs = [run for run in runs if renderable(run.text)]
    baseline = int(geometry.rows * 0.82)
    return place_line(canvas, runs, style, geometry.columns // 6, baseline, False, "overlay", None)
