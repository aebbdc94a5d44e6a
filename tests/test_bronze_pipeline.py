"""Bronze and metadata assets on real Spark, real Delta and a real Dagster instance."""

from __future__ import annotations

import json

import pytest
from dagster import (
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)
from pyspark.sql import functions as F

from orchestration.definitions import ASSETS, INGEST_SELECTION, build_resources, defs
from orchestration.instance import dagster_instance
from orchestration.partitions import landing_batches
from orchestration.schedules import daily_reconciliation
from orchestration.sensors import landing_sensor
from tests.conftest import MIXED_EXPECTED, build_mixed_folder, pydicom_file
from transforms.landing import BatchRegistry, list_landing_files
from warehouse import tables
from warehouse.delta_io import read_table

pytestmark = pytest.mark.spark


@pytest.fixture
def instance(warehouse, monkeypatch):
    """The warehouse's own persistent instance, configured by the repo's dagster.yaml (SQLite)."""
    monkeypatch.setenv("DAGSTER_HOME", "")          # restored after the test
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
    with dagster_instance(warehouse) as local:
        yield local


def _materialize_batch(instance, warehouse, folder, batch_id=None):
    manifest = BatchRegistry(warehouse.batch_manifests).register(folder, list_landing_files(folder), batch_id)
    instance.add_dynamic_partitions(landing_batches.name, [manifest.batch_id])
    result = materialize(ASSETS, selection=INGEST_SELECTION, partition_key=manifest.batch_id,
                         instance=instance,
                         resources=build_resources(str(warehouse.root), stop_spark_on_teardown=False))
    assert result.success
    return manifest, result


def _landing_resources(warehouse, landing):
    return {"warehouse": build_resources(str(warehouse.root), landing=str(landing),
                                         landing_min_age_seconds=0)["warehouse"]}


def test_definitions_load_with_groups_partitions_sensor_and_schedule():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["bronze_dicom_files"] == "bronze" and groups["dicom_complexity"] == "metrics"
    assert defs.resolve_sensor_def("landing_sensor") and defs.resolve_schedule_def("daily_reconciliation")
    assert defs.resolve_job_def("deidentify_batch").partitions_def == landing_batches


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    """The mixed folder ingested once through the real asset graph (shared by the tests below)."""
    from warehouse.layout import Warehouse

    root = tmp_path_factory.mktemp("bronze")
    folder = build_mixed_folder(root / "landing-mixed")
    warehouse = Warehouse(root / "warehouse").create()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", "")
        patch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
        with dagster_instance(warehouse) as instance:
            manifest, result = _materialize_batch(instance, warehouse, folder)
            yield warehouse, instance, folder, manifest, result


def test_every_input_file_is_accounted_for(spark, ingested):
    warehouse, _, _, manifest, result = ingested
    landed = read_table(spark, warehouse, tables.LANDING_FILES).where(F.col("batch_id") == manifest.batch_id)
    files = read_table(spark, warehouse, tables.DICOM_FILES)
    outcome = {r["relative_path"]: (r["status"] if r["status"] == "ok" else r["reject_reason"])
               for r in landed.join(files.drop("relative_path", "batch_id", "size_bytes"), "sha256").collect()}
    assert outcome == MIXED_EXPECTED                     # every landing file, none vanished
    assert files.count() == len(MIXED_EXPECTED) - 1      # the duplicate content is one bronze row
    quarantined = read_table(spark, warehouse, tables.QUARANTINE).where(F.col("stage") == "ingest")
    assert quarantined.count() == sum(1 for v in MIXED_EXPECTED.values() if v != "ok")

    complexity = read_table(spark, warehouse, tables.DICOM_COMPLEXITY)
    ok_files = files.where(F.col("status") == "ok")
    assert complexity.count() == ok_files.count()
    assert read_table(spark, warehouse, tables.DICOM_ELEMENTS).select("sha256").distinct().count() == \
        ok_files.count()

    materialization = result.asset_materializations_for_node("bronze_dicom_files")[0]
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["landing_files"] == len(MIXED_EXPECTED) and metadata["rejected"] == 6
    assert metadata["rejects_by_reason"]["truncated"] == 2
    stages = read_table(spark, warehouse, tables.STAGE_RUNS).where(F.col("run_id") == result.run_id)
    assert {r["stage"] for r in stages.collect()} == {"ingest", "metadata"}


def test_tables_and_events_carry_no_phi(spark, ingested):
    warehouse, instance, _, _, result = ingested
    ct = __import__("pydicom").dcmread(pydicom_file("CT_small.dcm"))
    phi = [str(ct.PatientName), str(ct.PatientID), "copy_of_ct", "truncated_pixels"]
    texts = {spec.qualified_name: json.dumps([r.asDict() for r in read_table(spark, warehouse, spec).collect()],
                                             default=str)
             for spec in (tables.DICOM_COMPLEXITY, tables.QUARANTINE, tables.STAGE_RUNS)}
    texts["dagster events"] = " ".join(str(e.dagster_event) + e.user_message
                                       for e in instance.all_logs(result.run_id))
    for where, text in texts.items():
        assert not any(value in text for value in phi), f"a PHI value or file name appears in {where}"
    assert any(value in json.dumps([r.asDict() for r in read_table(spark, warehouse, tables.DICOM_ELEMENTS)
                                    .collect()], default=str) for value in phi[:2]), \
        "bronze (identified) must hold the header values, or the check above proves nothing"


def test_reruns_add_no_rows(spark, ingested):
    warehouse, instance, folder, manifest, _ = ingested
    specs = (tables.LANDING_FILES, tables.DICOM_FILES, tables.DICOM_ELEMENTS, tables.DICOM_COMPLEXITY,
             tables.QUARANTINE)
    before = {spec.qualified_name: read_table(spark, warehouse, spec).count() for spec in specs}
    _materialize_batch(instance, warehouse, folder, batch_id=manifest.batch_id)   # the same batch again
    after = {spec.qualified_name: read_table(spark, warehouse, spec).count() for spec in specs}
    assert after == before
    _materialize_batch(instance, warehouse, folder)                               # same files, new batch
    again = {spec.qualified_name: read_table(spark, warehouse, spec).count() for spec in specs}
    assert again == before | {"bronze.landing_files": 2 * before["bronze.landing_files"]}


def test_sensor_registers_a_batch_and_stays_quiet_when_nothing_is_new(warehouse, instance, mixed_folder):
    resources = _landing_resources(warehouse, mixed_folder)
    with build_sensor_context(instance=instance, resources=resources) as context:
        result = landing_sensor(context)
    assert isinstance(result, SensorResult) and len(result.run_requests) == 1
    batch_id = result.run_requests[0].partition_key
    assert result.dynamic_partitions_requests[0].partition_keys == [batch_id]
    manifest = BatchRegistry(warehouse.batch_manifests).read(batch_id)
    assert {f.relative_path for f in manifest.files} == set(MIXED_EXPECTED)

    with build_sensor_context(instance=instance, resources=resources) as context:
        assert isinstance(landing_sensor(context), SkipReason)
    (mixed_folder / "arrived_later.dcm").write_bytes(pydicom_file("MR_small.dcm").read_bytes())
    with build_sensor_context(instance=instance, resources=resources) as context:
        later = landing_sensor(context)
    later_manifest = BatchRegistry(warehouse.batch_manifests).read(later.run_requests[0].partition_key)
    assert [f.relative_path for f in later_manifest.files] == ["arrived_later.dcm"]


def test_daily_schedule_runs_batches_that_never_got_a_partition(warehouse, instance, mixed_folder):
    resources = _landing_resources(warehouse, mixed_folder)
    orphan = BatchRegistry(warehouse.batch_manifests).register(mixed_folder, list_landing_files(mixed_folder))
    with build_schedule_context(instance=instance, resources=resources) as context:
        requests = daily_reconciliation(context)
    assert [r.partition_key for r in requests] == [orphan.batch_id]
    assert orphan.batch_id in instance.get_dynamic_partitions(landing_batches.name)
    with build_schedule_context(instance=instance, resources=resources) as context:
        assert isinstance(daily_reconciliation(context), SkipReason)
