"""Copying a batch's published gold files to a folder of the user's (what `deidlake run --output` does)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from warehouse import tables
from warehouse.delta_io import batch_files, read_table
from warehouse.layout import Warehouse


QUARANTINE_LISTING = "quarantine.json"


def export_gold(spark: SparkSession, warehouse: Warehouse, batch_id: str, run_key: str, output: Path) -> int:
    """Published files of the batch, in the gold layout, plus a PHI-free manifest.json (each file with its
    input's SHA-256, as gold.manifest holds it) and quarantine.json (the batch's held files: input SHA-256,
    stage, reason, detail); returns the count published."""
    rows = (read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
            .join(batch_files(spark, warehouse, batch_id).select("sha256"), "sha256")
            .select("gold_path", "sha256", "output_sha256", "output_bytes", "transfer_syntax", "sop_class_uid")
            .orderBy("gold_path").collect())
    output.mkdir(parents=True, exist_ok=True)
    archive = warehouse.gold_archive / run_key
    for row in rows:
        target = output / row["gold_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive / row["gold_path"]
        if not target.exists():
            try:
                os.link(source, target)            # same file system: no second copy of the bytes
            except OSError:
                shutil.copyfile(source, target)
    (output / "manifest.json").write_text(json.dumps(
        {"batch_id": batch_id, "run_key": run_key, "files": [r.asDict() for r in rows]}, indent=1))
    held = (read_table(spark, warehouse, tables.QUARANTINE).where(F.col("resolved_at").isNull())
            .join(batch_files(spark, warehouse, batch_id).select("sha256"), "sha256")
            .select("sha256", "stage", "reason", "detail").distinct().orderBy("sha256", "stage", "reason").collect())
    (output / QUARANTINE_LISTING).write_text(json.dumps(
        {"batch_id": batch_id, "run_key": run_key, "files": [r.asDict() for r in held]}, indent=1))
    return len(rows)
