"""The DicomToMetadata step: every element (bronze, identified) and complexity figures (metrics, PHI-free)."""


from collections import Counter

from dagster import AssetExecutionContext, AssetSpec, Config, MaterializeResult, MetadataValue, multi_asset
from pyspark.sql import functions as F

from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine
from orchestration.resources import SparkResource, WarehouseResource
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.spark.metadata import complexity_rows, describe_files, element_rows, metadata_failures
from warehouse import tables
from warehouse.delta_io import batch_files, merge_new_rows, read_table


class MetadataConfig(Config):
    files_per_task: int = 32


@multi_asset(
    specs=[
        AssetSpec("bronze_dicom_elements", group_name="bronze", deps=["bronze_dicom_files"],
                  kinds={"spark", "delta"},
                  description="Every header element of every file, sequences and private tags included "
                              "(identified)."),
        AssetSpec("dicom_complexity", group_name="metrics", deps=["bronze_dicom_files"],
                  kinds={"spark", "delta"},
                  description="PHI-free size and complexity figures per file, with an estimated cost."),
    ],
    partitions_def=landing_batches,
)
def dicom_metadata(context: AssetExecutionContext, config: MetadataConfig, spark: SparkResource,
                   warehouse: WarehouseResource):
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("metadata", batch_id, context.run_id)

    files = batch_files(session, wh, batch_id).where(F.col("status") == "ok")
    done = read_table(session, wh, tables.DICOM_COMPLEXITY).select("sha256")
    todo = files.join(done, "sha256", "left_anti")      # a content seen in any batch is parsed once
    described = describe_files(todo.withColumn("batch_id", F.lit(batch_id)), config.files_per_task)

    merge_new_rows(session, wh, tables.DICOM_ELEMENTS, element_rows(described))
    merge_new_rows(session, wh, tables.DICOM_COMPLEXITY, complexity_rows(described))
    failures = metadata_failures(described)
    quarantine(session, wh, failures, "metadata", context.run_id, reason="metadata_error")

    summary = described.agg(F.count("*").alias("files"),
                            F.coalesce(F.sum("file_bytes"), F.lit(0)).alias("bytes"),
                            F.coalesce(F.sum("frames"), F.lit(0)).alias("frames"),
                            F.coalesce(F.sum("element_count"), F.lit(0)).alias("elements"),
                            F.coalesce(F.sum("estimated_cost_seconds"), F.lit(0.0)).alias("cost")).first()
    modalities = Counter({(r["modality"] or "unknown"): r["n"] for r in
                          described.groupBy("modality").agg(F.count("*").alias("n")).collect()})
    failed = Counter({r["metadata_error"]: r["n"] for r in
                      failures.groupBy("metadata_error").agg(F.count("*").alias("n")).collect()})
    seconds = timer.record(session, wh, summary["files"], summary["bytes"], frames=summary["frames"],
                           rejected=sum(failed.values()))
    yield MaterializeResult(asset_key="bronze_dicom_elements", metadata={
        "files": summary["files"], "elements": int(summary["elements"]),
        "failures_by_reason": counts_metadata(failed), "seconds": MetadataValue.float(round(seconds, 3)),
    })
    yield MaterializeResult(asset_key="dicom_complexity", metadata={
        "files": summary["files"], "frames": int(summary["frames"]),
        "bytes": MetadataValue.int(int(summary["bytes"])), "files_by_modality": counts_metadata(modalities),
        "estimated_cost_seconds": MetadataValue.float(round(float(summary["cost"]), 2)),
    })
