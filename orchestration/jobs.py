"""Jobs: the whole batch graph, per landing batch."""

from dagster import AssetSelection, define_asset_job

from orchestration.partitions import landing_batches

# Everything partitioned by landing batch (the metrics plot spans all runs and is not).
BATCH_SELECTION = AssetSelection.all() - AssetSelection.assets("metrics_throughput_plot")

deidentify_batch = define_asset_job(
    "deidentify_batch",
    selection=BATCH_SELECTION,
    partitions_def=landing_batches,
    description="One landing batch: bronze -> metadata -> silver (headers, pixels) -> leakage gate -> gold.",
)

refresh_metrics = define_asset_job(
    "refresh_metrics",
    selection=AssetSelection.assets("metrics_throughput_plot"),
    description="Re-draws the throughput / quarantine plot from the metrics views.",
)
