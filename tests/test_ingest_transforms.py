"""Bronze ingest and metadata transforms on one file, without Spark."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import MIXED_EXPECTED, pydicom_file
from transforms.ingest import inspect_dicom_file
from transforms.landing import BatchRegistry, list_landing_files
from transforms.metadata import describe_file, flatten_elements
from warehouse.raw_store import RawStore


def test_every_mixed_file_gets_the_expected_verdict(mixed_folder):
    verdicts = {path: inspect_dicom_file(mixed_folder / path) for path in MIXED_EXPECTED}
    got = {path: v.status if v.status == "ok" else v.reject_reason for path, v in verdicts.items()}
    assert got == MIXED_EXPECTED


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "rtplan_truncated.dcm"])
def test_pydicom_truncated_samples_are_rejected(name):
    assert inspect_dicom_file(pydicom_file(name)).reject_reason == "truncated"


def test_encapsulated_pixel_data_cut_short_is_rejected(tmp_path):
    cut = tmp_path / "j2k_cut.dcm"
    cut.write_bytes(pydicom_file("JPEG2000.dcm").read_bytes()[:2000])
    verdict = inspect_dicom_file(cut)
    assert verdict.status == "rejected" and verdict.reject_reason.startswith("truncated")


def test_absurd_size_is_rejected_before_parsing(tmp_path):
    assert inspect_dicom_file(pydicom_file("CT_small.dcm"), max_bytes=1000).reject_reason == "too_large"


def test_unknown_transfer_syntax_is_rejected(tmp_path):
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    path = tmp_path / "odd_syntax.dcm"
    ds.save_as(path, enforce_file_format=False)
    assert inspect_dicom_file(path).reject_reason == "unknown_transfer_syntax"


def test_reject_details_never_quote_file_values(mixed_folder):
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    values = {str(ds.PatientName), str(ds.PatientID)}
    for path in MIXED_EXPECTED:
        verdict = inspect_dicom_file(mixed_folder / path)
        detail = f"{verdict.reject_reason} {verdict.reject_detail}"
        assert not any(v in detail for v in values), f"{path}: reject detail quotes a header value"


def test_raw_store_is_content_addressed_and_idempotent(tmp_path):
    store = RawStore(tmp_path / "raw")
    first = store.put_file(pydicom_file("CT_small.dcm"))
    again = store.put_file(pydicom_file("CT_small.dcm"))
    assert first.newly_stored and not again.newly_stored
    assert first.path == again.path == store.path_for(first.sha256)
    assert first.path.read_bytes() == pydicom_file("CT_small.dcm").read_bytes()
    assert not os.access(first.path, os.W_OK) or os.geteuid() == 0   # read-only copy
    assert [p.name for p in (tmp_path / "raw").iterdir() if p.name.startswith(".incoming")] == []


def test_landing_registry_offers_each_file_once(tmp_path, mixed_folder):
    registry = BatchRegistry(tmp_path / "batches")
    first = registry.unregistered(mixed_folder)
    assert {f.relative_path for f in first} == set(MIXED_EXPECTED)
    manifest = registry.register(mixed_folder, first)
    assert registry.read(manifest.batch_id).files == manifest.files
    assert registry.unregistered(mixed_folder) == []
    (mixed_folder / "late.dcm").write_bytes(pydicom_file("MR_small.dcm").read_bytes())
    (mixed_folder / ".hidden.dcm").write_bytes(b"x")
    (mixed_folder / "copying.dcm.part").write_bytes(b"x")
    assert [f.relative_path for f in registry.unregistered(mixed_folder)] == ["late.dcm"]
    assert registry.unregistered(mixed_folder, min_age_seconds=3600) == []


def test_elements_include_file_meta_nested_sequences_and_private_tags():
    ds = pydicom.dcmread(pydicom_file("nested_priv_SQ.dcm"))
    rows, error = flatten_elements(ds)
    paths = {r["element_path"] for r in rows}
    assert error is None
    assert "00020010" in paths                                   # file meta
    assert "00010001[0].00010001[0].00010001" in paths           # private sequence, two levels deep
    deepest = next(r for r in rows if r["element_path"] == "00010001[0].00010001[0].00010001")
    assert deepest["is_private"] and deepest["depth"] == 2 and deepest["value"]


def test_element_values_match_pydicom():
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    rows, _ = flatten_elements(ds)
    by_path = {r["element_path"]: r for r in rows}
    assert by_path["00100010"]["value"] == str(ds.PatientName)
    assert by_path["00280010"]["value"] == str(ds.Rows)
    assert by_path["7FE00010"]["value"] is None and by_path["7FE00010"]["value_length"] == len(ds.PixelData)
    private = [r for r in rows if r["is_private"] and r["private_creator"]]
    assert private, "CT_small has private elements under a private creator"


def test_complexity_of_known_files():
    ct = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    figures = describe_file(str(pydicom_file("CT_small.dcm")), pydicom_file("CT_small.dcm").stat().st_size)
    assert (figures["modality"], figures["rows"], figures["columns"]) == (ct.Modality, ct.Rows, ct.Columns)
    assert figures["frames"] == 1 and not figures["is_compressed"] and not figures["is_lossy"]
    assert figures["decoded_pixel_bytes"] == len(ct.PixelData)
    assert figures["private_element_count"] > 0 and figures["estimated_cost_seconds"] > 0

    cine = describe_file(str(pydicom_file("examples_ybr_color.dcm")), 1)
    assert cine["frames"] == 30 and cine["is_compressed"] and cine["is_lossy"]
    j2k_lossless = describe_file(str(pydicom_file("MR_small_jp2klossless.dcm")), 1)
    assert j2k_lossless["is_compressed"] and not j2k_lossless["is_lossy"]
    overlay = describe_file(str(pydicom_file("examples_overlay.dcm")), 1)
    assert overlay["has_overlay"]
    sr = describe_file(str(pydicom_file("test-SR.dcm")), 1)
    assert not sr["has_pixel_data"] and sr["frames"] == 0 and sr["sequence_count"] > 0


def test_header_read_does_not_load_pixel_data(tmp_path):
    """A 64 MB multi-frame file costs no more than its header to describe."""
    frames, rows, cols = 256, 512, 256
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    ds.Modality, ds.Rows, ds.Columns, ds.NumberOfFrames = "OT", rows, cols, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.zeros((frames, rows, cols), np.uint8).tobytes()
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    del ds

    tracemalloc.start()
    figures = describe_file(str(path), path.stat().st_size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert figures["decoded_pixel_bytes"] == frames * rows * cols
    assert peak < 4 * 1024 * 1024, f"describing the header allocated {peak} bytes"
    assert inspect_dicom_file(path).status == "ok"
