"""`streaming_job`: the landing stream as one long-lived Dagster run, started and stopped from the UI.

Launch it from the UI (Jobs > streaming_job > Launchpad > Launch run); stop it with the run's
"Terminate" button. Dagster delivers the termination as an interruption of the op: the micro-batch in
flight finishes, the query stops before committing anything new, and the run ends as canceled. Each
micro-batch appears as its own run of the asset graph, for its `stream-...` partition.
"""


from dagster import Config, OpExecutionContext, in_process_executor, job, op

from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.streaming import StreamSettings, run_stream


class StreamConfig(Config):
    """What `deidlake stream` takes on its command line."""

    landing: str | None = None               # default: the warehouse resource's landing folder
    max_files_per_trigger: int = 16
    trigger_interval_seconds: float = 10.0
    min_age_seconds: float = 5.0             # wait for files younger than this (may still be copied)
    available_now: bool = False              # process what is there, then end the run


@op(description="Spark Structured Streaming over the landing folder: each micro-batch becomes a landing "
                "batch and runs the asset graph. Runs until the run is terminated.")
def landing_stream(context: OpExecutionContext, config: StreamConfig, spark: SparkResource,
                   warehouse: WarehouseResource, pipeline: PipelineSettings) -> None:
    settings = StreamSettings(landing=config.landing or warehouse.landing_dir,
                              max_files_per_trigger=config.max_files_per_trigger,
                              trigger_interval_seconds=config.trigger_interval_seconds,
                              min_age_seconds=config.min_age_seconds,
                              trigger="available_now" if config.available_now else "continuous")
    report = run_stream(spark.spark_session, warehouse.resolve(), settings, pipeline, log=context.log.info)
    context.log.info(f"stream ended ({report.stopped_by}): {len(report.batches)} batches, {report.files} files")
    if not report.success:
        raise RuntimeError(f"the stream failed: {report.error}")


@job(executor_def=in_process_executor, tags={"deidlake/source": "stream"},
     description="The landing stream (one long-lived run; terminate the run to stop it).")
def streaming_job():
    landing_stream()
