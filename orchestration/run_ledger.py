"""What one run of one batch records once, at its end: quarantine, stage metrics and the gate's checks.

Every stage used to write its own quarantine rows and its own `metrics.stage_runs` row as it finished: six
to nine small Delta commits per run whatever the batch's size, each ~1 s of Delta's fixed cost (and each
a chance to collide with a concurrent run). The stages now hand those records to the run's ledger, which
writes each table once: the quarantine in one MERGE (new rows, and the `resolved_at` of files this batch
has in gold), the stage metrics and the gate's checks in one blind append each.

When the ledger is written:
- by the gold step, after publishing, so that its accounting check reads the committed quarantine;
- otherwise when the run ends (the resource's teardown): runs of a selection without gold (`deidlake
  ingest`, a UI materialization of one asset) and runs that stopped early. Dagster does not fail a run
  whose resource teardown fails, so that path only logs; what it would have written is derived again by
  the next run of the batch (every stage re-derives its failures from the tables; see docs/operations.md).

One ledger per run: Dagster builds resources once per run with the in-process executor, so every step of
a run shares this object (a step in another process would get its own ledger and write its own records).
"""

from __future__ import annotations

import logging

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr
from pyspark.sql import DataFrame, SparkSession

from warehouse import tables
from warehouse.delta_io import append_rows
from warehouse.layout import Warehouse

LOG = logging.getLogger(__name__)


class RunLedger(ConfigurableResource):
    """Quarantine rows, stage metrics and gate checks of the run, written once (see the module doc)."""

    _held: list[DataFrame] = PrivateAttr(default_factory=list)
    _stages: list[tuple] = PrivateAttr(default_factory=list)
    _checks: list[tuple] = PrivateAttr(default_factory=list)
    _target: tuple[SparkSession, Warehouse] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._held, self._stages, self._checks, self._target = [], [], [], None

    # ------------------------------------------------------------------------------------------ records

    def hold(self, spark: SparkSession, warehouse: Warehouse, rows: DataFrame) -> None:
        """Quarantine rows (silver.quarantine's columns), written at the end of the run."""
        self._target = (spark, warehouse)
        self._held.append(rows.select(*tables.QUARANTINE.schema.fieldNames()))

    def stage(self, spark: SparkSession, warehouse: Warehouse, row: tuple) -> None:
        """One metrics.stage_runs row."""
        self._target = (spark, warehouse)
        self._stages.append(row)

    def checks(self, spark: SparkSession, warehouse: Warehouse, rows: list[tuple]) -> None:
        """metrics.leakage_checks rows of this run's gate."""
        self._target = (spark, warehouse)
        self._checks.extend(rows)

    @property
    def pending(self) -> bool:
        return bool(self._held or self._stages or self._checks)

    # ------------------------------------------------------------------------------------------ writing

    def write(self, spark: SparkSession, warehouse: Warehouse, published: DataFrame | None = None,
              open_held: DataFrame | None = None) -> bool:
        """Write what the run recorded: one commit per table (none for a table with nothing new).

        `published` (sha256): the batch's contents in gold; those among `open_held` (sha256: contents with
        open quarantine rows) get `resolved_at`, and none of them is newly held. Returns whether the
        quarantine changed.
        """
        from orchestration.quarantine import record_quarantine

        held, stages, checks = self._held, self._stages, self._checks
        self._held, self._stages, self._checks = [], [], []
        resolved = published.join(open_held, "sha256") if published is not None and open_held is not None else None
        changed = record_quarantine(spark, warehouse, _union(held), resolved, published)
        if stages:
            append_rows(spark, warehouse, tables.STAGE_RUNS, spark.createDataFrame(stages, tables.STAGE_RUNS.schema))
        if checks:
            append_rows(spark, warehouse, tables.LEAKAGE_CHECKS,
                        spark.createDataFrame(checks, tables.LEAKAGE_CHECKS.schema))
        return changed

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if not self.pending or self._target is None:
            return
        spark, warehouse = self._target
        try:
            self.write(spark, warehouse)
        except Exception:  # noqa: BLE001 - Dagster would only log it too; the next run derives it again
            LOG.exception("the run's quarantine and metrics records could not be written at its end")


def _union(frames: list[DataFrame]) -> DataFrame | None:
    if not frames:
        return None
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union

