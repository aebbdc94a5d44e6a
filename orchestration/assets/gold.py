"""Gold: verified de-identified files published immutably, with a manifest back to their bronze input."""

from datetime import datetime, timezone
from typing import Iterator

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from orchestration.batch_inputs import BatchInputs, RunMemory
from orchestration.expectations import ExpectationRunner
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer
from transforms.leakage import LEAKAGE_RULES
from transforms.publish import PublishConflict, gold_relative_path, publish_file
from transforms.spark import task_partitions
from warehouse import tables
from warehouse.delta_io import merge_new_rows, read_table
from warehouse.schemas import GOLD_MANIFEST

PIPELINE_VERSION = "deidlake-0.1.0"
PUBLISH_RESULT = StructType([StructField("sha256", StringType()), StructField("written", BooleanType()),
                             StructField("error", StringType())])


@asset(group_name="gold", partitions_def=landing_batches, kinds={"spark", "delta"},
       deps=["silver_leakage_report"],
       check_specs=[AssetCheckSpec("accounting", asset="gold_dicom_archive",
                                   description="every bronze file of the batch is in gold or in quarantine, "
                                               "exactly once")],
       description="De-identified DICOM Part 10 files by pseudonymized patient/study/series, and gold.manifest.")
def gold_dicom_archive(context: AssetExecutionContext, spark: SparkResource, warehouse: WarehouseResource,
                       pipeline: PipelineSettings, ledger: RunLedger, memory: RunMemory):
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("publish", batch_id, context.run_id)
    run_key = pipeline.run_key()
    archive = wh.gold_archive / run_key

    inputs = BatchInputs(memory, session, wh, batch_id)
    ready = _publishable(session, wh, inputs, run_key, pipeline.options_fingerprint()).localCheckpoint(eager=True)
    results = _publish(ready, str(archive)).localCheckpoint(eager=True)
    published = ready.join(results.where(F.col("error").isNull()).select("sha256"), "sha256")
    merge_new_rows(session, wh, tables.GOLD_MANIFEST, _manifest_rows(published, pipeline, context.run_id))
    ledger.hold(session, wh, quarantine_rows(
        results.where(F.col("error").isNotNull()).withColumn("batch_id", F.lit(batch_id)), "publish", context.run_id))
    count = published.count()
    seconds = timer.record(ledger, session, wh, count,
                           int(published.agg(F.coalesce(F.sum("output_bytes"), F.lit(0))).first()[0]))

    # The run's records, written once (quarantine, stage metrics, gate checks), then the accounting over
    # what is committed: each content of the batch in gold or in open quarantine, exactly once.
    shas = inputs.shas()
    in_gold = _in_gold(session, wh, shas, run_key)
    held = _open_quarantine(session, wh, shas)
    if ledger.write(session, wh, published=in_gold, open_held=held):
        held = _open_quarantine(session, wh, shas)
    outcome = ExpectationRunner.for_root(wh.root / "gx").validate_accounting(
        _accounting(shas, in_gold, held).localCheckpoint(eager=True), batch_id)
    yield MaterializeResult(metadata={
        "published": count, "newly_written": results.where(F.col("written")).count(),
        "archive": MetadataValue.path(str(archive)), "run_key": run_key,
        "seconds": MetadataValue.float(round(seconds, 3))})
    yield AssetCheckResult(check_name="accounting", asset_key="gold_dicom_archive", passed=outcome.success,
                           metadata={"files": outcome.evaluated,
                                     "not_exactly_once": MetadataValue.json(list(outcome.failing_hashes)),
                                     "data_docs": MetadataValue.path(ExpectationRunner.data_docs_path(wh.root / "gx"))})


def _publishable(session, wh, inputs: BatchInputs, run_key: str, fingerprint: str):
    """Files of the batch whose latest gate measures pass every rule, not published yet."""
    passed = (read_table(session, wh, tables.LEAKAGE_RESULTS)
              .where((F.col("run_key") == run_key) & (F.size("failed_checks") == 0))
              .select("sha256", "output_sha256"))
    files = inputs.deid_files(run_key).select(
        "sha256", "run_key", "redact_mode", "candidate_path", "output_sha256", "output_bytes", "output_syntax",
        "syntax_kept")
    headers = inputs.headers(fingerprint).select(
        "sha256", "patient_pseudonym", "study_instance_uid", "series_instance_uid", "sop_instance_uid",
        "sop_class_uid", "options_fingerprint", "key_fingerprint")
    done = read_table(session, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key).select("sha256")
    ready = (files.join(passed, ["sha256", "output_sha256"])           # the verified bytes, not newer ones
             .join(headers, "sha256")
             .join(done, "sha256", "left_anti")
             .withColumn("batch_id", F.lit(inputs.batch_id)))
    return ready.dropDuplicates(["sha256"])


def _publish(ready, archive_root: str):
    def publish_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for r in batch.to_dict("records"):
                relative = gold_relative_path(r["patient_pseudonym"], r["study_instance_uid"],
                                              r["series_instance_uid"], r["sop_instance_uid"], r["sha256"])
                try:
                    written = publish_file(r["candidate_path"], archive_root, relative, r["output_sha256"])
                    rows.append({"sha256": r["sha256"], "written": written, "error": None})
                except PublishConflict as exc:
                    rows.append({"sha256": r["sha256"], "written": False, "error": exc.reason})
                except Exception as exc:  # noqa: BLE001
                    rows.append({"sha256": r["sha256"], "written": False, "error": f"publish_failed:{type(exc).__name__}"})
            yield pd.DataFrame(rows, columns=["sha256", "written", "error"])

    spread = ready.repartition(task_partitions(ready.sparkSession, ready.count(), 16))
    return spread.mapInPandas(publish_partition, PUBLISH_RESULT)


def _manifest_rows(published, pipeline: PipelineSettings, run_id: str):
    relative = F.udf(lambda p, st, se, so, sha: gold_relative_path(p, st, se, so, sha), StringType())
    options = pipeline.options()
    return published.select(
        "sha256", "run_key", "batch_id",
        relative("patient_pseudonym", "study_instance_uid", "series_instance_uid", "sop_instance_uid",
                 "sha256").alias("gold_path"),
        "output_sha256", "output_bytes", "patient_pseudonym", "study_instance_uid", "series_instance_uid",
        "sop_instance_uid", "sop_class_uid", F.col("output_syntax").alias("transfer_syntax"), "syntax_kept",
        "redact_mode", F.array(*[F.lit(n) for n in options.names]).cast("array<string>").alias("options"),
        "options_fingerprint", "key_fingerprint",
        F.array(*[F.lit(rule.check) for rule in LEAKAGE_RULES]).alias("checks_passed"),
        F.lit(PIPELINE_VERSION).alias("pipeline_version"),
        F.lit(datetime.now(timezone.utc)).cast("timestamp").alias("published_at"), F.lit(run_id).alias("run_id"),
    ).select(*GOLD_MANIFEST.fieldNames())


def _in_gold(session, wh, shas, run_key: str):
    """Contents of the batch that gold holds for this run key (after this run's publication)."""
    return (read_table(session, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
            .select("sha256").distinct().join(shas, "sha256").localCheckpoint(eager=True))


def _open_quarantine(session, wh, shas):
    """Contents of the batch held in quarantine (rows not resolved by a later publication)."""
    return (read_table(session, wh, tables.QUARANTINE).where(F.col("resolved_at").isNull())
            .select("sha256").distinct().join(shas, "sha256").localCheckpoint(eager=True))


def _accounting(shas, in_gold, held):
    """Per distinct file of the batch: how many places it ended in (gold for this run key, quarantine)."""
    return (shas.join(in_gold.withColumn("in_gold", F.lit(1)), "sha256", "left")
            .join(held.withColumn("in_quarantine", F.lit(1)), "sha256", "left")
            .select("sha256", (F.coalesce("in_gold", F.lit(0)) + F.coalesce("in_quarantine", F.lit(0)))
                    .alias("outcomes")))
