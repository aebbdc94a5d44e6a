"""The asset graph and the resources it needs: what every way of running a batch shares.

`definitions.py` (the Dagster code location) assembles this graph with the jobs, sensors, schedules and
the streaming job; the in-process runner (`runner.py`), the stream and the backfill run the same graph
from here. Imports flow one way: assets -> graph -> runner -> streaming -> streaming_job -> definitions.
"""

from __future__ import annotations

from dagster import AssetSelection

from orchestration.assets.bronze import bronze_dicom_files
from orchestration.assets.gate import silver_leakage_report
from orchestration.assets.gold import gold_dicom_archive
from orchestration.assets.metadata import dicom_metadata
from orchestration.assets.metrics_report import metrics_throughput_plot
from orchestration.assets.review import gold_review_report
from orchestration.assets.silver_headers import silver_deid_headers
from orchestration.assets.silver_pixels import silver_deid_files
from orchestration.batch_inputs import RunMemory
from orchestration.resources import KeyringResource, PipelineSettings, SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger

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
        "ledger": RunLedger(),
        "memory": RunMemory(),
    }
