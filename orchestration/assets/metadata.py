"""The DicomToMetadata step: every element (bronze, identified) and complexity figures (metrics, PHI-free)."""


from collections import Counter

from dagster import AssetExecutionContext, AssetSpec, Config, MaterializeResult, MetadataValue, multi_asset
from pyspark.sql import functions as F

from orchestration.batch_inputs import COMPLEXITY, ELEMENTS, BatchInputs, RunMemory
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.spark.metadata import complexity_rows, describe_files, element_rows, metadata_failures
from warehouse import tables
from warehouse.delta_io import merge_new_rows


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
                   warehouse: WarehouseResource, ledger: RunLedger, memory: RunMemory):
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("metadata", batch_id, context.run_id)

    inputs = BatchInputs(memory, session, wh, batch_id)
    files = inputs.contents().where(F.col("status") == "ok")
    done = inputs.complexity().select("sha256")
    todo = files.join(done, "sha256", "left_anti")      # a content seen in any batch is parsed once
    described = describe_files(todo.withColumn("batch_id", F.lit(batch_id)), config.files_per_task)

    failures = metadata_failures(described)
    # Elements first (the batch's own partition: no conflict with other batches), then the complexity row
    # that marks the content parsed. A header that failed gets no complexity row: the next run of the batch
    # parses it again and quarantines it again, so no failure depends on this run writing its records.
    merge_new_rows(session, wh, tables.DICOM_ELEMENTS, element_rows(described), scope={"batch_id": batch_id})
    merge_new_rows(session, wh, tables.DICOM_COMPLEXITY,
                   complexity_rows(described.where(F.col("metadata_error").isNull())))
    ledger.hold(session, wh, quarantine_rows(failures, "metadata", context.run_id, reason="metadata_error"))
    inputs.forget(COMPLEXITY)
    inputs.forget(ELEMENTS)

    summary = described.agg(F.count("*").alias("files"),
                            F.coalesce(F.sum("file_bytes"), F.lit(0)).alias("bytes"),
                            F.coalesce(F.sum("frames"), F.lit(0)).alias("frames"),
                            F.coalesce(F.sum("element_count"), F.lit(0)).alias("elements"),
                            F.coalesce(F.sum("estimated_cost_seconds"), F.lit(0.0)).alias("cost")).first()
    modalities = Counter({(r["modality"] or "unknown"): r["n"] for r in
                          described.groupBy("modality").agg(F.count("*").alias("n")).collect()})
    failed = Counter({r["metadata_error"]: r["n"] for r in
                      failures.groupBy("metadata_error").agg(F.count("*").alias("n")).collect()})
    seconds = timer.record(ledger, session, wh, summary["files"], summary["bytes"], frames=summary["frames"],
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
