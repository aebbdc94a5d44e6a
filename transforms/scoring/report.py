"""The score: per-file results, corpus totals, JSON and a short human table.

Nothing here holds a PHI value: items are element paths and categories, boxes are coordinates and
categories (a box is named by its index in the truth file, never by its text). Totals count a missing
output file against every figure it would have had (its PHI boxes as not removed, its non-PHI boxes as
not kept); a file the run held back (quarantine, with its reasons) is counted apart: the pixel and
header figures are over the published files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from transforms.scoring.consistency import ConsistencyResult
from transforms.scoring.header_leak import ItemLeak
from transforms.scoring.ink import is_fully_wiped, is_kept, is_wiped
from transforms.scoring.pixels import PixelResult
from transforms.scoring.validity import ValidityResult
from transforms.synth.truth import FileTruth


@dataclass
class Integrity:
    rows_kept: bool
    columns_kept: bool
    frames_kept: bool
    sop_class_kept: bool
    transfer_syntax_kept: bool
    output_lossy: bool
    degraded_to_lossy: bool                 # lossless input, lossy output
    changed_outside_boxes: int
    bit_identical_outside_boxes: bool
    psnr_outside_boxes: float | None

    @property
    def ok(self) -> bool:
        kept = self.rows_kept and self.columns_kept and self.frames_kept and self.sop_class_kept
        exact = self.bit_identical_outside_boxes or self.output_lossy
        return kept and self.transfer_syntax_kept and not self.degraded_to_lossy and exact

    def to_json(self) -> dict[str, Any]:
        psnr = self.psnr_outside_boxes
        return {**self.__dict__, "psnr_outside_boxes": None if psnr is None else ("inf" if math.isinf(psnr) else round(psnr, 2)),
                "ok": self.ok}


@dataclass
class FileScore:
    truth_file: str
    status: str                             # matched | missing | unreadable
    output_file: str | None = None
    match_method: str | None = None
    header: list[ItemLeak] = field(default_factory=list)
    pixels: PixelResult | None = None
    integrity: Integrity | None = None
    validity: ValidityResult | None = None
    truth: FileTruth | None = None          # for totals only, never serialised
    held_reasons: list[str] = field(default_factory=list)   # "stage:reason" when the run quarantined it

    @property
    def header_leaks(self) -> list[ItemLeak]:
        return [item for item in self.header if item.leaked]

    def to_json(self) -> dict[str, Any]:
        pixels = self.pixels
        return {
            "truth_file": self.truth_file, "status": self.status, "output_file": self.output_file,
            "match_method": self.match_method,
            "header": {"items": len(self.header), "leaked": len(self.header_leaks),
                       "leaks": [item.to_json() for item in self.header_leaks]},
            "pixels": None if pixels is None else {
                "scorable": pixels.scorable, "reason": pixels.reason, "ocr_ran": pixels.ocr_ran,
                "non_text_pixels": pixels.non_text_pixels, "non_text_changed": pixels.non_text_changed,
                "boxes": [box.to_json() for box in pixels.boxes]},
            "integrity": None if self.integrity is None else self.integrity.to_json(),
            "validity": None if self.validity is None else self.validity.to_json(),
            "held_reasons": self.held_reasons,
            "fields": None if pixels is None else _field_figures([self]),
            "collateral": None if pixels is None or pixels.collateral is None else round(pixels.collateral, 6),
        }


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass
class ScoreReport:
    files: list[FileScore]
    consistency: ConsistencyResult
    unmatched_outputs: list[str] = field(default_factory=list)
    skipped_outputs: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Any]:
        return {"files": self._file_totals(), "header": self._header_totals(), "pixels": self._pixel_totals(),
                "fields": _field_figures(self.files), "collateral": self._collateral_totals(),
                "ultrasound_regions": self._region_totals(),
                "integrity": self._integrity_totals(), "consistency": self.consistency.to_json(),
                "validity": self._validity_totals()}

    def _file_totals(self) -> dict[str, Any]:
        statuses = [f.status for f in self.files]
        reasons: dict[str, int] = {}
        for f in self.files:
            for reason in f.held_reasons:
                reasons[reason] = reasons.get(reason, 0) + 1
        return {"truth": len(self.files), "matched": statuses.count("matched"), "held": statuses.count("held"),
                "missing": statuses.count("missing"), "unreadable": statuses.count("unreadable"),
                "unmatched_outputs": len(self.unmatched_outputs), "held_by_reason": dict(sorted(reasons.items())),
                "published_share": _share(statuses.count("matched"), len(self.files))}

    def _collateral_totals(self) -> dict[str, Any]:
        """Pixels changed away from every truth box grown by 4 px, as a share of the image."""
        scored = [f.pixels for f in self.files if f.pixels is not None and f.pixels.collateral is not None]
        shares = [p.collateral for p in scored]
        changed, pixels = sum(p.non_text_changed for p in scored), sum(p.image_pixels for p in scored)
        return {"files": len(scored), "pixels_changed": changed, "image_pixels": pixels,
                "share": _share(changed, pixels), "max_file_share": max(shares, default=None),
                "files_over_0_05_percent": sum(s > COLLATERAL_GOAL for s in shares)}

    def _region_totals(self) -> dict[str, Any]:
        scored = [f.pixels for f in self.files if f.pixels is not None and f.pixels.region_pixels]
        return {"files": len(scored), "region_pixels": sum(p.region_pixels for p in scored),
                "region_pixels_changed": sum(p.region_changed for p in scored),
                "region_changed_share": _share(sum(p.region_changed for p in scored),
                                               sum(p.region_pixels for p in scored)),
                "text_free_frames": sum(p.region_text_free_frames for p in scored),
                "text_free_frames_touched": sum(p.region_text_free_frames_touched for p in scored)}

    def _header_totals(self) -> dict[str, Any]:
        by_category: dict[str, list[int]] = {}
        for f in self.files:
            for item in f.header:
                counts = by_category.setdefault(item.category, [0, 0])
                counts[0] += item.leaked
                counts[1] += 1
        leaked = sum(c[0] for c in by_category.values())
        return {"items": sum(c[1] for c in by_category.values()), "leaked": leaked,
                "by_category": {k: {"leaked": v[0], "items": v[1]} for k, v in sorted(by_category.items())}}

    def _pixel_totals(self) -> dict[str, Any]:
        phi: dict[str, list[int]] = {}
        non_phi = [0, 0]
        ocr = [0, 0]
        changed, pixels = 0, 0
        for f in self.files:
            if f.status == "held":
                continue
            boxes = f.pixels.boxes if f.pixels else []
            if f.pixels is None and f.truth is not None:       # missing: nothing removed, nothing kept
                for t in f.truth.burned_in_text:
                    counts = phi.setdefault(t.category, [0, 0]) if t.is_phi else non_phi
                    counts[1] += 1
            for box in boxes:
                if box.is_phi:
                    counts = phi.setdefault(box.category, [0, 0])
                    counts[0] += box.removed
                    counts[1] += 1
                    if box.ocr_reads is not None:
                        ocr[0] += box.ocr_reads
                        ocr[1] += 1
                else:
                    non_phi[0] += not box.destroyed
                    non_phi[1] += 1
            if f.pixels:
                changed += f.pixels.non_text_changed
                pixels += f.pixels.non_text_pixels
        removed, total = sum(c[0] for c in phi.values()), sum(c[1] for c in phi.values())
        return {"phi_boxes": total, "phi_removed": removed, "phi_recall": _share(removed, total),
                "recall_by_category": {k: {"removed": v[0], "boxes": v[1], "recall": _share(*v)}
                                       for k, v in sorted(phi.items())},
                "phi_still_read_by_ocr": ocr[0], "phi_boxes_ocr_checked": ocr[1],
                "non_phi_boxes": non_phi[1], "non_phi_kept": non_phi[0], "non_phi_kept_share": _share(*non_phi),
                "non_text_pixels": pixels, "non_text_pixels_changed": changed,
                "non_text_changed_share": _share(changed, pixels)}

    def _integrity_totals(self) -> dict[str, Any]:
        scored = [f.integrity for f in self.files if f.integrity is not None]
        lossless = [i for i in scored if not i.output_lossy]
        psnrs = [i.psnr_outside_boxes for i in scored if i.output_lossy and i.psnr_outside_boxes is not None]
        return {"files": len(scored), "ok": sum(i.ok for i in scored),
                "lossless_outputs": len(lossless),
                "bit_identical_outside_boxes": sum(i.bit_identical_outside_boxes for i in lossless),
                "degraded_to_lossy": sum(i.degraded_to_lossy for i in scored),
                "geometry_or_class_changed": sum(not (i.rows_kept and i.columns_kept and i.frames_kept
                                                      and i.sop_class_kept) for i in scored),
                "transfer_syntax_changed": sum(not i.transfer_syntax_kept for i in scored),
                "min_psnr_lossy_outside_boxes": None if not psnrs else (
                    "inf" if math.isinf(min(psnrs)) else round(min(psnrs), 2))}

    def _validity_totals(self) -> dict[str, Any]:
        results = [f.validity for f in self.files if f.validity is not None]
        ran = [v for v in results if v.ran]
        return {"checked": len(ran), "not_run": len(results) - len(ran),
                "files_with_added_errors": sum(v.added_errors > 0 for v in ran),
                "added_errors": sum(v.added_errors for v in ran)}

    @property
    def passed(self) -> bool:
        totals = self.totals
        pixels, files = totals["pixels"], totals["files"]
        return (files["missing"] == 0 and files["held"] == 0 and files["unreadable"] == 0
                and totals["header"]["leaked"] == 0
                and pixels["phi_recall"] in (None, 1.0)
                and totals["integrity"]["ok"] == totals["integrity"]["files"]
                and self.consistency.consistent and totals["validity"]["added_errors"] == 0)

    def misses(self) -> list[dict[str, Any]]:
        """Every value not wiped, label or other text not kept, and held file: named by file, box index,
        frame, role, category, orientation and the share of its ink changed; never by its text."""
        rows: list[dict[str, Any]] = []
        for f in self.files:
            if f.status != "matched":
                rows.append({"file": f.truth_file, "status": f.status, "held_reasons": f.held_reasons})
                continue
            for box in f.pixels.boxes if f.pixels else []:
                if box.role and box.missed:
                    rows.append({"file": f.truth_file, "box_id": box.box_id, "item": box.item, "frame": box.frame,
                                 "role": box.role, "category": box.category, "orientation": box.orientation,
                                 "placement": box.placement, "in_header": box.in_header,
                                 "box": dict(zip(("left", "top", "width", "height"), box.box)),
                                 "ink_changed": round(box.ink_changed, 4)})
        return rows

    def misses_table(self) -> str:
        lines = [f"{'file':<40} {'box':>5} {'frame':>5} {'role':<6} {'category':<12} {'orient':>7} "
                 f"{'placement':<9} {'ink changed':>11}"]
        for row in self.misses():
            if "box_id" not in row:
                lines.append(f"{row['file'][:40]:<40} {row['status']}: {', '.join(row['held_reasons']) or '-'}")
                continue
            lines.append(f"{row['file'][:40]:<40} {row['box_id']:>5} {row['frame']:>5} {row['role']:<6} "
                         f"{row['category']:<12} {row['orientation']:>7} {row['placement'][:9]:<9} "
                         f"{100 * row['ink_changed']:>10.1f}%")
        return "\n".join(lines)

    def to_dict(self, misses: bool = False) -> dict[str, Any]:
        report = {"passed": self.passed, "totals": self.totals, "settings": self.settings,
                  "unmatched_outputs": self.unmatched_outputs, "skipped_outputs": self.skipped_outputs,
                  "files": [f.to_json() for f in self.files]}
        return report | ({"misses": self.misses()} if misses else {})

    def to_json(self, indent: int | None = 1, misses: bool = False) -> str:
        return json.dumps(self.to_dict(misses), indent=indent, default=str)

    def to_table(self) -> str:
        """Per-file lines and the totals, for a terminal."""
        lines = [f"{'file':<30} {'status':<10} {'hdr leaks':>9} {'phi rem/box':>11} {'nonphi kept':>11} "
                 f"{'integrity':>9} {'valid':>5}"]
        for f in self.files:
            boxes = f.pixels.boxes if f.pixels else []
            phi = [b for b in boxes if b.is_phi]
            non_phi = [b for b in boxes if not b.is_phi]
            lines.append(
                f"{f.truth_file[:30]:<30} {f.status:<10} {len(f.header_leaks):>9} "
                f"{sum(b.removed for b in phi):>5}/{len(phi):<5} {sum(not b.destroyed for b in non_phi):>5}/"
                f"{len(non_phi):<5} {('ok' if f.integrity and f.integrity.ok else '-' if not f.integrity else 'FAIL'):>9} "
                f"{_valid_cell(f.validity):>5}")
        t = self.totals
        p, h = t["pixels"], t["header"]
        lines += ["",
                  f"header leakage: {h['leaked']} of {h['items']} PHI items "
                  + ", ".join(f"{k} {v['leaked']}/{v['items']}" for k, v in h["by_category"].items() if v["leaked"]),
                  f"pixel PHI recall: {_pct(p['phi_recall'])} ({p['phi_removed']}/{p['phi_boxes']}); "
                  + ", ".join(f"{k} {_pct(v['recall'])}" for k, v in p["recall_by_category"].items()),
                  f"OCR still reads: {p['phi_still_read_by_ocr']} of {p['phi_boxes_ocr_checked']} checked PHI boxes",
                  f"non-PHI text kept: {_pct(p['non_phi_kept_share'])}; non-text pixels changed: "
                  f"{_pct(p['non_text_changed_share'], 3)}",
                  f"integrity ok: {t['integrity']['ok']}/{t['integrity']['files']}; "
                  f"consistency: {'ok' if self.consistency.consistent else 'FAIL'}; "
                  f"validity: {t['validity']['added_errors']} added errors in {t['validity']['checked']} checked files",
                  f"files: {t['files']['matched']} matched, {t['files']['held']} held "
                  + (_inline(t['files']['held_by_reason']) + " " if t['files']['held_by_reason'] else "")
                  + f"{t['files']['missing']} missing, {t['files']['unmatched_outputs']} unmatched outputs"]
        lines += _field_lines(t["fields"], t["collateral"], t["ultrasound_regions"])
        lines.append(f"PASSED: {self.passed}")
        return "\n".join(lines)


COLLATERAL_GOAL = 0.0005            # issue 29: at most 0.05% of the image changed away from text, per file


def _field_figures(files: list[FileScore]) -> dict[str, Any]:
    """Issue 22/29 figures over the published (matched) files: value boxes wiped (>= 50% of their ink
    changed) and wiped to the last glyph (>= 95%), labels and other non-PHI text kept (<= 10% of their
    ink changed), value recall per orientation, per category, and for values absent from the header.
    Boxes count once per frame they show on. A missing file counts against them (nothing wiped, nothing
    kept); a held one is left out."""
    counts: dict[str, list[int]] = {k: [0, 0] for k in ("value", "value_fully", "label", "other", "outside")}
    by_orientation: dict[str, list[int]] = {}
    by_category: dict[str, list[int]] = {}
    outside_by_category: dict[str, list[int]] = {}
    for f in files:
        if f.status == "held":
            continue
        if f.pixels is not None:
            boxes = [(b.role, b.category, b.orientation, b.in_header, b.ink_changed) for b in f.pixels.boxes]
        elif f.truth is not None:
            boxes = [(t.role, t.category, t.orientation, t.in_header, 0.0 if t.is_phi else 1.0)
                     for t in f.truth.burned_in_text]
        else:
            boxes = []
        for role, category, orientation, in_header, ink in boxes:
            if role == "value":
                wiped = is_wiped(ink)
                _count(counts["value"], wiped)
                _count(counts["value_fully"], is_fully_wiped(ink))
                _count(by_orientation.setdefault(orientation, [0, 0]), wiped)
                _count(by_category.setdefault(category, [0, 0]), wiped)
                if in_header is False:
                    _count(counts["outside"], wiped)
                    _count(outside_by_category.setdefault(category, [0, 0]), wiped)
            elif role in ("label", "other"):
                _count(counts[role], is_kept(ink))
    return {"value_boxes": counts["value"][1], "values_wiped": counts["value"][0],
            "values_wiped_share": _share(*counts["value"]), "values_wiped_fully": counts["value_fully"][0],
            "values_wiped_fully_share": _share(*counts["value_fully"]),
            "label_boxes": counts["label"][1], "labels_kept": counts["label"][0],
            "labels_kept_share": _share(*counts["label"]),
            "other_boxes": counts["other"][1], "other_kept": counts["other"][0],
            "other_kept_share": _share(*counts["other"]),
            "outside_header_values": counts["outside"][1], "outside_header_values_wiped": counts["outside"][0],
            "outside_header_by_category": {k: {"wiped": v[0], "boxes": v[1], "recall": _share(*v)}
                                           for k, v in sorted(outside_by_category.items())},
            "recall_by_orientation": {k: {"wiped": v[0], "boxes": v[1], "recall": _share(*v)}
                                      for k, v in sorted(by_orientation.items())},
            "recall_by_category": {k: {"wiped": v[0], "boxes": v[1], "recall": _share(*v)}
                                   for k, v in sorted(by_category.items())}}


def _count(counts: list[int], hit: bool) -> None:
    counts[0] += hit
    counts[1] += 1


def _field_lines(fields: dict[str, Any], collateral: dict[str, Any], regions: dict[str, Any]) -> list[str]:
    lines = [f"PHI values wiped (>= 50% of ink): {_pct(fields['values_wiped_share'])} "
             f"({fields['values_wiped']}/{fields['value_boxes']}); to the last glyph (>= 95%): "
             f"{_pct(fields['values_wiped_fully_share'])}; per orientation: "
             + ", ".join(f"{k} {_pct(v['recall'])} ({v['wiped']}/{v['boxes']})"
                         for k, v in fields["recall_by_orientation"].items()),
             f"labels kept: {_pct(fields['labels_kept_share'])} ({fields['labels_kept']}/{fields['label_boxes']}); "
             f"other non-PHI text kept: {_pct(fields['other_kept_share'])} "
             f"({fields['other_kept']}/{fields['other_boxes']})"]
    if fields["outside_header_values"]:
        lines.append(f"values absent from the header wiped: {fields['outside_header_values_wiped']}/"
                     f"{fields['outside_header_values']}")
    lines.append(f"collateral (changed beyond 4 px of any text box): {_pct(collateral['share'], 3)} of all pixels, "
                 f"worst file {_pct(collateral['max_file_share'], 3)}, {collateral['files_over_0_05_percent']} files "
                 f"over 0.05%")
    if regions["files"]:
        lines.append(f"ultrasound regions: {_pct(regions['region_changed_share'], 3)} of region pixels changed away "
                     f"from text; {regions['text_free_frames_touched']} of {regions['text_free_frames']} text-free "
                     f"frames touched")
    return lines


def _inline(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")"


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _valid_cell(v: ValidityResult | None) -> str:
    if v is None or not v.ran:
        return "-"
    return "ok" if v.valid else "FAIL"
