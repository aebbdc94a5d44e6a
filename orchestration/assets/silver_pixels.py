"""Silver: frames split across Spark tasks, text found and redacted, candidate files assembled."""

from collections import Counter

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from orchestration.batch_inputs import DEID_FILES, BatchInputs, RunMemory
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.spark.pixels import (
    PixelSettings,
    assemble_files,
    assembly_failures,
    deid_file_rows,
    frame_text_rows,
    plan_frame_tasks,
    run_frame_tasks,
)
from warehouse import tables
from warehouse.delta_io import merge_new_rows


def pixel_settings(pipeline: PipelineSettings, staging_root: str, run_id: str = "") -> PixelSettings:
    return PixelSettings(pipeline.run_key(), pipeline.redact, staging_root, pipeline.frames_per_task,
                         pipeline.lossy_jpeg_policy, phi_engine=pipeline.phi_engine, attempt=run_id)


@asset(group_name="silver", partitions_def=landing_batches, kinds={"spark", "delta"},
       deps=["silver_deid_headers", "dicom_complexity", "bronze_dicom_elements"],
       description="Frame tasks across partitions: OCR on detected text, PHI boxes (or all text) filled, "
                   "changed frames re-encoded without loss; one candidate de-identified file per input.")
def silver_deid_files(context: AssetExecutionContext, spark: SparkResource, warehouse: WarehouseResource,
                      pipeline: PipelineSettings, ledger: RunLedger, memory: RunMemory) -> MaterializeResult:
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("pixel", batch_id, context.run_id)
    settings = pixel_settings(pipeline, str(wh.silver_staging), context.run_id)
    fingerprint = pipeline.options_fingerprint()

    inputs = BatchInputs(memory, session, wh, batch_id)
    headers = inputs.headers(fingerprint)
    done = inputs.deid_files(settings.run_key)
    files = (inputs.contents().where(F.col("status") == "ok")
             .select("sha256", "raw_path")
             .join(headers.select("sha256", "header_bytes"), "sha256")
             .join(done.select("sha256"), "sha256", "left_anti")
             .join(inputs.complexity().select("sha256", "frames", "decoded_pixel_bytes"), "sha256")
             .withColumn("batch_id", F.lit(batch_id))).localCheckpoint(eager=True)

    tasks = plan_frame_tasks(files.drop("header_bytes"), settings.frames_per_task)
    if settings.redact_mode == "phi":
        tasks = tasks.join(_phi_elements(inputs.elements(), files.select("sha256")), "sha256", "left")
    results = run_frame_tasks(tasks, settings)
    merge_new_rows(session, wh, tables.FRAME_TEXT, frame_text_rows(results), scope={"batch_id": batch_id})

    assembled = assemble_files(files, results, settings)
    merge_new_rows(session, wh, tables.DEID_FILES, deid_file_rows(assembled))
    failed = assembly_failures(assembled)
    ledger.hold(session, wh, quarantine_rows(failed, "pixel", context.run_id))
    inputs.forget(DEID_FILES)

    totals = assembled.agg(F.count("*").alias("files"), F.coalesce(F.sum("frames"), F.lit(0)).alias("frames"),
                           F.coalesce(F.sum("redacted_boxes"), F.lit(0)).alias("redacted"),
                           F.coalesce(F.sum("phi_boxes"), F.lit(0)).alias("phi"),
                           F.coalesce(F.sum("text_boxes"), F.lit(0)).alias("text"),
                           F.coalesce(F.sum("output_bytes"), F.lit(0)).alias("bytes")).first()
    task_totals = results.agg(F.count("*").alias("tasks"),
                              F.coalesce(F.sum("tesseract_calls"), F.lit(0)).alias("calls"),
                              F.coalesce(F.sum("ocr_cache_hits"), F.lit(0)).alias("hits")).first()
    reasons = Counter({r["error"]: r["n"] for r in failed.groupBy("error").agg(F.count("*").alias("n")).collect()})
    syntax = Counter({f"{r['syntax_kept']}:{r['syntax_reason'] or 'kept'}": r["n"] for r in
                      assembled.where(F.col("error").isNull()).groupBy("syntax_kept", "syntax_reason")
                      .agg(F.count("*").alias("n")).collect()})
    seconds = timer.record(ledger, session, wh, totals["files"], totals["bytes"], frames=totals["frames"],
                           rejected=sum(reasons.values()))
    return MaterializeResult(metadata={
        "files": totals["files"], "frames": int(totals["frames"]), "frame_tasks": task_totals["tasks"],
        "text_boxes": int(totals["text"]), "phi_boxes": int(totals["phi"]),
        "redacted_boxes": int(totals["redacted"]), "redact_mode": str(settings.redact_mode),
        "tesseract_calls": int(task_totals["calls"]), "ocr_cache_hits": int(task_totals["hits"]),
        "quarantined_by_reason": counts_metadata(reasons), "transfer_syntax_decisions": counts_metadata(syntax),
        "seconds": MetadataValue.float(round(seconds, 3)),
    })


def _phi_elements(batch_elements, shas):
    """Per file, the header's text values (identified, bronze): the recognizer's per-file dictionary."""
    elements = batch_elements.join(shas, "sha256").where(
        F.col("value").isNotNull() & (F.length("value") > 0))
    return elements.groupBy("sha256").agg(F.collect_list(F.struct(
        "element_path", "keyword", "vr", "value")).alias("phi_elements"))
