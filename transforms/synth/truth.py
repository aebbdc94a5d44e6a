"""The ground truth written beside each synthetic file (`NAME.dcm` + `NAME.truth.json`), and its
reader. The truth is identified data: it lives next to test inputs only, and nothing that reads it
may print its values (report element paths and categories instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.text_types import Box

SCHEMA_VERSION = 1
TRUTH_SUFFIX = ".truth.json"
PHI_CATEGORIES = ("NAME", "ID", "DATE", "AGE", "ACCESSION", "INSTITUTION", "ADDRESS", "PHONE", "TIME",
                  "OTHER_PHI", "UID")
NON_PHI_CATEGORIES = ("MARKER", "MEASUREMENT", "TECHNIQUE", "LABEL", "FRAME", "SCALE")
PIXEL_PLANE = "pixel"


class TruthError(ValueError):
    """A truth file cannot be used; `reason` is machine-readable and quotes no value."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TextTruth:
    frame: int
    box: Box
    text: str
    category: str
    is_phi: bool
    plane: str = PIXEL_PLANE         # "pixel", or "overlay:6000" for an overlay plane's bitmap
    font: str = ""
    size_px: int = 0
    ink: Any = None
    placement: str = ""

    @property
    def overlay_group(self) -> int | None:
        return int(self.plane.split(":")[1], 16) if self.plane.startswith("overlay:") else None


@dataclass(frozen=True)
class PhiTruth:
    element_path: str
    tag: str
    keyword: str
    value: str
    category: str
    vr: str = ""
    value_index: int = 0
    rendered: str | None = None
    private_creator: str | None = None


@dataclass(frozen=True)
class FileTruth:
    """One file's truth; `path` is the truth's own DICOM file (the untouched input)."""

    path: Path
    raw: dict[str, Any]
    header_phi: tuple[PhiTruth, ...]
    burned_in_text: tuple[TextTruth, ...]

    @property
    def name(self) -> str:
        return self.raw["file"]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def phi_boxes(self) -> tuple[TextTruth, ...]:
        return tuple(t for t in self.burned_in_text if t.is_phi)

    @property
    def non_phi_boxes(self) -> tuple[TextTruth, ...]:
        return tuple(t for t in self.burned_in_text if not t.is_phi)


def truth_path_for(dicom_path: Path) -> Path:
    return dicom_path.with_name(dicom_path.name.removesuffix(".dcm") + TRUTH_SUFFIX)


def write_truth(path: Path, record: dict[str, Any]) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1, sort_keys=False) + "\n",
                    encoding="utf-8")


def read_truth(truth_file: Path) -> FileTruth:
    try:
        raw = json.loads(truth_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TruthError("unreadable_truth") from exc
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise TruthError("unknown_truth_schema")
    dicom = truth_file.with_name(raw["file"])
    if not dicom.exists():
        raise TruthError("truth_without_dicom")
    phi = tuple(PhiTruth(**item) for item in raw.get("header_phi", ()))
    text = tuple(TextTruth(frame=t["frame"], box=Box(**t["box"]), text=t["text"], category=t["category"],
                           is_phi=t["is_phi"], plane=t.get("plane", PIXEL_PLANE), font=t.get("font", ""),
                           size_px=t.get("size_px", 0), ink=t.get("ink"), placement=t.get("placement", ""))
                 for t in raw.get("burned_in_text", ()))
    return FileTruth(dicom, raw, phi, text)


def load_truth_dir(truth_dir: Path) -> list[FileTruth]:
    """Every truth file under `truth_dir` (recursively), in name order."""
    return [read_truth(p) for p in sorted(Path(truth_dir).rglob(f"*{TRUTH_SUFFIX}"))]


def box_json(box: Box) -> dict[str, int]:
    return {"left": box.left, "top": box.top, "width": box.width, "height": box.height}
