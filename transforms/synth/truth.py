"""The ground truth written beside each synthetic file (`NAME.dcm` + `NAME.truth.json`), and its
reader. The truth is identified data: it lives next to test inputs only, and nothing that reads it
may print its values (report element paths and categories instead).

Schema 1 is what the classic style writes (unchanged, so the checked-in corpus stands). Schema 2, written
by the realistic styles, adds per text box its `role` (label / value / other), `angle`, `item` (one id per
placed text, shared by the frames it shows on), `in_header` (for PHI values: whether the header holds the
value) and `mask` (index into the file's `ink_masks`: the box's ink as packed bits), and per file its
`style`, `ultrasound_regions` and `non_phi_uids`. The reader takes both; for schema 1 it derives the role
from the category and leaves the ink mask to be rebuilt from the font (`transforms.scoring.ink`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transforms.text_types import Box

SCHEMA_VERSION = 2
CLASSIC_SCHEMA_VERSION = 1                 # what the classic style writes, byte for byte as before
READABLE_SCHEMAS = (CLASSIC_SCHEMA_VERSION, SCHEMA_VERSION)
TRUTH_SUFFIX = ".truth.json"
PHI_CATEGORIES = ("NAME", "ID", "DATE", "AGE", "SEX", "ACCESSION", "INSTITUTION", "ADDRESS", "PHONE", "TIME",
                  "OTHER_PHI", "UID")
NON_PHI_CATEGORIES = ("MARKER", "MEASUREMENT", "TECHNIQUE", "LABEL", "FRAME", "SCALE", "ANNOTATION",
                      "DEVICE")
PIXEL_PLANE = "pixel"
ROLE_LABEL, ROLE_VALUE, ROLE_OTHER = "label", "value", "other"    # field label, PHI value, other non-PHI text


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
    role: str = ""                   # label | value | other (schema 1: derived from category and is_phi)
    angle: float = 0.0               # degrees, counter-clockwise as the text reads (90: bottom to top)
    item: int | None = None          # the placed text this box belongs to (one per frame it shows on)
    in_header: bool | None = None    # PHI values: whether the header holds the value (None: not said)
    ink_mask: np.ndarray | None = None   # bool (height, width) of the box: pixels the text inked

    @property
    def overlay_group(self) -> int | None:
        return int(self.plane.split(":")[1], 16) if self.plane.startswith("overlay:") else None

    @property
    def orientation(self) -> str:
        """'0', '90', '180', '270' (within half a degree), else 'skewed'."""
        angle = self.angle % 360
        for right in (0, 90, 180, 270, 360):
            if abs(angle - right) < 0.5:
                return str(right % 360)
        return "skewed"


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
    if raw.get("schema_version") not in READABLE_SCHEMAS:
        raise TruthError("unknown_truth_schema")
    dicom = truth_file.with_name(raw["file"])
    if not dicom.exists():
        raise TruthError("truth_without_dicom")
    phi = tuple(PhiTruth(**item) for item in raw.get("header_phi", ()))
    masks = [decode_mask(m) for m in raw.get("ink_masks", ())]
    text = tuple(_text_truth(t, masks) for t in raw.get("burned_in_text", ()))
    return FileTruth(dicom, raw, phi, text)


def _text_truth(t: dict[str, Any], masks: list[np.ndarray]) -> TextTruth:
    mask_index = t.get("mask")
    return TextTruth(frame=t["frame"], box=Box(**t["box"]), text=t["text"], category=t["category"],
                     is_phi=t["is_phi"], plane=t.get("plane", PIXEL_PLANE), font=t.get("font", ""),
                     size_px=t.get("size_px", 0), ink=t.get("ink"), placement=t.get("placement", ""),
                     role=t.get("role") or derived_role(t["category"], t["is_phi"]),
                     angle=float(t.get("angle", 0.0)), item=t.get("item"), in_header=t.get("in_header"),
                     ink_mask=None if mask_index is None else masks[mask_index])


def derived_role(category: str, is_phi: bool) -> str:
    """Schema 1 has no role: a LABEL is a field label, PHI is a value, the rest is other text."""
    if is_phi:
        return ROLE_VALUE
    return ROLE_LABEL if category == "LABEL" else ROLE_OTHER


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """A bool mask as its size and base64 of its bits packed row by row (JSON-friendly, ~1/6 the size)."""
    mask = np.asarray(mask, bool)
    return {"height": int(mask.shape[0]), "width": int(mask.shape[1]),
            "bits": base64.b64encode(np.packbits(mask, axis=None).tobytes()).decode("ascii")}


def decode_mask(record: dict[str, Any]) -> np.ndarray:
    height, width = int(record["height"]), int(record["width"])
    bits = np.frombuffer(base64.b64decode(record["bits"]), np.uint8)
    return np.unpackbits(bits, count=height * width).astype(bool).reshape(height, width)


def load_truth_dir(truth_dir: Path) -> list[FileTruth]:
    """Every truth file under `truth_dir` (recursively), in name order."""
    return [read_truth(p) for p in sorted(Path(truth_dir).rglob(f"*{TRUTH_SUFFIX}"))]


def box_json(box: Box) -> dict[str, int]:
    return {"left": box.left, "top": box.top, "width": box.width, "height": box.height}
