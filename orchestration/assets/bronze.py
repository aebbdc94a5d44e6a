"""Bronze: landing files into the raw store and bronze.dicom_files (Delta MERGE on the content hash)."""

from collections import Counter

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from orchestration.batch_inputs import BatchInputs, RunMemory
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.ingest import DEFAULT_MAX_FILE_BYTES
from transforms.landing import BatchRegistry
from transforms.spark.ingest import ingest_manifest
from warehouse import tables
from warehouse.delta_io import merge_new_rows, upsert_rows

class IngestConfig(Config):
    files_per_task: int = 32
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

@asset(group_name="bronze", partitions_def=landing_batches, kinds={"spark", "delta"},
       description="One row per distinct input file (sha256), with its raw-store copy and ok/rejected verdict.")
def bronze_dicom_files(context: AssetExecutionContext, config: IngestConfig, spark: SparkResource,
                       warehouse: WarehouseResource, ledger: RunLedger, memory: RunMemory) -> MaterializeResult:
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("ingest", batch_id, context.run_id)
    manifest = BatchRegistry(wh.batch_manifests).read(batch_id)

    ingested = ingest_manifest(session, manifest, str(wh.raw_store), config.files_per_task,
                               config.max_file_bytes)
    # The batch's own partition: runs of other batches never conflict with this MERGE.
    merge_new_rows(session, wh, tables.LANDING_FILES, ingested.withColumnRenamed("ingest_time", "seen_at"),
                   scope={"batch_id": batch_id})
    # One row per content; a re-ingest re-evaluates the verdict (the inspection may have improved) but
    # keeps where and when the content was first seen.
    upsert_rows(session, wh, tables.DICOM_FILES, ingested,
                update_columns=("status", "reject_reason", "reject_detail"))
    BatchInputs(memory, session, wh, batch_id).remember_contents(ingested)
    rejected = ingested.where(F.col("status") == "rejected")
    ledger.hold(session, wh, quarantine_rows(rejected, "ingest", context.run_id, reason="reject_reason",
                                             detail="reject_detail", at="ingest_time"))

    summary = ingested.agg(F.count("*").alias("files"), F.countDistinct("sha256").alias("distinct"),
                           F.coalesce(F.sum("size_bytes"), F.lit(0)).alias("bytes")).first()
    reasons = Counter({r["reject_reason"]: r["n"] for r in
                       rejected.groupBy("reject_reason").agg(F.count("*").alias("n")).collect()})
    seconds = timer.record(ledger, session, wh, summary["files"], summary["bytes"], rejected=sum(reasons.values()))
    return MaterializeResult(metadata={
        "landing_files": summary["files"],
        "distinct_contents": summary["distinct"],
        "bytes": MetadataValue.int(int(summary["bytes"])),
        "rejected": sum(reasons.values()),
        "rejects_by_reason": counts_metadata(reasons),
        "seconds": MetadataValue.float(round(seconds, 3)),
    })
