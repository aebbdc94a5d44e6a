"""The leakage gate: measures every candidate, quarantines what fails, and blocks gold on inconsistency.

The asset measures each candidate output (header scan, original UIDs, de-identification record,
structure, independent OCR of redacted frames), quarantines the files that fail any rule, and then runs
the Great Expectations suites (one per rule) as blocking asset checks:
- a suite that finds failing files, all of them quarantined, is reported as a failed check of severity
  WARN (visible in the UI, with the failing file hashes), and gold publishes the other files;
- a failing file that is not quarantined (which would be a bug in the routing) fails the check with
  severity ERROR, which blocks gold for the run.
"""

from collections import Counter

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pyspark.sql import functions as F

from orchestration.batch_inputs import BatchInputs, RunMemory
from orchestration.expectations import ExpectationRunner
from orchestration.partitions import landing_batches
from orchestration.quarantine import quarantine_rows
from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.run_ledger import RunLedger
from orchestration.stage_metrics import StageTimer, counts_metadata
from transforms.leakage import LEAKAGE_RULES
from transforms.spark.leakage import combine, leakage_rows, measure_failures, measure_headers, recheck_candidate_frames
from warehouse import tables
from warehouse.delta_io import read_table, upsert_rows

GATE_ASSET = "silver_leakage_report"


@asset(group_name="silver", partitions_def=landing_batches, kinds={"spark", "delta", "great_expectations"},
       deps=["silver_deid_files"],
       check_specs=[AssetCheckSpec(rule.check, asset=GATE_ASSET, blocking=True, description=rule.description)
                    for rule in LEAKAGE_RULES],
       description="The leakage gate: per-file leak measures, quarantine of failures, GX suites as blocking "
                   "checks in front of gold.")
def silver_leakage_report(context: AssetExecutionContext, spark: SparkResource, warehouse: WarehouseResource,
                          pipeline: PipelineSettings, ledger: RunLedger, memory: RunMemory):
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id = context.partition_key
    timer = StageTimer("leakage_gate", batch_id, context.run_id)
    run_key = pipeline.run_key()

    inputs = BatchInputs(memory, session, wh, batch_id)
    candidates = _candidates(session, wh, inputs, run_key, pipeline.gate_frames).localCheckpoint(eager=True)
    option_names = tuple(pipeline.options().names)
    measured = measure_headers(candidates, option_names, context.run_id, dciodvfy=pipeline.gate_dciodvfy)
    rechecked = recheck_candidate_frames(candidates.where(F.size("recheck_frames") > 0), option_names,
                                        pipeline.frames_per_task, pipeline.phi_engine)
    results = combine(measured, rechecked).localCheckpoint(eager=True)

    report = leakage_rows(results, LEAKAGE_RULES).localCheckpoint(eager=True)
    upsert_rows(session, wh, tables.LEAKAGE_RESULTS, report)
    failing = report.where(F.size("failed_checks") > 0)
    ledger.hold(session, wh, quarantine_rows(
        failing.select("sha256", "batch_id", F.explode("failed_checks").alias("check")), "leakage", context.run_id,
        reason="check"))
    ledger.hold(session, wh, quarantine_rows(measure_failures(results), "leakage", context.run_id))

    outcomes = ExpectationRunner.for_root(wh.root / "gx").validate_rules(report, LEAKAGE_RULES, batch_id)
    quarantined = {r["sha256"] for r in failing.select("sha256").collect()}
    evaluated = report.count()
    ledger.checks(session, wh, [(context.run_id, batch_id, o.name, o.evaluated, len(o.failing_hashes), o.success,
                                 timer.started_at) for o in outcomes])
    seconds = timer.record(ledger, session, wh, evaluated, 0, frames=int(results.agg(
        F.coalesce(F.sum("frames_rechecked"), F.lit(0))).first()[0]), rejected=len(quarantined))
    docs = ExpectationRunner.data_docs_path(wh.root / "gx")
    yield MaterializeResult(metadata={
        "files_checked": evaluated,
        "files_quarantined": len(quarantined),
        "failures_by_check": counts_metadata(Counter(o.name for o in outcomes for _ in o.failing_hashes)),
        "frames_rechecked": int(results.agg(F.coalesce(F.sum("frames_rechecked"), F.lit(0))).first()[0]),
        "data_docs": MetadataValue.path(docs),
        "seconds": MetadataValue.float(round(seconds, 3)),
    })
    for outcome in outcomes:
        unrouted = sorted(set(outcome.failing_hashes) - quarantined)
        severity = AssetCheckSeverity.ERROR if unrouted else AssetCheckSeverity.WARN
        yield AssetCheckResult(
            check_name=outcome.name, asset_key=GATE_ASSET, passed=outcome.success, severity=severity,
            metadata={"files_checked": outcome.evaluated, "files_failed": len(outcome.failing_hashes),
                      "failing_file_hashes": MetadataValue.json(list(outcome.failing_hashes)),
                      "failing_not_quarantined": MetadataValue.json(unrouted),
                      "data_docs": MetadataValue.path(docs)})


def _candidates(session, wh, inputs: BatchInputs, run_key: str, gate_frames: str):
    """Candidate files of the batch not yet published for this run key, with what the gate needs."""
    batch_id = inputs.batch_id
    published = read_table(session, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key).select("sha256")
    files = (inputs.deid_files(run_key)
             .join(inputs.contents().select("sha256", "raw_path"), "sha256")
             .join(published, "sha256", "left_anti")
             .select("sha256", "run_key", "candidate_path", "raw_path", "output_sha256", "frames",
                     F.col("output_syntax"), F.lit(batch_id).alias("batch_id")))
    shape = inputs.complexity().select("sha256", "rows", "columns", "sop_class_uid")
    elements = (inputs.elements().join(files.select("sha256"), "sha256")
                .where(F.col("value").isNotNull())
                .groupBy("sha256").agg(F.collect_list(F.struct("element_path", "tag", "keyword", "vr", "value"))
                                       .alias("elements")))
    joined = files.join(shape, "sha256", "left").join(elements, "sha256", "left")
    if gate_frames == "all":
        return joined.withColumn("recheck_frames", F.when(F.col("frames") > 0, F.sequence(
            F.lit(0), F.col("frames") - 1)).otherwise(F.array().cast("array<int>")))
    text = read_table(session, wh, tables.FRAME_TEXT).where(F.col("run_key") == run_key)
    if gate_frames == "redacted":
        text = text.where(F.col("redacted"))
    frames = text.groupBy("sha256").agg(F.sort_array(F.collect_set("frame")).alias("recheck_frames"))
    return (joined.join(frames, "sha256", "left")
            .withColumn("recheck_frames", F.coalesce("recheck_frames", F.array().cast("array<int>"))))
