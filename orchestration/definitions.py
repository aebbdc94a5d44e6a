"""The Dagster code location: `dagster dev -m orchestration.definitions` (or `deidlake ui`).

Assembled last: the graph (`orchestration.graph`), the jobs, the sensor, the schedules and the streaming
job. Nothing in the package imports this module (the runner and the stream take the graph from
`orchestration.graph`), so imports flow one way.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from orchestration.graph import ASSETS, INGEST_SELECTION, build_resources
from orchestration.jobs import deidentify_batch, refresh_metrics
from orchestration.schedules import daily_metrics, daily_reconciliation
from orchestration.sensors import landing_sensor
from orchestration.streaming_job import streaming_job

__all__ = ["ASSETS", "INGEST_SELECTION", "build_resources", "defs"]

defs = Definitions(
    assets=ASSETS,
    jobs=[deidentify_batch, refresh_metrics, streaming_job],
    sensors=[landing_sensor],
    schedules=[daily_reconciliation, daily_metrics],
    resources=build_resources(),
    # One JVM per step would not fit 2 cores: every step of a run shares one process and one session.
    executor=in_process_executor,
)
