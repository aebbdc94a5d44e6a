"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `deidlake ui`)."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, in_process_executor

from orchestration.assets.bronze import bronze_dicom_files
from orchestration.assets.metadata import dicom_metadata
from orchestration.assets.silver_headers import silver_deid_headers
from orchestration.assets.gate import silver_leakage_report
from orchestration.assets.gold import gold_dicom_archive
from orchestration.assets.metrics_report import metrics_throughput_plot
from orchestration.assets.review import gold_review_report
from orchestration.assets.silver_pixels import silver_deid_files
from orchestration.jobs import deidentify_batch, refresh_metrics
from orchestration.resources import KeyringResource, PipelineSettings, SparkResource, WarehouseResource
from orchestration.schedules import daily_metrics, daily_reconciliation
from orchestration.sensors import landing_sensor
from orchestration.streaming_job import streaming_job

ASSETS = [bronze_dicom_files, dicom_metadata, silver_deid_headers, silver_deid_files, silver_leakage_report,
          gold_dicom_archive, gold_review_report, metrics_throughput_plot]
# What `deidlake ingest` materializes: the landing batch into bronze, and its metadata.
INGEST_SELECTION = AssetSelection.assets(bronze_dicom_files, dicom_metadata)


def build_resources(warehouse_root: str | None = None, landing: str | None = None,
                    stop_spark_on_teardown: bool = True, landing_min_age_seconds: float = 5.0,
                    pipeline: PipelineSettings | None = None) -> dict:
    """Resources for one warehouse; unset values come from the environment at run time."""
    return {
        "spark": SparkResource(warehouse_root=warehouse_root, stop_on_teardown=stop_spark_on_teardown),
        "warehouse": WarehouseResource(root=warehouse_root, landing=landing,
                                       landing_min_age_seconds=landing_min_age_seconds),
        "keyring": KeyringResource(),
        "pipeline": pipeline or PipelineSettings(),
    }


defs = Definitions(
    assets=ASSETS,
    jobs=[deidentify_batch, refresh_metrics, streaming_job],
    sensors=[landing_sensor],
    schedules=[daily_reconciliation, daily_metrics],
    resources=build_resources(),
    # One JVM per step would not fit 2 cores: every step of a run shares one process and one session.
    executor=in_process_executor,
)
