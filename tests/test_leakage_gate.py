"""Planted leaks: each gate check must fail for its file, which is quarantined and never published."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dagster import AssetSelection, materialize
from delta.tables import DeltaTable
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pyspark.sql import functions as F

from orchestration.definitions import ASSETS, build_resources
from orchestration.instance import dagster_instance
from orchestration.partitions import landing_batches
from orchestration.resources import PipelineSettings
from transforms.landing import BatchRegistry, list_landing_files
from warehouse import tables
from warehouse.delta_io import read_table, table_location
from warehouse.layout import Warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CORPUS = Path(__file__).parent / "data" / "corpus"
UP_TO_CANDIDATES = AssetSelection.assets("bronze_dicom_files", "bronze_dicom_elements", "dicom_complexity",
                                         "silver_deid_headers", "silver_deid_files")
GATE_AND_GOLD = AssetSelection.assets("silver_leakage_report", "gold_dicom_archive")


def plant_private_name(candidate: Dataset, original: Dataset) -> None:
    block = candidate.private_block(0x0011, "PLANTED LEAK", create=True)
    block.add_new(0x01, "LO", str(original.PatientName).replace("^", " "))


def plant_original_uid(candidate: Dataset, original: Dataset) -> None:
    item = Dataset()
    item.ReferencedSOPClassUID = original.SOPClassUID
    item.ReferencedSOPInstanceUID = original.SOPInstanceUID
    candidate.ReferencedImageSequence = [item]


def plant_missing_record(candidate: Dataset, original: Dataset) -> None:
    del candidate.PatientIdentityRemoved


def plant_unredacted_pixels(candidate: Dataset, original: Dataset) -> None:
    candidate.PixelData = original.PixelData


def plant_empty_sequence(candidate: Dataset, original: Dataset) -> None:
    candidate.ReferencedStudySequence = Sequence([])      # dciodvfy: 0 items where 1-n are required


def plant_rotated_name(candidate: Dataset, original: Dataset) -> None:
    """The patient's name written along the left edge, turned 90 degrees (read bottom to top), into the
    redacted frame: what a redaction pass blind to vertical text would publish."""
    from PIL import Image, ImageDraw, ImageFont
    from pydicom.uid import RLELossless

    from transforms.synth.fonts import FONT_FILES

    frame = candidate.pixel_array.copy()
    font = ImageFont.truetype(FONT_FILES["DejaVuSans"], 18)
    text = str(original.PatientName).replace("^", " ").upper()
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    mask = Image.new("L", (x1 - x0 + 4, y1 - y0 + 4), 0)
    ImageDraw.Draw(mask).text((2 - x0, 2 - y0), text, font=font, fill=255)
    alpha = np.asarray(mask.rotate(90, expand=True), dtype=np.float32) / 255.0
    rows, columns = alpha.shape
    under = frame[80:80 + rows, 6:6 + columns].astype(np.float32)
    frame[80:80 + rows, 6:6 + columns] = np.round(under * (1 - alpha) + float(frame.max()) * alpha).astype(frame.dtype)
    candidate.compress(RLELossless, frame)


PLANTS = {   # corpus file -> (how the leak is planted, the check that must catch it)
    "000_CT_explicit_le": (plant_unredacted_pixels, "pixel_leak"),
    "002_CT_rle": (plant_rotated_name, "pixel_leak"),
    "001_CT_implicit_le": (plant_private_name, "header_leak"),
    "015_MR_explicit_le": (plant_original_uid, "original_uids"),
    "004_MR_deflated": (plant_missing_record, "deid_record"),
    "005_MR_jpegls": (plant_empty_sequence, "structure"),
}


@pytest.fixture(scope="module")
def planted(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    warehouse = Warehouse(root / "warehouse").create()
    landing = root / "landing"
    landing.mkdir()
    for name in PLANTS:
        shutil.copy(CORPUS / f"{name}.dcm", landing / f"{name}.dcm")
    pipeline = PipelineSettings(redact="all", gate_frames="all")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", "")
        patch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
        with dagster_instance(warehouse) as instance:
            manifest = BatchRegistry(warehouse.batch_manifests).register(landing, list_landing_files(landing))
            instance.add_dynamic_partitions(landing_batches.name, [manifest.batch_id])
            resources = build_resources(str(warehouse.root), stop_spark_on_teardown=False, pipeline=pipeline)
            first = materialize(ASSETS, selection=UP_TO_CANDIDATES, partition_key=manifest.batch_id,
                                instance=instance, resources=resources)
            assert first.success
            shas = _plant_leaks(spark, warehouse, landing, pipeline.run_key())
            gated = materialize(ASSETS, selection=GATE_AND_GOLD, partition_key=manifest.batch_id,
                                instance=instance, resources=resources, raise_on_error=False)
            yield warehouse, pipeline, shas, gated


def _plant_leaks(spark, warehouse: Warehouse, landing: Path, run_key: str) -> dict[str, str]:
    """Rewrite each candidate with its leak and record the new bytes as the candidate's."""
    shas = {}
    candidates = {r["sha256"]: r["candidate_path"] for r in
                  read_table(spark, warehouse, tables.DEID_FILES).where(F.col("run_key") == run_key).collect()}
    for name, (plant, _) in PLANTS.items():
        raw = (landing / f"{name}.dcm").read_bytes()
        sha = hashlib.sha256(raw).hexdigest()
        path = candidates[sha]
        candidate, original = pydicom.dcmread(path), pydicom.dcmread(landing / f"{name}.dcm")
        plant(candidate, original)
        candidate.save_as(path, enforce_file_format=True)
        updated = spark.createDataFrame([(sha, run_key, hashlib.sha256(Path(path).read_bytes()).hexdigest())],
                                        "sha256 string, run_key string, output_sha256 string")
        DeltaTable.forPath(spark, table_location(warehouse, tables.DEID_FILES)).alias("t").merge(
            updated.alias("s"), "t.sha256 = s.sha256 AND t.run_key = s.run_key"
        ).whenMatchedUpdate(set={"output_sha256": "s.output_sha256"}).execute()
        shas[name] = sha
    return shas


@pytest.mark.parametrize("name", list(PLANTS))
def test_each_planted_leak_fails_its_check_and_is_quarantined(spark, planted, name):
    warehouse, pipeline, shas, gated = planted
    check = PLANTS[name][1]
    sha = shas[name]
    evaluation = next(e for e in gated.get_asset_check_evaluations() if e.check_name == check)
    assert not evaluation.passed, f"{check} passed although a leak was planted"
    assert sha in evaluation.metadata["failing_file_hashes"].value
    assert evaluation.metadata["failing_not_quarantined"].value == []
    reasons = {r["reason"] for r in read_table(spark, warehouse, tables.QUARANTINE)
               .where((F.col("sha256") == sha) & (F.col("stage") == "leakage")).collect()}
    assert check in reasons
    published = {r["sha256"] for r in read_table(spark, warehouse, tables.GOLD_MANIFEST).collect()}
    assert sha not in published


def test_gold_still_runs_and_accounts_for_every_file(planted):
    _, _, _, gated = planted
    assert gated.success
    accounting = next(e for e in gated.get_asset_check_evaluations() if e.check_name == "accounting")
    assert accounting.passed
