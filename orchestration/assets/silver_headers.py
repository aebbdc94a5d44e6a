"""Silver: the de-identified header of every file and the audit of what changed (no PHI in clear)."""

from collections import Counter

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from orchestration.batch_inputs import HEADERS, BatchInputs, RunMemory
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.spark.header_deid import audit_rows, deidentify_headers, failures, header_rows
from warehouse import tables
from warehouse.delta_io import merge_new_rows


class HeaderDeidConfig(Config):
    files_per_task: int = 32


@asset(group_name="silver", partitions_def=landing_batches, kinds={"spark", "delta"},
       deps=["bronze_dicom_elements"],
       description="DICOM PS3.15 Basic Profile + options on every header; keyed pseudonyms and UIDs; audit.")
def silver_deid_headers(context: AssetExecutionContext, config: HeaderDeidConfig, spark: SparkResource,
                        warehouse: WarehouseResource, pipeline: PipelineSettings,
                        ledger: RunLedger, memory: RunMemory) -> MaterializeResult:
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("header_deid", batch_id, context.run_id)
    options = pipeline.options()
    fingerprint = pipeline.options_fingerprint()

    inputs = BatchInputs(memory, session, wh, batch_id)
    parsed = inputs.complexity().select("sha256")   # headers that parsed
    done = inputs.headers(fingerprint).select("sha256")
    todo = (inputs.contents().where(F.col("status") == "ok").join(parsed, "sha256")
            .join(done, "sha256", "left_anti").withColumn("batch_id", F.lit(batch_id)))
    results = deidentify_headers(todo, options, config.files_per_task)

    # The audit first (the batch's own partition), then the header row that marks the content done: a
    # run stopped in between leaves no header without its audit.
    merge_new_rows(session, wh, tables.DEID_AUDIT, audit_rows(results), scope={"batch_id": batch_id})
    merge_new_rows(session, wh, tables.DEID_HEADERS, header_rows(results))
    failed = failures(results)
    ledger.hold(session, wh, quarantine_rows(failed, "header_deid", context.run_id))
    inputs.forget(HEADERS)

    files = results.count()
    reasons = Counter({r["error"]: r["n"] for r in failed.groupBy("error").agg(F.count("*").alias("n")).collect()})
    changed = results.agg(F.coalesce(F.sum("changed_elements"), F.lit(0))).first()[0]
    seconds = timer.record(ledger, session, wh, files, 0, rejected=sum(reasons.values()))
    return MaterializeResult(metadata={
        "files": files,
        "quarantined": sum(reasons.values()),
        "quarantined_by_reason": counts_metadata(reasons),
        "changed_elements": int(changed),
        "options": MetadataValue.json(list(options.names)),
        "options_fingerprint": fingerprint,
        "seconds": MetadataValue.float(round(seconds, 3)),
    })
