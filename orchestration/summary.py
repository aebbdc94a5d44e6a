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
    run_key: str | None = None
    published: int = 0
    text_boxes: int = 0
    phi_boxes: int = 0
    redacted_boxes: int = 0
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def quarantined_for_leakage(self) -> int:
        return sum(n for key, n in self.quarantined_by_stage_reason.items() if key.startswith("leakage:"))

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
        if self.run_key:
            lines += [
                f"  published (gold)   {self.published}",
                f"  text boxes         {self.text_boxes} found, {self.phi_boxes} PHI, "
                f"{self.redacted_boxes} redacted",
                f"  leakage checks     {_inline(self.checks)}",
            ]
        return "\n".join(lines)


def demo_verdict(totals: dict, consistent: bool) -> str:
    """The scorer's verdict in words: each check the demo's score makes, passed or not, with its figure
    (a newcomer reads "PASSED: False" as "broken" without knowing what failed). `totals` is the
    scorer's `ScoreReport.totals`; checks it does not report are left out."""
    files, header, pixels = totals["files"], totals["header"], totals["pixels"]
    integrity, validity = totals["integrity"], totals["validity"]
    held = files.get("held", 0)
    recall = pixels.get("phi_recall")
    checks = [
        ("every file published and readable", files["missing"] == 0 and files["unreadable"] == 0 and held == 0,
         f"{files['matched']} matched, {files['missing']} missing, {files['unreadable']} unreadable, {held} held"),
        ("no PHI left in the headers", header["leaked"] == 0, f"{header['leaked']} of {header['items']} items left"),
        ("every burned-in PHI box removed", recall in (None, 1.0),
         f"{pixels['phi_removed']} of {pixels['phi_boxes']} removed"),
        ("pixels outside the text unchanged", integrity["ok"] == integrity["files"],
         f"{integrity['ok']} of {integrity['files']} files intact"),
        ("header and pixels consistent", consistent, "consistent" if consistent else "inconsistent"),
        ("no new DICOM errors", validity["added_errors"] == 0,
         f"{validity['added_errors']} added in {validity['checked']} checked files"),
    ]
    passed = [f"{name} ({figure})" for name, ok, figure in checks if ok]
    failed = [f"{name} ({figure})" for name, ok, figure in checks if not ok]
    head = f"Verdict: all {len(checks)} checks passed" if not failed else \
        f"Verdict: {len(passed)} of {len(checks)} checks passed; NOT passed: " + "; ".join(failed)
    return head + (".\n  passed: " + "; ".join(passed) + "." if passed else ".")


def _inline(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ")" if counts else ""


def summarize_batch(spark: SparkSession, warehouse: Warehouse, batch_id: str, run_key: str | None = None,
                    run_id: str | None = None) -> BatchSummary:
    summary = BatchSummary(batch_id)
    landed = read_table(spark, warehouse, tables.LANDING_FILES).where(F.col("batch_id") == batch_id)
    summary.landing_files = landed.count()
    files = batch_files(spark, warehouse, batch_id).cache()
    summary.distinct_contents = files.count()
    summary.bytes = int(files.agg(F.coalesce(F.sum("size_bytes"), F.lit(0))).first()[0])
    summary.ok = files.where(F.col("status") == "ok").count()
    summary.rejected_by_reason = _counts(files.where(F.col("status") == "rejected"), "reject_reason")
    quarantine = (read_table(spark, warehouse, tables.QUARANTINE).where(F.col("resolved_at").isNull())
                  .join(files.select("sha256"), "sha256"))
    summary.quarantined_by_stage_reason = _counts(
        quarantine.withColumn("key", F.concat_ws(":", "stage", "reason")), "key")
    complexity = read_table(spark, warehouse, tables.DICOM_COMPLEXITY).join(files.select("sha256"), "sha256")
    summary.files_by_modality = _counts(complexity.fillna({"modality": "unknown"}), "modality")
    totals = complexity.agg(F.coalesce(F.sum("frames"), F.lit(0)),
                            F.coalesce(F.sum("estimated_cost_seconds"), F.lit(0.0))).first()
    summary.frames, summary.estimated_cost_seconds = int(totals[0]), float(totals[1])
    if run_key:
        _add_run_figures(spark, warehouse, summary, files.select("sha256"), run_key, run_id)
    files.unpersist()
    return summary


def _add_run_figures(spark, warehouse, summary: BatchSummary, shas, run_key: str, run_id: str | None) -> None:
    summary.run_key = run_key
    summary.published = (read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
                         .join(shas, "sha256").count())
    boxes = (read_table(spark, warehouse, tables.DEID_FILES).where(F.col("run_key") == run_key).join(shas, "sha256")
             .agg(*[F.coalesce(F.sum(c), F.lit(0)).alias(c) for c in ("text_boxes", "phi_boxes", "redacted_boxes")])
             .first())
    summary.text_boxes, summary.phi_boxes, summary.redacted_boxes = (int(boxes[0]), int(boxes[1]), int(boxes[2]))
    if run_id:
        checks = read_table(spark, warehouse, tables.LEAKAGE_CHECKS).where(F.col("run_id") == run_id).collect()
        summary.checks = {r["check"]: ("passed" if r["passed"] else f"{r['files_failed']} failed") for r in checks}


def _counts(df, column: str) -> dict[str, int]:
    return {str(r[column]): int(r["n"]) for r in df.groupBy(column).agg(F.count("*").alias("n")).collect()}
