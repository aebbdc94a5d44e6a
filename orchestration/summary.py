"""The end-of-run summary: PHI-free counts of what happened to the files of one batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from warehouse import tables
from warehouse.delta_io import batch_files, read_table
from warehouse.layout import Warehouse


@dataclass
class BatchSummary:
    batch_id: str
    landing_files: int = 0
    distinct_contents: int = 0
    bytes: int = 0
    ok: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_by_stage_reason: dict[str, int] = field(default_factory=dict)
    files_by_modality: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    estimated_cost_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        lines = [
            f"batch {self.batch_id}",
            f"  landing files      {self.landing_files} ({self.distinct_contents} distinct contents, "
            f"{self.bytes / 1048576:.1f} MB)",
            f"  accepted (ok)      {self.ok}",
            f"  rejected at ingest {sum(self.rejected_by_reason.values())} "
            + _inline(self.rejected_by_reason),
            f"  quarantined        {sum(self.quarantined_by_stage_reason.values())} "
            + _inline(self.quarantined_by_stage_reason),
            f"  frames             {self.frames}",
            f"  by modality        {_inline(self.files_by_modality)}",
            f"  estimated cost     {self.estimated_cost_seconds:.1f} s (1 core)",
        ]
        return "\n".join(lines)


def _inline(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ")" if counts else ""


def summarize_batch(spark: SparkSession, warehouse: Warehouse, batch_id: str) -> BatchSummary:
    summary = BatchSummary(batch_id)
    landed = read_table(spark, warehouse, tables.LANDING_FILES).where(F.col("batch_id") == batch_id)
    summary.landing_files = landed.count()
    files = batch_files(spark, warehouse, batch_id).cache()
    summary.distinct_contents = files.count()
    summary.bytes = int(files.agg(F.coalesce(F.sum("size_bytes"), F.lit(0))).first()[0])
    summary.ok = files.where(F.col("status") == "ok").count()
    summary.rejected_by_reason = _counts(files.where(F.col("status") == "rejected"), "reject_reason")
    quarantine = read_table(spark, warehouse, tables.QUARANTINE).join(files.select("sha256"), "sha256")
    summary.quarantined_by_stage_reason = _counts(
        quarantine.withColumn("key", F.concat_ws(":", "stage", "reason")), "key")
    complexity = read_table(spark, warehouse, tables.DICOM_COMPLEXITY).join(files.select("sha256"), "sha256")
    summary.files_by_modality = _counts(complexity.fillna({"modality": "unknown"}), "modality")
    totals = complexity.agg(F.coalesce(F.sum("frames"), F.lit(0)),
                            F.coalesce(F.sum("estimated_cost_seconds"), F.lit(0.0))).first()
    summary.frames, summary.estimated_cost_seconds = int(totals[0]), float(totals[1])
    files.unpersist()
    return summary


def _counts(df, column: str) -> dict[str, int]:
    return {str(r[column]): int(r["n"]) for r in df.groupBy(column).agg(F.count("*").alias("n")).collect()}
