"""Backfills from the command line: the graph for each chosen landing batch (partition), one after the other.

The Dagster UI launches a backfill as one run per partition through the daemon; `deidlake backfill` does
the same work in this process, batch by batch in one Spark session (one JVM is what a 2-core host can
afford). A repeat adds nothing: every write is a MERGE on content keys and gold files are published once,
so the per-batch report of a repeated backfill shows zero newly published files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from orchestration.resources import PipelineSettings
from orchestration.runner import run_batch
from transforms.landing import BatchRegistry
from warehouse import tables
from warehouse.delta_io import batch_files, read_table
from warehouse.layout import Warehouse


class BatchSelectionError(ValueError):
    """The batches asked for do not match the registered ones (the message names batch ids only)."""


@dataclass(frozen=True)
class BatchOutcome:
    """One batch of a backfill: its run and what gold holds for it (PHI-free counts)."""

    batch_id: str
    run_id: str
    success: bool
    files: int
    published: int
    newly_published: int
    quarantined: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def select_batches(registered: list[str], batches: list[str] | None = None, all_batches: bool = False,
                   first: str | None = None, last: str | None = None) -> list[str]:
    """The registered batch ids to run, in id order (dated ids, then stream ids by micro-batch).

    Exactly one way of choosing: explicit ids, every batch, or an inclusive id range (either end open).
    """
    ordered = sorted(registered)
    chosen_ways = sum([bool(batches), all_batches, first is not None or last is not None])
    if chosen_ways != 1:
        raise BatchSelectionError("choose the batches with exactly one of --batches, --all, --from/--to")
    if batches:
        unknown = [b for b in batches if b not in set(ordered)]
        if unknown:
            raise BatchSelectionError(f"no registered batch {', '.join(unknown)}")
        return [b for b in ordered if b in set(batches)]
    if all_batches:
        return ordered
    for end in (first, last):
        if end is not None and end not in set(ordered):
            raise BatchSelectionError(f"no registered batch {end}")
    return [b for b in ordered if (first is None or b >= first) and (last is None or b <= last)]


def gold_count(spark: SparkSession, warehouse: Warehouse, batch_id: str, run_key: str) -> int:
    """Distinct contents of the batch that gold holds for this run key."""
    published = read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
    return published.join(batch_files(spark, warehouse, batch_id).select("sha256"), "sha256") \
        .select("sha256").distinct().count()


def published_total(spark: SparkSession, warehouse: Warehouse, run_key: str) -> int:
    """Gold manifest rows of this run key (one per published content)."""
    return read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key).count()


def quarantined_count(spark: SparkSession, warehouse: Warehouse, batch_id: str) -> int:
    held = read_table(spark, warehouse, tables.QUARANTINE).where(F.col("resolved_at").isNull())
    return held.join(batch_files(spark, warehouse, batch_id).select("sha256"), "sha256") \
        .select("sha256").distinct().count()


def backfill(spark: SparkSession, warehouse: Warehouse, batch_ids: list[str], pipeline: PipelineSettings,
             on_batch: Callable[[BatchOutcome], None] = lambda outcome: None) -> list[BatchOutcome]:
    """Run the whole graph for each batch in turn; a failed batch is reported and the next one runs."""
    import time


    registry = BatchRegistry(warehouse.batch_manifests)
    run_key = pipeline.run_key()
    outcomes = []
    for batch_id in batch_ids:
        started = time.monotonic()
        # Newly published = gold rows this run added: a content another batch published already is
        # in this batch's gold count but was not published again.
        before = published_total(spark, warehouse, run_key)
        run = run_batch(warehouse, registry.read(batch_id), pipeline=pipeline)
        newly = published_total(spark, warehouse, run_key) - before
        outcome = BatchOutcome(batch_id, run.run_id, run.success, len(run.manifest.files),
                               gold_count(spark, warehouse, batch_id, run_key), newly,
                               quarantined_count(spark, warehouse, batch_id),
                               round(time.monotonic() - started, 1))
        on_batch(outcome)
        outcomes.append(outcome)
    return outcomes


def render(outcomes: list[BatchOutcome]) -> str:
    """A table of the backfill, one line per batch."""
    header = f"{'batch':<32} {'files':>6} {'gold':>6} {'new':>6} {'held':>6} {'seconds':>8}  run"
    lines = [header]
    for o in outcomes:
        status = "" if o.success else "  FAILED"
        lines.append(f"{o.batch_id:<32} {o.files:>6} {o.published:>6} {o.newly_published:>6} "
                     f"{o.quarantined:>6} {o.seconds:>8.1f}  {o.run_id}{status}")
    return "\n".join(lines)
