"""Jobs: the whole batch graph, per landing batch."""

from dagster import AssetSelection, define_asset_job

from orchestration.partitions import landing_batches

deidentify_batch = define_asset_job(
    "deidentify_batch",
    selection=AssetSelection.all(),
    partitions_def=landing_batches,
    description="Landing batch -> bronze -> metadata (-> silver -> gold as later stages land).",
)
