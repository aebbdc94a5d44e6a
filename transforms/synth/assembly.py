"""The parts of one synthetic file that every writer shares: the corpus's entities (`World`), an
instance's context, its frames with the text burned in, and its truth record.

Both the corpus writer (`generator.py`) and the streamed large file (`large.py`) build on this module;
it imports neither, so imports flow one way: assembly <- large <- generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pydicom.uid as uid
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pack_bits

from transforms import transfer_syntax
from transforms.synth.anatomy import FrameSource
from transforms.synth.burn import TextItem, composite, ink_box, overlay_bits
from transforms.synth.header import InstanceContext, PhiHeader
from transforms.synth.identities import (Patient, Series, Study, draw_patient, draw_series, draw_study,
                                         seeded_uid)
from transforms.synth.kinds import KindSpec
from transforms.synth.layout import Annotations
from transforms.synth.plan import FileSlot, locale_of_patient
from transforms.synth.renderings import render_name
from transforms.synth.truth import CLASSIC_SCHEMA_VERSION, box_json

OVERLAY_GROUP = 0x6000
OVERLAY_PLANE = f"overlay:{OVERLAY_GROUP:04X}"


@dataclass
class World:
    """The corpus's patients, studies and series, drawn once and shared by their files."""

    seed: int
    patients: dict[int, Patient] = field(default_factory=dict)
    studies: dict[tuple[int, int], Study] = field(default_factory=dict)
    series: dict[tuple[int, int, int], Series] = field(default_factory=dict)

    def patient(self, index: int) -> Patient:
        if index not in self.patients:
            self.patients[index] = draw_patient(self.seed, index, locale_of_patient(index))
        return self.patients[index]

    def study(self, patient: int, study: int) -> Study:
        key = (patient, study)
        if key not in self.studies:
            self.studies[key] = draw_study(self.seed, self.patient(patient), study)
        return self.studies[key]

    def series_of(self, slot: FileSlot, modality: str) -> Series:
        key = (slot.patient, slot.study, slot.series)
        if key not in self.series:
            self.series[key] = draw_series(self.seed, self.patient(slot.patient),
                                           self.study(slot.patient, slot.study), slot.series, modality)
        return self.series[key]

    def sop_instance_uid(self, series: Series, instance: int) -> str:
        return seeded_uid(self.seed, series.key, "instance", instance)


def instance_context(slot: FileSlot, world: World, kind: KindSpec, full_size: bool) -> InstanceContext:
    geometry = kind.geometry(full_size)
    series = world.series_of(slot, kind.modality)
    single_frame = geometry.frames == 1
    return InstanceContext(
        kind=kind, geometry=geometry, patient=world.patient(slot.patient),
        study=world.study(slot.patient, slot.study), series=series, instance=slot.instance,
        sop_instance_uid=world.sop_instance_uid(series, slot.instance),
        first_instance_uid=world.sop_instance_uid(series, 1) if slot.instance > 1 else None,
        with_overlay=single_frame and slot.index % 3 == 0 and slot.syntax != uid.ExplicitVRBigEndian,
    )


def iter_frames(source: FrameSource, items: list[TextItem]) -> Iterator[np.ndarray]:
    """Each frame with its text burned in, clipped to BitsStored and cast to the stored dtype."""
    kind = source.kind
    low, high = kind.stored_range
    dtype = np.uint8 if kind.is_8_bit else (np.int16 if kind.signed else np.uint16)
    for index in range(source.geometry.frames):
        frame = source.frame(index).astype(np.float32, copy=True)
        for item in items:
            if item.on_frame(index):
                composite(frame, item)
        yield np.clip(np.rint(frame), low, high).astype(dtype)


def add_overlay(header: PhiHeader, ctx: InstanceContext, items: list[TextItem], rng: random.Random) -> None:
    """Overlay plane 6000 with the items' text as a 1-bit bitmap, and a label naming the reader."""
    ds: Dataset = header.dataset
    rows, columns = ctx.geometry.rows, ctx.geometry.columns
    bits = overlay_bits(rows, columns, items)
    base = OVERLAY_GROUP << 16
    ds.add_new(base | 0x0010, "US", rows)
    ds.add_new(base | 0x0011, "US", columns)
    ds.add_new(base | 0x0040, "CS", "G")
    ds.add_new(base | 0x0050, "SS", [1, 1])
    ds.add_new(base | 0x0100, "US", 1)
    ds.add_new(base | 0x0102, "US", 0)
    ds.add_new(base | 0x0022, "LO", "Annotation")
    ds.add_new(base | 0x3000, "OW", pack_bits(bits.ravel()))
    reader = ctx.study.reading
    name = render_name(reader.family, reader.given, "", "initial_family")
    header.put_text(ds, "", "OverlayLabel", ["Reviewed by ", (name, reader.pn(), "NAME")],
                    tag=base | 0x1500)


def text_truth(items: list[TextItem], frames: int) -> list[dict[str, Any]]:
    """One entry per item per frame it shows on, in frame order."""
    entries = []
    for frame in range(frames):
        for item in items:
            if item.on_frame(frame):
                entries.append(_text_entry(item, frame, item.box, "pixel"))
    return entries


def overlay_truth(items: list[TextItem]) -> list[dict[str, Any]]:
    entries = []
    for item in items:
        box = ink_box(item, 128)
        if box is not None:
            entries.append(_text_entry(item, 0, box, OVERLAY_PLANE))
    return entries


def _text_entry(item: TextItem, frame: int, box, plane: str) -> dict[str, Any]:
    ink = list(item.ink) if isinstance(item.ink, tuple) else item.ink
    return {"frame": frame, "box": box_json(box), "text": item.text, "category": item.category,
            "is_phi": item.is_phi, "plane": plane, "font": item.font, "size_px": item.font_px,
            "ink": 1 if plane != "pixel" else ink, "placement": item.placement}


def dataset_truth(ctx: InstanceContext, header: PhiHeader) -> dict[str, Any]:
    """The part of a truth record read off the written dataset (syntax, geometry, pixel description,
    UIDs, keys, references, header PHI): the same for every style."""
    ds = header.dataset
    syntax = uid.UID(str(ds.file_meta.TransferSyntaxUID))
    return {
        "transfer_syntax_uid": str(syntax),
        "transfer_syntax_name": syntax.name,
        "lossy": transfer_syntax.is_lossy(syntax, ds),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "frames": int(ds.get("NumberOfFrames", 1) or 1),
        "samples_per_pixel": int(ds.SamplesPerPixel),
        "photometric_interpretation": str(ds.PhotometricInterpretation),
        "bits_allocated": int(ds.BitsAllocated),
        "bits_stored": int(ds.BitsStored),
        "pixel_representation": int(ds.PixelRepresentation),
        "uids": {
            "study_instance_uid": ctx.study.uid,
            "series_instance_uid": ctx.series.uid,
            "sop_instance_uid": ctx.sop_instance_uid,
            "frame_of_reference_uid": str(ds.get("FrameOfReferenceUID", "")) or None,
        },
        "patient_key": ctx.patient.key,
        "study_key": ctx.study.key,
        "series_key": ctx.series.key,
        "instance_number": ctx.instance,
        "references": [r.__dict__ for r in header.references],
        "header_phi": [p.to_json() for p in header.phi],
    }


def truth_record(name: str, digest: str, slot: FileSlot, ctx: InstanceContext, header: PhiHeader,
                 annotations: Annotations, seed: int, full_size: bool) -> dict[str, Any]:
    return {
        "schema_version": CLASSIC_SCHEMA_VERSION,
        "file": name,
        "sha256": digest,
        "kind": ctx.kind.name,
        "modality": ctx.kind.modality,
        "sop_class_uid": ctx.kind.sop_class_uid,
        **dataset_truth(ctx, header),
        "burned_in_text": text_truth(annotations.pixel_items, ctx.geometry.frames)
        + overlay_truth(annotations.overlay_items),
        "generator": {"seed": seed, "index": slot.index, "full_size": full_size,
                      "locale": ctx.patient.locale},
    }
