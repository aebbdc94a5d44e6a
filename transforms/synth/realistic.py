"""Write one file of a realistic style (overlay, rotated, ultrasound, sc) with its schema-2 truth.

The header is the classic style's (every PHI value recorded where it is put) plus a real vendor's
elements (`vendor.py`) and the style's own (ultrasound regions, a palette, secondary-capture modules).
The pixels are drawn in display space, the text is laid out against the first frame (so its ink stands
out from what it lands on), burned into every frame it shows on, and stored in the style's format.

Patients come two files each (one study, two series), from weighted locales, with mostly 9-10 digit IDs
and long institution names; every entity is drawn from its own derived seed, so a seed gives one corpus.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset

from transforms.synth.assembly import World, dataset_truth
from transforms.synth.burn import Canvas
from transforms.synth.encoding import write_instance
from transforms.synth.fields import Identity, header_texts_of, realistic_institution, realistic_patient_id
from transforms.synth.glyphs import require_fonts
from transforms.synth.header import InstanceContext, PhiHeader, _fit, _phone, build_header
from transforms.synth.identities import Patient, Study, derive_seed, draw_patient
from transforms.synth.kinds import SYNTAX_SHORT_NAMES, Geometry, KindSpec
from transforms.synth.plan import FileSlot
from transforms.synth.styles import DESIGNERS, REALISTIC_STYLES
from transforms.synth.styles.common import Design, LayoutContext
from transforms.synth.textblocks import BlockPlacer, Placed, paint
from transforms.synth.truth import SCHEMA_VERSION, box_json, encode_mask, truth_path_for, write_truth
from transforms.synth.vendor import add_vendor_elements, pick_vendor

MIXED = "mixed"
LOCALE_WEIGHTS = (("en_US", 55), ("de_DE", 10), ("fr_FR", 8), ("es_ES", 8), ("pl_PL", 7), ("ru_RU", 4),
                  ("el_GR", 4), ("ja_JP", 4))
REALISTIC_ID_SHARE = 0.75


class RealisticWorld(World):
    """The classic world with locales drawn by weight, realistic patient IDs and institution names."""

    def patient(self, index: int) -> Patient:
        if index not in self.patients:
            rng = random.Random(derive_seed(self.seed, "realistic-patient", index))
            locales, weights = zip(*LOCALE_WEIGHTS)
            locale = rng.choices(locales, weights)[0]
            patient = draw_patient(self.seed, index, locale)
            if rng.random() < REALISTIC_ID_SHARE:
                patient = replace(patient, patient_id=realistic_patient_id(rng))
            self.patients[index] = patient
        return self.patients[index]

    def study(self, patient: int, study: int) -> Study:
        key = (patient, study)
        if key not in self.studies:
            drawn = super().study(patient, study)
            name = realistic_institution(self.patient(patient).locale, derive_seed(self.seed, drawn.key, "institution"))
            self.studies[key] = replace(drawn, institution=replace(drawn.institution, name=name))
        return self.studies[key]


def style_of(style: str, seed: int, index: int) -> str:
    """The style of file `index`: the one asked for, or for `mixed` one drawn per file."""
    if style != MIXED:
        return style
    return REALISTIC_STYLES[derive_seed(seed, "mixed-style", index) % len(REALISTIC_STYLES)]


def generate_realistic_corpus(out: Path, n: int, seed: int, style: str, max_side: int | None = None) -> list[Path]:
    require_fonts()
    world = RealisticWorld(seed)
    return [generate_realistic_file(out, index, style_of(style, seed, index), world, max_side) for index in range(n)]


def design_of(seed: int, index: int, style: str, max_side: int | None = None) -> tuple[Design, random.Random]:
    """File `index`'s design and the random source that continues with its header and text (the backdrop
    alone gives the file's pixels before any text: what tests compare the burned frames with)."""
    rng = random.Random(derive_seed(seed, "realistic", style, index))
    return DESIGNERS[style](rng, max_side), rng


def generate_realistic_file(out: Path, index: int, style: str, world: RealisticWorld,
                            max_side: int | None = None) -> Path:
    design, rng = design_of(world.seed, index, style, max_side)
    slot = FileSlot(index, design.kind_name, design.syntax, patient=index // 2, study=0, series=index % 2,
                    instance=1)
    ctx = _instance_context(design, slot, world)
    header = build_header(ctx, rng)
    ds = header.dataset
    non_phi_uids = add_vendor_elements(header, pick_vendor(rng), design.modality, design.sop_class_uid,
                                       ctx.sop_instance_uid, rng)
    extras = design.header_extras(ds) if design.header_extras else {}
    if design.kind_name == "SC" and "ConversionType" not in ds:
        ds.ConversionType = "WSD"
    if "PixelPaddingValue" in ds:             # the classic CT's padding; realistic pixels have none
        del ds.PixelPaddingValue
    who = Identity(ctx.patient, ctx.study, ctx.series, _fit(ctx.patient.home.address), _phone(ctx.patient.home.phone))
    frame0 = design.backdrop(0)
    layout = LayoutContext(rng, who, frame0, BlockPlacer(Canvas(design.rows, design.columns)), design,
                           header_texts_of(_header_strings(ds)), derive_seed(world.seed, "outside", index))
    design.layout(layout)
    placed = layout.placer.placed
    for item_id, item in enumerate(placed):
        item.item = item_id
    frames = np.stack([_burned_frame(design, placed, i, frame0 if i == 0 else None) for i in range(design.frames)])
    path = out / f"{index:03d}_{style}_{design.modality}_{SYNTAX_SHORT_NAMES[uid.UID(design.syntax)]}.dcm"
    write_instance(ds, frames, design.syntax, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = _truth_record(path.name, digest, design, ctx, header, placed, non_phi_uids, extras, world.seed, index)
    write_truth(truth_path_for(path), record)
    return path


def _instance_context(design: Design, slot: FileSlot, world: RealisticWorld) -> InstanceContext:
    pixel = design.pixel
    geometry = Geometry(design.rows, design.columns, design.frames)
    kind = KindSpec(design.kind_name, design.modality, design.sop_class_uid, pixel.samples, pixel.photometric,
                    pixel.bits_allocated, pixel.bits_stored, pixel.signed, geometry, geometry,
                    rescale_intercept=pixel.rescale_intercept, window=pixel.window)
    series = world.series_of(slot, design.modality)
    return InstanceContext(kind=kind, geometry=geometry, patient=world.patient(slot.patient),
                           study=world.study(slot.patient, slot.study), series=series, instance=slot.instance,
                           sop_instance_uid=world.sop_instance_uid(series, slot.instance), first_instance_uid=None,
                           with_overlay=False)


def _header_strings(ds: Dataset) -> list[str]:
    """Every text value of the header (to make sure "outside" values are held nowhere in it)."""
    values: list[str] = []
    for dataset in (ds.file_meta, ds):
        for element in dataset.iterall():
            if element.VR in ("SQ", "OB", "OW", "UN") or element.value is None:
                continue
            items = element.value if element.VM > 1 else [element.value]
            values += [str(v) for v in items]
    return values


def _burned_frame(design: Design, placed: list[Placed], index: int, first: np.ndarray | None) -> np.ndarray:
    display = (first if first is not None else design.backdrop(index)).copy()
    paint(display, placed, index)
    return design.pixel.to_stored(display)


def _truth_record(name: str, digest: str, design: Design, ctx: InstanceContext, header: PhiHeader,
                  placed: list[Placed], non_phi_uids: list[dict[str, str]], extras: dict[str, Any], seed: int,
                  index: int) -> dict[str, Any]:
    masks = [encode_mask(item.mask) for item in placed]
    entries = []
    for frame in range(design.frames):
        for item in placed:
            if item.on_frame(frame):
                entries.append(_text_entry(item, frame, design))
    return {
        "schema_version": SCHEMA_VERSION,
        "style": design.style,
        "file": name,
        "sha256": digest,
        "kind": design.kind_name,
        "modality": design.modality,
        "sop_class_uid": design.sop_class_uid,
        **dataset_truth(ctx, header),
        "burned_in_text": entries,
        "ink_masks": masks,
        "ultrasound_regions": extras.get("ultrasound_regions", []),
        "non_phi_uids": non_phi_uids,
        "generator": {"seed": seed, "index": index, "style": design.style, "locale": ctx.patient.locale},
    }


def _text_entry(item: Placed, frame: int, design: Design) -> dict[str, Any]:
    say = item.say
    return {"frame": frame, "box": box_json(item.box), "text": say.text, "category": say.category,
            "is_phi": say.is_phi, "plane": "pixel", "font": item.look.font, "size_px": item.look.font_px,
            "glyph_px": item.look.glyph_px, "ink": design.pixel.ink_value(item.colour), "placement": item.placement,
            "role": say.role, "angle": round(item.angle, 2), "item": item.item,
            "in_header": say.in_header if say.is_phi else None, "antialias": item.look.antialias,
            "mask": item.item}
