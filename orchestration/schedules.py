"""The daily reconciliation: nothing that landed may wait for a sensor that was switched off."""


from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from orchestration.jobs import deidentify_batch, refresh_metrics
from orchestration.partitions import landing_batches
from orchestration.resources import WarehouseResource
from transforms.landing import BatchRegistry


@schedule(job=deidentify_batch, cron_schedule="0 2 * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Daily at 02:00 UTC: registers unregistered landing files as a batch and runs every "
                      "batch whose manifest has no partition yet (e.g. a sensor tick that failed midway).")
def daily_reconciliation(context: ScheduleEvaluationContext, warehouse: WarehouseResource):
    wh = warehouse.resolve()
    registry = BatchRegistry(wh.batch_manifests)
    new_files = registry.unregistered(warehouse.landing_dir, warehouse.landing_min_age_seconds)
    if new_files:
        registry.register(warehouse.landing_dir, new_files)
    known = set(context.instance.get_dynamic_partitions(landing_batches.name))
    pending = [b for b in registry.batch_ids() if b not in known]
    if not pending:
        return SkipReason("every landing batch already has its partition")
    context.instance.add_dynamic_partitions(landing_batches.name, pending)
    return [RunRequest(partition_key=b, run_key=f"reconcile-{b}") for b in pending]


daily_metrics = ScheduleDefinition(
    name="daily_metrics", job=refresh_metrics, cron_schedule="0 3 * * *", execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily at 03:00 UTC: redraws the throughput and quarantine plot.",
)
