"""Timing and PHI-free figures of one stage, for Dagster metadata and metrics.stage_runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dagster import MetadataValue
from pyspark.sql import SparkSession

from orchestration.run_ledger import RunLedger
from warehouse.layout import Warehouse


@dataclass
class StageTimer:
    """Measures one stage of one batch and records it once the stage knows its counts."""

    stage: str
    batch_id: str
    run_id: str
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _t0: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._t0

    def record(self, ledger: RunLedger, spark: SparkSession, warehouse: Warehouse, files: int, bytes_: int,
               frames: int | None = None, rejected: int | None = None) -> float:
        """The stage's metrics.stage_runs row, handed to the run's ledger (written once per run)."""
        seconds = self.seconds
        ledger.stage(spark, warehouse, (self.run_id, self.batch_id, self.stage, self.started_at, float(seconds),
                                        int(files), int(bytes_), frames, rejected))
        return seconds


def counts_metadata(counts: Mapping[str, int]) -> MetadataValue:
    """Counts by machine-readable reason (never a value from a file)."""
    return MetadataValue.json(dict(sorted(counts.items())))
