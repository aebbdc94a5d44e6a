"""Shared fixtures: one real local Spark session per test session, fresh warehouses, real DICOM files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DEIDLAKE_MODE", "test")       # the demo secret is allowed in tests only
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

import pydicom.data  # noqa: E402

PYDICOM_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent
TEST_DATA = Path(__file__).resolve().parent / "data"
# Real CTs with burned-in PHI and their word boxes (Presidio's test data, MIT: tests/data/presidio/README.md).
PRESIDIO_SAMPLES = TEST_DATA / "presidio"
PRESIDIO_PAD = 25        # ground_truth.json boxes are shifted by Presidio's padding


def spark_cache_is_empty(spark) -> bool:
    """Nothing cached in the session (a cached plan over Delta tables is re-planned after every commit)."""
    return spark._jsparkSession.sharedState().cacheManager().isEmpty()


def pydicom_file(name: str) -> Path:
    return PYDICOM_FILES / name


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one Spark session of the test run (local[2], Delta from the fetched jars)."""
    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    root = tmp_path_factory.mktemp("spark-catalog")
    session = build_spark_session(SparkSettings.from_env(driver_memory="3g"), Warehouse(root))
    yield session
    session.stop()


@pytest.fixture
def warehouse(tmp_path):
    from warehouse.layout import Warehouse

    return Warehouse(tmp_path / "warehouse").create()


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    return build_mixed_folder(tmp_path / "landing-mixed")


def build_mixed_folder(folder: Path) -> Path:
    """A landing folder of good, broken and foreign files, one duplicate and a nested folder."""
    (folder / "nested").mkdir(parents=True)
    for name in ("CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "SC_rgb_rle_2frame.dcm",
                 "image_dfl.dcm", "rtplan.dcm", "test-SR.dcm", "MR_small_implicit.dcm"):
        shutil.copy(pydicom_file(name), folder / name)
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "nested" / "copy_of_ct.dcm")   # same bytes
    shutil.copy(pydicom_file("MR_truncated.dcm"), folder / "truncated_pixels.dcm")
    (folder / "cut_header.dcm").write_bytes(pydicom_file("CT_small.dcm").read_bytes()[:3000])
    shutil.copy(pydicom_file("dicomdirtests/DICOMDIR"), folder / "nested" / "DICOMDIR")
    (folder / "empty.dcm").write_bytes(b"")
    (folder / "notes.txt").write_text("not a DICOM file\n")
    (folder / "random.bin").write_bytes(os.urandom(4096))
    return folder


# What each file of mixed_folder must become in bronze: status or reject reason.
MIXED_EXPECTED = {
    "CT_small.dcm": "ok", "MR_small_RLE.dcm": "ok", "JPEG2000.dcm": "ok", "SC_rgb_rle_2frame.dcm": "ok",
    "image_dfl.dcm": "ok", "rtplan.dcm": "ok", "test-SR.dcm": "ok", "MR_small_implicit.dcm": "ok",
    "nested/copy_of_ct.dcm": "ok", "truncated_pixels.dcm": "truncated", "cut_header.dcm": "truncated",
    "nested/DICOMDIR": "dicomdir", "empty.dcm": "empty_file", "notes.txt": "not_dicom",
    "random.bin": "not_dicom",
}
