"""The DicomToMetadata step for one file: every element as a row (identified, bronze only) and the
PHI-free complexity figures a user needs to size a job before running it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator

import pydicom.uid
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from transforms import transfer_syntax
from transforms.dicom_io import PIXEL_DATA_TAGS, pixel_data_extent, read_header
from transforms.ingest import transfer_syntax_of

MAX_VALUE_CHARS = 64 * 1024
BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
MAX_UN_TEXT_BYTES = 1024   # short UN values (implicit-VR private tags) are usually text: keep them


@dataclass(frozen=True)
class CostModel:
    """Seconds of one core per unit of work, from whole runs on this project's 2-core reference machine
    (metrics.cost_calibration compares them with measured runs; metrics.job_size_forecast rescales).

    Rough by design: it ranks jobs and forecasts their size; it is not a promise. Text search (detection,
    OCR, and the leakage gate's second reading) dominates; decoding compressed frames comes next.
    """

    per_file: float = 1.5
    per_megapixel_frame_native: float = 0.02
    per_megapixel_frame_compressed: float = 0.15
    per_megapixel_frame_text_search: float = 6.0

    def estimate(self, frames: int, rows: int, columns: int, compressed: bool) -> float:
        megapixels = rows * columns / 1e6
        decode = self.per_megapixel_frame_compressed if compressed else self.per_megapixel_frame_native
        return self.per_file + frames * megapixels * (decode + self.per_megapixel_frame_text_search)


COST_MODEL = CostModel()


def describe_file(path: str, file_bytes: int) -> dict[str, Any]:
    """Parse one header (pixel data stays on disk) into elements and complexity figures."""
    started = time.perf_counter()
    ds = read_header(path)
    elements, error = flatten_elements(ds)
    result = complexity_metrics(ds, file_bytes, elements)
    result["elements"] = elements
    result["metadata_error"] = error
    result["header_parse_seconds"] = time.perf_counter() - started
    return result


def flatten_elements(ds: Dataset) -> tuple[list[dict[str, Any]], str | None]:
    """Every element, file meta and nested sequence items included, in file order."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        rows.extend(_walk(meta, "", 0, True, errors))
    rows.extend(_walk(ds, "", 0, False, errors))
    return rows, ("unparsable_element" if errors else None)


def _walk(ds: Dataset, prefix: str, depth: int, in_meta: bool, errors: list[str]) -> Iterator[dict[str, Any]]:
    for tag in list(ds._dict.keys()):
        raw = ds._dict[tag]
        tag_hex = f"{int(tag):08X}"
        path = f"{prefix}{tag_hex}"
        row = {
            "element_path": path, "tag": tag_hex, "depth": depth, "in_file_meta": in_meta,
            "is_private": tag.is_private, "private_creator": None, "keyword": None,
            "vr": _vr_of(raw, tag), "vm": None, "value": None, "value_length": None,
        }
        if tag in PIXEL_DATA_TAGS or (isinstance(raw, RawDataElement) and raw.value is None
                                      and raw.length not in (0, 0xFFFFFFFF)):
            # Pixel data and deferred large values: record the size, never read the bytes.
            row["value_length"] = int(getattr(raw, "length", 0) or 0)
            row["keyword"] = _keyword(tag)
            yield row
            continue
        try:
            elem = ds[tag]
        except Exception as exc:  # noqa: BLE001 - bad VR or value: record, do not crash the batch
            errors.append(type(exc).__name__)
            row["value"] = None
            yield row
            continue
        row.update(keyword=elem.keyword or None, vr=str(elem.VR),
                   private_creator=getattr(elem, "private_creator", None))
        if elem.VR == "SQ":
            items = elem.value or []
            row["vm"] = len(items)
            yield row
            for index, item in enumerate(items):
                yield from _walk(item, f"{path}[{index}].", depth + 1, in_meta, errors)
            continue
        row["vm"] = elem.VM
        row["value"], row["value_length"] = _render_value(elem)
        yield row


def _render_value(elem) -> tuple[str | None, int | None]:
    value = elem.value
    if elem.VR in BINARY_VRS:
        data = value if isinstance(value, (bytes, bytearray)) else b""
        if elem.VR == "UN" and 0 < len(data) <= MAX_UN_TEXT_BYTES:
            return data.decode("latin-1").rstrip("\x00 "), len(data)
        return None, len(data)
    if value is None:
        return None, 0
    if isinstance(value, (list, MultiValue)):
        text = "\\".join(str(v) for v in value)
    elif isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("latin-1")
    else:
        text = str(value)
    return text[:MAX_VALUE_CHARS], len(text)


def _vr_of(raw, tag) -> str | None:
    vr = getattr(raw, "VR", None)
    if vr is None:
        from pydicom.datadict import dictionary_VR

        try:
            vr = dictionary_VR(tag)
        except KeyError:
            return None
    return str(vr)


def _keyword(tag) -> str | None:
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or None


def complexity_metrics(ds: Dataset, file_bytes: int, elements: list[dict[str, Any]]) -> dict[str, Any]:
    ts = transfer_syntax_of(ds)
    sop_class = _safe_str(ds, "SOPClassUID")
    extent = pixel_data_extent(ds)
    rows, columns = _safe_int(ds, "Rows"), _safe_int(ds, "Columns")
    samples = _safe_int(ds, "SamplesPerPixel") or (1 if extent else None)
    bits_allocated = _safe_int(ds, "BitsAllocated")
    frames = (_safe_int(ds, "NumberOfFrames") or 1) if extent else 0
    decoded = None
    if extent and rows and columns and bits_allocated:
        decoded = rows * columns * (samples or 1) * bits_allocated * frames // 8
    stored = None
    if extent:
        stored = extent.length if extent.length is not None else max(file_bytes - extent.offset, 0)
    compressed = transfer_syntax.is_compressed(ts)
    return {
        "modality": _safe_str(ds, "Modality"),
        "manufacturer": _safe_str(ds, "Manufacturer"),
        "model_name": _safe_str(ds, "ManufacturerModelName"),
        "sop_class_uid": sop_class,
        "sop_class_name": pydicom.uid.UID(sop_class).name if sop_class else None,
        "transfer_syntax_uid": str(ts) if ts else None,
        "transfer_syntax_name": transfer_syntax.name_of(ts),
        "is_compressed": compressed,
        "is_lossy": transfer_syntax.is_lossy(ts, ds),
        "rows": rows,
        "columns": columns,
        "frames": frames,
        "bits_allocated": bits_allocated,
        "bits_stored": _safe_int(ds, "BitsStored"),
        "pixel_representation": _safe_int(ds, "PixelRepresentation"),
        "photometric_interpretation": _safe_str(ds, "PhotometricInterpretation"),
        "samples_per_pixel": samples,
        "planar_configuration": _safe_int(ds, "PlanarConfiguration"),
        "has_pixel_data": extent is not None,
        "file_bytes": file_bytes,
        "pixel_bytes": stored,
        "decoded_pixel_bytes": decoded,
        "burned_in_annotation": _safe_str(ds, "BurnedInAnnotation"),
        "element_count": len(elements),
        "private_element_count": sum(1 for e in elements if e["is_private"]),
        "sequence_count": sum(1 for e in elements if e["vr"] == "SQ"),
        "max_sequence_depth": max((e["depth"] for e in elements), default=0),
        "has_overlay": any(0x6000 <= int(e["tag"][:4], 16) <= 0x601E and int(e["tag"][:4], 16) % 2 == 0
                           for e in elements),
        "estimated_cost_seconds": COST_MODEL.estimate(frames, rows or 0, columns or 0, compressed),
    }


def _safe_str(ds: Dataset, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001
        return None
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip() or None


def _safe_int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except Exception:  # noqa: BLE001
        return None
