"""The reviewer's report of a batch: a contact sheet of published frames and the leakage figures."""

from collections import Counter

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from orchestration.batch_inputs import BatchInputs, RunMemory
from orchestration.partitions import landing_batches
from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from transforms.review import SheetItem, contact_sheet, report_html
from transforms.text_types import Box
from warehouse import tables
from warehouse.delta_io import read_table

SAMPLE_FILES = 12


@asset(group_name="gold", partitions_def=landing_batches, deps=["gold_dicom_archive"], kinds={"spark"},
       description="Contact sheet (PNG + HTML) of published frames with redacted regions outlined, and the "
                   "batch's leakage figures. Shows de-identified output only.")
def gold_review_report(context: AssetExecutionContext, spark: SparkResource, warehouse: WarehouseResource,
                       pipeline: PipelineSettings, memory: RunMemory) -> MaterializeResult:
    wh = warehouse.resolve()
    session = spark.spark_session
    batch_id, run_key = context.partition_key, pipeline.run_key()
    inputs = BatchInputs(memory, session, wh, batch_id)
    shas = inputs.shas()
    published = (read_table(session, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
                 .join(shas, "sha256").orderBy("sha256").limit(SAMPLE_FILES).collect())
    boxes = (read_table(session, wh, tables.FRAME_TEXT).where(F.col("run_key") == run_key)
             .join(session.createDataFrame([(r["sha256"],) for r in published] or [("",)], "sha256 string"),
                   "sha256").collect())
    items = [_item(wh.gold_archive / run_key, row, [b for b in boxes if b["sha256"] == row["sha256"]])
             for row in published]
    figures = _figures(session, wh, inputs, run_key, batch_id)
    folder = wh.zone("gold") / "reports" / run_key / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    if items:
        contact_sheet(items).save(folder / "contact_sheet.png")
    (folder / "index.html").write_text(report_html(f"deidlake batch {batch_id}", figures, "contact_sheet.png"))
    return MaterializeResult(metadata={"report": MetadataValue.path(str(folder / "index.html")),
                                       "files_shown": len(items), **{k: v for k, v in figures.items()
                                                                     if isinstance(v, int)}})


def _item(archive, row, boxes) -> SheetItem:
    by_frame = Counter(b["frame"] for b in boxes if b["redacted"])
    frame = by_frame.most_common(1)[0][0] if by_frame else 0
    on_frame = [b for b in boxes if b["frame"] == frame]
    to_box = lambda b: Box(b["left"], b["top"], b["width"], b["height"])  # noqa: E731
    label = f"{row['patient_pseudonym'][:10]} {row['transfer_syntax'] or ''}"
    return SheetItem(archive / row["gold_path"], label, frame,
                     tuple(to_box(b) for b in on_frame if b["redacted"]),
                     tuple(to_box(b) for b in on_frame if not b["redacted"]))


def _figures(session, wh, inputs: BatchInputs, run_key: str, batch_id: str) -> dict:
    shas = inputs.shas()
    files = shas.count()
    gold = read_table(session, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key).join(shas, "sha256")
    held = (read_table(session, wh, tables.QUARANTINE).where(F.col("resolved_at").isNull()).join(shas, "sha256"))
    deid = inputs.deid_files(run_key)
    totals = deid.agg(*[F.coalesce(F.sum(c), F.lit(0)).alias(c)
                        for c in ("frames", "text_boxes", "phi_boxes", "redacted_boxes")]).first()
    checks = (read_table(session, wh, tables.LEAKAGE_CHECKS).where(F.col("batch_id") == batch_id)
              .orderBy(F.col("evaluated_at").desc()).collect())
    latest = {}
    for row in checks:
        latest.setdefault(row["check"], f"{row['files_failed']} of {row['files_checked']} failed"
                          if row["files_failed"] else f"passed ({row['files_checked']} files)")
    held_rows = held.select("sha256", "stage", "reason").collect()
    reasons = Counter(f"{r['stage']}:{r['reason']}" for r in held_rows)
    return {"files": files, "published": gold.count(), "quarantined": len({r["sha256"] for r in held_rows}),
            "quarantine reasons": dict(reasons), "frames": int(totals["frames"]),
            "text boxes": int(totals["text_boxes"]), "PHI boxes": int(totals["phi_boxes"]),
            "redacted boxes": int(totals["redacted_boxes"]), **{f"check {k}": v for k, v in latest.items()},
            "run key": run_key}
