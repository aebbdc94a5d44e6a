"""The landing sensor: a new batch (manifest + dynamic partition + run) when new files arrive."""


from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from orchestration.jobs import deidentify_batch
from orchestration.partitions import landing_batches
from orchestration.resources import WarehouseResource
from transforms.landing import BatchRegistry


@sensor(job=deidentify_batch, minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED,
        description="Registers the landing folder's new files as a batch and requests its run.")
def landing_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    wh = warehouse.resolve()
    registry = BatchRegistry(wh.batch_manifests)
    new_files = registry.unregistered(warehouse.landing_dir, warehouse.landing_min_age_seconds)
    if not new_files:
        return SkipReason("no new files in the landing folder")
    manifest = registry.register(warehouse.landing_dir, new_files)
    context.log.info(f"batch {manifest.batch_id}: {len(new_files)} new landing files")
    return SensorResult(
        run_requests=[RunRequest(partition_key=manifest.batch_id, run_key=manifest.batch_id)],
        dynamic_partitions_requests=[landing_batches.build_add_request([manifest.batch_id])],
    )
