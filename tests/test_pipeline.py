"""The whole asset graph on real files: silver, the leakage gate, gold, and planted leaks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pydicom
import pytest
from dagster import materialize
from pyspark.sql import functions as F

from orchestration.definitions import ASSETS, build_resources
from orchestration.export import QUARANTINE_LISTING, export_gold
from orchestration.instance import dagster_instance
from orchestration.jobs import BATCH_SELECTION
from orchestration.partitions import landing_batches
from orchestration.resources import PipelineSettings
from tests.conftest import PRESIDIO_PAD, PRESIDIO_SAMPLES, pydicom_file, spark_cache_is_empty
from transforms.landing import BatchRegistry, list_landing_files
from transforms.leakage import LEAKAGE_RULES
from transforms.scoring import score_directories
from transforms.scoring.coverage import is_phi_removed, measure_box
from warehouse import tables
from warehouse.delta_io import read_table
from warehouse.layout import Warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CORPUS = Path(__file__).parent / "data" / "corpus"
SUBSET = ("001_CT_implicit_le", "010_XA_rle", "004_MR_deflated")
REAL_CT = PRESIDIO_SAMPLES / "2_ORIGINAL.dcm"      # a real CT with burned-in name and dates (tests/data)


def _landing(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in SUBSET:
        shutil.copy(CORPUS / f"{name}.dcm", folder / f"{name}.dcm")
    shutil.copy(pydicom_file("rtplan.dcm"), folder / "rtplan.dcm")        # no pixel data
    shutil.copy(pydicom_file("test-SR.dcm"), folder / "sr.dcm")            # no pixel data, published
    if REAL_CT.exists():
        shutil.copy(REAL_CT, folder / "real_ct.dcm")
    (folder / "readme.txt").write_text("not DICOM\n")
    return folder


def _run(instance, warehouse: Warehouse, manifest, pipeline: PipelineSettings, selection=None):
    instance.add_dynamic_partitions(landing_batches.name, [manifest.batch_id])
    return materialize(ASSETS, selection=selection or BATCH_SELECTION, partition_key=manifest.batch_id,
                       instance=instance, raise_on_error=False,
                       resources=build_resources(str(warehouse.root), stop_spark_on_teardown=False,
                                                 pipeline=pipeline))


@pytest.fixture(scope="module")
def pipeline_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    warehouse = Warehouse(root / "warehouse").create()
    folder = _landing(root / "landing")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", "")
        patch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
        with dagster_instance(warehouse) as instance:
            pipeline = PipelineSettings(gate_frames="all")
            manifest = BatchRegistry(warehouse.batch_manifests).register(folder, list_landing_files(folder))
            result = _run(instance, warehouse, manifest, pipeline)
            yield warehouse, instance, manifest, pipeline, result


def test_every_file_ends_in_gold_or_quarantine_exactly_once(spark, pipeline_run):
    warehouse, _, manifest, pipeline, result = pipeline_run
    assert result.success
    files = read_table(spark, warehouse, tables.DICOM_FILES).select("sha256")
    gold = read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == pipeline.run_key())
    held = read_table(spark, warehouse, tables.QUARANTINE).where(F.col("resolved_at").isNull())
    placed = {r["sha256"]: 0 for r in files.collect()}
    for sha in {r["sha256"] for r in gold.collect()} | set():
        placed[sha] += 1
    for sha in {r["sha256"] for r in held.collect()}:
        placed[sha] += 1
    assert set(placed.values()) == {1}, "a file is lost or in two places"
    assert gold.count() >= 1
    accounting = [e for e in result.get_asset_check_evaluations() if e.check_name == "accounting"]
    assert accounting and accounting[0].passed
    gate = {e.check_name for e in result.get_asset_check_evaluations()}
    assert {rule.check for rule in LEAKAGE_RULES} <= gate


def test_published_files_are_verified_and_traceable(spark, pipeline_run):
    warehouse, _, _, pipeline, _ = pipeline_run
    archive = warehouse.gold_archive / pipeline.run_key()
    rows = read_table(spark, warehouse, tables.GOLD_MANIFEST).collect()
    bronze = {r["sha256"] for r in read_table(spark, warehouse, tables.DICOM_FILES).collect()}
    without_pixels = 0
    for row in rows:
        path = archive / row["gold_path"]
        assert row["sha256"] in bronze
        ds = pydicom.dcmread(path)
        without_pixels += "PixelData" not in ds
        assert ds.PatientIdentityRemoved == "YES" and "113100" in [c.CodeValue for c in
                                                                     ds.DeidentificationMethodCodeSequence]
        assert row["sop_instance_uid"] == ds.SOPInstanceUID and ds.SOPInstanceUID.startswith("2.25.")
        if "PixelData" in ds:
            assert ds.BurnedInAnnotation == "NO"
        assert not path.stat().st_mode & 0o222, "published files are read-only"
        assert set(row["checks_passed"]) == {rule.check for rule in LEAKAGE_RULES}
    # The SR and the RT plan (held by the gate for a site name inside its kept Manufacturer text until
    # 2026-11-27); the review report, which runs after gold, copes with files without pixels.
    assert without_pixels == 2
    assert (warehouse.root / "gx").exists()


def test_the_export_lists_the_held_files_and_why(spark, pipeline_run, tmp_path):
    """`deidlake run --output` writes quarantine.json beside manifest.json: per held input its SHA-256,
    stage and reason (PHI-free), so a scorer can tell a file held by the gate from a lost one."""
    warehouse, _, manifest, pipeline, _ = pipeline_run
    published = export_gold(spark, warehouse, manifest.batch_id, pipeline.run_key(), tmp_path / "out")
    listing = json.loads((tmp_path / "out" / QUARANTINE_LISTING).read_text())
    held = read_table(spark, warehouse, tables.QUARANTINE).where(F.col("resolved_at").isNull()).collect()
    assert {(r["sha256"], r["stage"], r["reason"]) for r in held} == \
        {(r["sha256"], r["stage"], r["reason"]) for r in listing["files"]}
    readme = hashlib.sha256(b"not DICOM\n").hexdigest()
    assert any(r["sha256"] == readme and r["stage"] == "ingest" for r in listing["files"])
    assert published == len(json.loads((tmp_path / "out" / "manifest.json").read_text())["files"])


def test_the_scorer_finds_no_header_leak_in_gold(pipeline_run, tmp_path):
    warehouse, _, _, pipeline, _ = pipeline_run
    truth = tmp_path / "truth"
    truth.mkdir()
    for name in SUBSET:
        for suffix in (".dcm", ".truth.json"):
            shutil.copy(CORPUS / f"{name}{suffix}", truth / f"{name}{suffix}")
    report = score_directories(truth, warehouse.gold_archive / pipeline.run_key(), run_ocr=False,
                               run_dciodvfy=True)
    assert report.totals["header"]["leaked"] == 0
    assert report.totals["validity"]["added_errors"] == 0


def test_real_burned_in_phi_is_removed_in_gold(spark, pipeline_run):
    """Presidio's real CT (selective mode, the default): each ground-truth PHI word box is filled."""
    warehouse, _, _, pipeline, _ = pipeline_run
    sha = hashlib.sha256(REAL_CT.read_bytes()).hexdigest()
    [row] = read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("sha256") == sha).collect()
    before = pydicom.dcmread(REAL_CT).pixel_array.astype(float)
    after = pydicom.dcmread(warehouse.gold_archive / pipeline.run_key() / row["gold_path"]).pixel_array.astype(float)
    truth = json.loads((PRESIDIO_SAMPLES / "ground_truth.json").read_text())["sample_data/2_ORIGINAL.dcm"]
    assert len(truth) == 5
    for word in truth:
        top, left = word["top"] - PRESIDIO_PAD, word["left"] - PRESIDIO_PAD
        box = (slice(top, top + word["height"]), slice(left, left + word["width"]))
        assert is_phi_removed(measure_box(before[box], after[box], tolerance=0.5), ocr_reads=None)


def test_a_rerun_publishes_nothing_twice_and_leaves_nothing_cached(spark, pipeline_run):
    warehouse, instance, manifest, pipeline, _ = pipeline_run
    archive = warehouse.gold_archive / pipeline.run_key()
    before = {p: p.stat().st_mtime_ns for p in archive.rglob("*.dcm")}
    manifest_rows = read_table(spark, warehouse, tables.GOLD_MANIFEST).count()
    spark.catalog.clearCache()
    again = _run(instance, warehouse, manifest, pipeline)
    assert again.success
    assert spark_cache_is_empty(spark), "a run of a long-lived process would slow every later one"
    assert read_table(spark, warehouse, tables.GOLD_MANIFEST).count() == manifest_rows
    assert {p: p.stat().st_mtime_ns for p in archive.rglob("*.dcm")} == before


def test_metrics_views_and_plot_cover_the_run(spark, pipeline_run):
    from dagster import AssetSelection

    from warehouse.delta_io import register_catalog

    warehouse, instance, _, _, result = pipeline_run
    register_catalog(spark, warehouse)
    runs = {r["run_id"]: r for r in spark.sql("select * from metrics.throughput_per_run").collect()}
    extra = 3 + REAL_CT.exists()                         # the RT plan, the SR, the text, the real CT
    assert runs[result.run_id]["files_ingested"] == len(SUBSET) + extra
    checks = {r["check"] for r in spark.sql("select * from metrics.leakage_over_time").collect()}
    assert checks == {rule.check for rule in LEAKAGE_RULES}
    assert spark.sql("select * from metrics.cost_calibration").count() >= 1
    plot = materialize(ASSETS, selection=AssetSelection.assets("metrics_throughput_plot"), instance=instance,
                       resources=build_resources(str(warehouse.root), stop_spark_on_teardown=False))
    assert plot.success
    png = warehouse.zone("metrics") / "plots" / "throughput_per_run.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = next(warehouse.zone("gold").glob("reports/*/*/index.html"))
    assert "contact sheet" in report.read_text() and (report.parent / "contact_sheet.png").exists()
