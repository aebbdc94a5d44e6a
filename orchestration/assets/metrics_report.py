"""The operations plot: throughput and quarantine rate per run, from the metrics views."""

import matplotlib

matplotlib.use("Agg")                       # no display: render to a file

import matplotlib.pyplot as plt  # noqa: E402
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset  # noqa: E402

from orchestration.resources import SparkResource, WarehouseResource  # noqa: E402
from warehouse.delta_io import register_catalog  # noqa: E402


@asset(group_name="metrics", kinds={"spark"},
       description="PNG of throughput (files/s) and quarantine rate per run, from metrics.throughput_per_run.")
def metrics_throughput_plot(context: AssetExecutionContext, spark: SparkResource,
                            warehouse: WarehouseResource) -> MaterializeResult:
    wh = warehouse.resolve()
    session = spark.spark_session
    register_catalog(session, wh)
    runs = session.sql("SELECT * FROM metrics.throughput_per_run ORDER BY started_at").toPandas()
    path = wh.zone("metrics") / "plots" / "throughput_per_run.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_runs(runs, str(path))
    return MaterializeResult(metadata={"plot": MetadataValue.path(str(path)), "runs": len(runs)})


def plot_runs(runs, path: str) -> None:
    figure, left = plt.subplots(figsize=(8, 3.6), dpi=110)
    labels = [str(ts)[:16] for ts in runs["started_at"]] if len(runs) else []
    positions = range(len(labels))
    left.bar(positions, runs["files_per_second"] if len(runs) else [], color="#4c78a8", label="files/s")
    left.set_ylabel("files per second")
    right = left.twinx()
    right.plot(positions, runs["quarantine_rate"] if len(runs) else [], color="#e45756", marker="o",
               label="quarantine rate")
    right.set_ylabel("quarantine rate")
    right.set_ylim(0, 1)
    left.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=7)
    left.set_title("deidlake runs: throughput and quarantine rate")
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
