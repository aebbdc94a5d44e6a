"""`streaming_job`: the landing stream as one long-lived Dagster run, started and stopped from the UI.

Launch it from the UI (Jobs > streaming_job > Launchpad > Launch run); stop it with the run's
"Terminate" button. Dagster delivers the termination as an interruption of the op: the micro-batch in
flight finishes, the query stops before committing anything new, and the run ends as canceled. Each
micro-batch appears as its own run of the asset graph, for its `stream-...` partition.
"""


from dagster import Config, OpExecutionContext, in_process_executor, job, op

from pydantic import Field

from orchestration.resources import PipelineSettings, SparkResource, WarehouseResource
from orchestration.streaming import StreamSettings, run_stream
from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, StartingOffsets


class StreamConfig(Config):
    """What `deidlake stream` takes on its command line."""

    landing: str | None = None               # default: the warehouse resource's landing folder
    max_files_per_trigger: int = 16
    trigger_interval_seconds: float = 10.0
    min_age_seconds: float = 5.0             # wait for files younger than this (may still be copied)
    available_now: bool = False              # process what is there, then end the run
    # Kafka instead of a landing folder (docs/operations.md, "Kafka"): set topic.
    topic: str | None = Field(default=None, description="read DICOM messages from this Kafka topic")
    kafka_bootstrap: str | None = Field(default=None, description="HOST:PORT,... (default: $DEIDLAKE_KAFKA_BOOTSTRAP)")
    results_topic: str | None = Field(default=None, description="one result event per message (default: <topic>.results)")
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1,
                                   description="largest file sent as bytes (larger ones by reference)")
    claim_check_root: str | None = Field(default=None, description="the landing store claim checks name files in")
    starting_offsets: StartingOffsets = Field(default=StartingOffsets.earliest,
                                              description="where a new checkpoint starts reading the topic")

    def kafka_source(self, warehouse):
        """The Kafka source this config names, or None for the landing folder."""
        if not self.topic:
            return None
        from orchestration.kafka_source import KafkaSettings, KafkaSource
        from warehouse.settings import settings

        bootstrap = self.kafka_bootstrap or settings().kafka_bootstrap
        if not bootstrap:
            raise ValueError("a Kafka stream needs kafka_bootstrap (or $DEIDLAKE_KAFKA_BOOTSTRAP)")
        return KafkaSource(KafkaSettings(
            bootstrap=bootstrap, topic=self.topic, results_topic=self.results_topic,
            max_messages_per_trigger=self.max_files_per_trigger, max_message_bytes=self.max_message_bytes,
            claim_check_root=self.claim_check_root, starting_offsets=self.starting_offsets), warehouse)


@op(description="Spark Structured Streaming over the landing folder (or a Kafka topic): each micro-batch "
                "becomes a landing batch and runs the asset graph. Runs until the run is terminated.")
def landing_stream(context: OpExecutionContext, config: StreamConfig, spark: SparkResource,
                   warehouse: WarehouseResource, pipeline: PipelineSettings) -> None:
    source = config.kafka_source(warehouse.resolve())
    settings = StreamSettings(landing=None if source else config.landing or warehouse.landing_dir, source=source,
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
