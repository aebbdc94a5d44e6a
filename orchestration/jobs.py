"""Jobs: the whole batch graph, per landing batch."""

import hashlib

from dagster import AssetSelection, define_asset_job

from orchestration.partitions import landing_batches
from warehouse.layout import Warehouse

WAREHOUSE_TAG = "deidlake/warehouse"


def warehouse_tag(root: str | None = None) -> str:
    """The warehouse a run writes, as a tag value: a digest of its root (paths may name a site)."""
    return hashlib.sha256(str(Warehouse.resolve(root).root).encode()).hexdigest()[:12]


# Everything partitioned by landing batch (the metrics plot spans all runs and is not).
BATCH_SELECTION = AssetSelection.all() - AssetSelection.assets("metrics_throughput_plot")

deidentify_batch = define_asset_job(
    "deidentify_batch",
    selection=BATCH_SELECTION,
    partitions_def=landing_batches,
    # The instance's run queue limits concurrent runs per value of this tag (dagster.yaml).
    tags={WAREHOUSE_TAG: warehouse_tag()},
    description="One landing batch: bronze -> metadata -> silver (headers, pixels) -> leakage gate -> gold.",
)

refresh_metrics = define_asset_job(
    "refresh_metrics",
    selection=AssetSelection.assets("metrics_throughput_plot"),
    description="Re-draws the throughput / quarantine plot from the metrics views.",
)
