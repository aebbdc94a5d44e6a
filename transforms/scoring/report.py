"""The score: per-file results, corpus totals, JSON and a short human table.

Nothing here holds a PHI value: items are element paths and categories, boxes are coordinates and
categories. Totals count a missing output file against every figure it would have had (its PHI
boxes as not removed, its non-PHI boxes as not kept).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from transforms.scoring.consistency import ConsistencyResult
from transforms.scoring.header_leak import ItemLeak
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
                "integrity": self._integrity_totals(), "consistency": self.consistency.to_json(),
                "validity": self._validity_totals()}

    def _file_totals(self) -> dict[str, int]:
        statuses = [f.status for f in self.files]
        return {"truth": len(self.files), "matched": statuses.count("matched"), "missing": statuses.count("missing"),
                "unreadable": statuses.count("unreadable"), "unmatched_outputs": len(self.unmatched_outputs)}

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
        return (files["missing"] == 0 and files["unreadable"] == 0 and totals["header"]["leaked"] == 0
                and pixels["phi_recall"] in (None, 1.0)
                and totals["integrity"]["ok"] == totals["integrity"]["files"]
                and self.consistency.consistent and totals["validity"]["added_errors"] == 0)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "totals": self.totals, "settings": self.settings,
                "unmatched_outputs": self.unmatched_outputs, "skipped_outputs": self.skipped_outputs,
                "files": [f.to_json() for f in self.files]}

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

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
                  f"files: {t['files']['matched']} matched, {t['files']['missing']} missing, "
                  f"{t['files']['unmatched_outputs']} unmatched outputs",
                  f"PASSED: {self.passed}"]
        return "\n".join(lines)


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _valid_cell(v: ValidityResult | None) -> str:
    if v is None or not v.ran:
        return "-"
    return "ok" if v.valid else "FAIL"
