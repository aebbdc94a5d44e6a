"""Streaming mode: Spark Structured Streaming over a source of landing files, one landing batch per micro-batch.

The stream only decides *which* inputs form the next batch; the work is the batch graph itself
(`orchestration.runner.run_batch`), run in this process and Spark session: a long-lived stream keeps its
JVM, its Python workers (with their OCR engines and detection model), the Great Expectations context
and the Delta logs it has read warm, so a micro-batch pays the graph's per-run cost, not a new job's.
Where the inputs come from is a `StreamSource` (`orchestration.stream_sources`): the landing folder
(Spark's file source: paths, sizes and times only, no byte read by Spark) or, later, a message source.
The source takes at most `max_files_per_trigger` new inputs per micro-batch, and Spark records in its
checkpoint which inputs each micro-batch holds before the batch runs. Each micro-batch:

1. becomes a landing batch manifest whose id is derived from the micro-batch (epoch and paths), so a
   micro-batch replayed after a crash re-registers the *same* batch;
2. runs the whole asset graph for that partition, in this process and Spark session;
3. returns only when the run succeeded, so Spark commits the micro-batch only after its files are in gold
   or quarantine. A failed run stops the stream (the micro-batch is replayed at the next start).

Killed at any point, the stream replays the uncommitted micro-batch at its next start: contents are keyed
on SHA-256 and every write is a MERGE, so the replay adds no row and publishes nothing twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.resources import PipelineSettings
from orchestration.runner import SOURCE_TAG, BatchRun, run_batch
from orchestration.stream_sources import (  # noqa: F401 - the folder source's helpers, re-exported
    FolderSource,
    ListedFile,
    ListedItem,
    MicroBatchDone,
    StreamSource,
    files_hidden_from_spark,
    is_ignored,
    local_path,
    settle,
)
from transforms.landing import BatchManifest, BatchRegistry
from warehouse.layout import Warehouse

STREAM_SOURCE = "stream"          # the prefix of every stream batch id (sorted after dated batch ids)
STREAM_TAG = "deidlake/stream"    # on each run of a stream: its checkpoint's name
Log = Callable[[str], None]


class StreamBatchFailed(RuntimeError):
    """The graph run of a micro-batch failed: the stream stops so the micro-batch is replayed, not skipped."""

    def __init__(self, batch_id: str, run_id: str):
        super().__init__(f"the run {run_id} of stream batch {batch_id} failed; the micro-batch is replayed "
                         "at the next start")
        self.batch_id = batch_id
        self.run_id = run_id


class StreamStopping(RuntimeError):
    """A micro-batch that started after a stop was asked for: left, uncommitted, for the next start."""


class StreamAlreadyRunning(RuntimeError):
    """Two streams on one checkpoint would both commit micro-batches: only one may run."""


@dataclass(frozen=True)
class StreamSettings:
    """How the stream triggers (defaults suit a small deployment; see docs/operations.md), and its source.

    Without `source`, the source is the landing folder `landing` (`FolderSource`, with
    `max_files_per_trigger` and `min_age_seconds`); another source brings its own limits.
    """

    landing: Path | None = None
    max_files_per_trigger: int = 16
    trigger_interval_seconds: float = 10.0
    trigger: str = "continuous"              # continuous | available_now (all there, then exit) | once
    min_age_seconds: float = 5.0             # a younger file may still be being written: wait for it
    output: Path | None = None               # also copy each batch's published files here
    checkpoint: Path | None = None           # default: <warehouse>/_checkpoints/<source's checkpoint name>
    source: StreamSource | None = None

    def __post_init__(self) -> None:
        if self.landing is not None:
            object.__setattr__(self, "landing", Path(self.landing).absolute())
        if self.trigger not in ("continuous", "available_now", "once"):
            raise ValueError(f"unknown trigger {self.trigger!r}")
        if self.max_files_per_trigger < 1:
            raise ValueError("max_files_per_trigger must be at least 1")
        if self.trigger_interval_seconds < 0 or self.min_age_seconds < 0:
            raise ValueError("intervals and ages cannot be negative")
        if self.source is None and self.landing is None:
            raise ValueError("a stream needs a source or a landing folder")

    def stream_source(self) -> StreamSource:
        return self.source or FolderSource(self.landing, self.max_files_per_trigger, self.min_age_seconds)

    def checkpoint_dir(self, warehouse: Warehouse) -> Path:
        """One checkpoint per source, named by a digest (folder names may carry PHI)."""
        if self.checkpoint:
            return Path(self.checkpoint)
        return warehouse.checkpoints / self.stream_source().checkpoint_name


@dataclass
class StreamReport:
    """What this process's stream did (PHI-free: batch ids and counts)."""

    batches: list[str] = field(default_factory=list)
    files: int = 0
    replayed: int = 0
    seconds: float = 0.0
    stopped_by: str = ""                     # finished | interrupted | failed
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None


# ---------------------------------------------------------------------------------------------- micro-batches

def stream_batch_id(epoch_id: int, relative_paths: list[str]) -> str:
    """Deterministic per micro-batch: a replay registers the same batch; a new checkpoint cannot collide."""
    digest = hashlib.sha256("\n".join(sorted(relative_paths)).encode()).hexdigest()[:8]
    return f"{STREAM_SOURCE}-{epoch_id:06d}-{digest}"


class MicroBatchHandler:
    """The `foreachBatch` function: one micro-batch -> one landing batch -> one run of the graph."""

    def __init__(self, warehouse: Warehouse, settings: StreamSettings, pipeline: PipelineSettings, log: Log,
                 run: Callable[..., BatchRun] = run_batch):
        self.warehouse = warehouse
        self.settings = settings
        self.source = settings.stream_source()
        self.stream_id = settings.checkpoint_dir(warehouse).name     # tags this stream's runs
        self.run_graph = run
        self.pipeline = pipeline
        self.log = log
        self.registry = BatchRegistry(warehouse.batch_manifests)
        self.report = StreamReport()
        self.in_flight = threading.Event()
        self.stopping = threading.Event()
        self.last_epoch: int | None = None

    def __call__(self, micro_batch, epoch_id: int) -> None:
        if self.stopping.is_set():
            # Returning would let Spark commit files nobody processed: fail the micro-batch instead.
            raise StreamStopping(f"micro-batch {epoch_id} is left for the next start")
        self.in_flight.set()
        try:
            self.process(self.source.listed(self.source.collect(micro_batch)), epoch_id)
            self.last_epoch = epoch_id
        finally:
            self.in_flight.clear()

    def process(self, listed: list[ListedItem], epoch_id: int) -> None:
        if not listed:
            return                       # only ignored files: nothing to register, commit the micro-batch
        started = time.monotonic()
        manifest, replayed = self.manifest_for(epoch_id, listed)
        outcome = self.run(manifest)
        if not outcome.success:
            raise StreamBatchFailed(manifest.batch_id, outcome.run_id)
        self.export(manifest)
        self.source.after_run(MicroBatchDone(epoch_id, manifest, outcome.run_id, self.warehouse, self.pipeline,
                                             self.log))
        self.report.batches.append(manifest.batch_id)
        self.report.files += len(manifest.files)
        self.report.replayed += int(replayed)
        self.log(f"micro-batch {epoch_id}: batch {manifest.batch_id}, {len(manifest.files)} files"
                 f"{' (replayed)' if replayed else ''}, run {outcome.run_id} succeeded in "
                 f"{time.monotonic() - started:.1f} s")

    def manifest_for(self, epoch_id: int, listed: list[ListedItem]) -> tuple[BatchManifest, bool]:
        """The micro-batch's manifest: the one a killed attempt wrote, else a new one of landed files."""
        batch_id = stream_batch_id(epoch_id, [f.relative_path for f in listed])
        try:
            earlier = self.registry.read(batch_id)
        except KeyError:
            landed = self.source.land(listed)
            return self.registry.register(landed.root, landed.files, batch_id), False
        # Re-register the same files: heals a crash between the manifest and the registry index.
        return self.registry.register(earlier.landing_root, list(earlier.files), batch_id), True

    def run(self, manifest: BatchManifest) -> BatchRun:
        """One run of the graph; a lost Delta race inside it is retried where it happened (`delta_io`)."""
        if not manifest.files:          # the source turned every input away (a Kafka message rejected at intake)
            return BatchRun(manifest, "", True)
        return self.run_graph(self.warehouse, manifest, pipeline=self.pipeline,
                              tags={SOURCE_TAG: STREAM_SOURCE, STREAM_TAG: self.stream_id})

    def export(self, manifest: BatchManifest) -> None:
        if self.settings.output is None:
            return
        from pyspark.sql import SparkSession

        from orchestration.export import export_gold

        export_gold(SparkSession.getActiveSession(), self.warehouse, manifest.batch_id,
                    self.pipeline.run_key(), Path(self.settings.output))


# ---------------------------------------------------------------------------------------------- the query

def start_query(spark, settings: StreamSettings, checkpoint: Path, handler: MicroBatchHandler):
    writer = (handler.source.read_stream(spark).writeStream.queryName(f"deidlake-{checkpoint.name}")
              .foreachBatch(handler).option("checkpointLocation", str(checkpoint)))
    if settings.trigger == "available_now":
        writer = writer.trigger(availableNow=True)
    elif settings.trigger == "once":
        writer = writer.trigger(once=True)
    else:
        writer = writer.trigger(processingTime=f"{settings.trigger_interval_seconds} seconds")
    return writer.start()


@contextmanager
def exclusive_checkpoint(checkpoint: Path) -> Iterator[None]:
    """An OS lock beside the checkpoint, released by the kernel even when the process is killed."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    with open(checkpoint.with_name(checkpoint.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StreamAlreadyRunning(f"another stream holds the checkpoint {checkpoint}") from None
        yield


@contextmanager
def interrupts_stop_stream() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt in the main thread, and nothing else.

    PySpark's own SIGINT handler cancels every Spark job first, which would fail the micro-batch in
    flight instead of letting it finish (safe, since it is replayed, but wasted work).
    """
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_stream(spark, warehouse: Warehouse, settings: StreamSettings, pipeline: PipelineSettings,
               log: Log = print, poll_seconds: float = 1.0) -> StreamReport:
    """Run the stream until it finishes (available_now/once), fails, or is interrupted.

    An interruption (Ctrl-C, SIGTERM mapped to KeyboardInterrupt, Dagster's run termination) lets the
    micro-batch in flight finish and commit, then stops the query, and is raised again; a second
    interruption stops at once (the micro-batch is then replayed at the next start). The main thread
    waits in Python, not inside a JVM call, so an interruption never cuts a Py4J call in half.
    """
    checkpoint = settings.checkpoint_dir(warehouse)
    handler = MicroBatchHandler(warehouse, settings, pipeline, log)
    started = time.monotonic()
    with exclusive_checkpoint(checkpoint):
        handler.source.before_start(log)
        _fail_orphaned_runs(warehouse, handler.stream_id, log)
        query = start_query(spark, settings, checkpoint, handler)
        log(f"streaming {handler.source.describe()} (checkpoint {checkpoint.name}, trigger {settings.trigger})")
        try:
            _wait(query, poll_seconds)
        except BaseException:
            handler.report.stopped_by = "interrupted"
            try:
                _finish_micro_batch(handler, checkpoint, log, poll_seconds)
            finally:
                query.stop()        # cancels the stream's Spark jobs: only once nothing is in flight
            raise
        finally:
            handler.report.seconds = time.monotonic() - started
    error = query.exception()
    handler.report.stopped_by = "failed" if error else "finished"
    handler.report.error = _first_line(str(error)) if error else None
    return handler.report


def _wait(query, poll_seconds: float) -> None:
    idle = threading.Event()
    while query.isActive:
        idle.wait(poll_seconds)


def _finish_micro_batch(handler: MicroBatchHandler, checkpoint: Path, log: Log, poll_seconds: float,
                        commit_wait_seconds: float = 60.0) -> None:
    """Let the micro-batch in flight finish, then give Spark a moment to commit it (saves a replay)."""
    handler.stopping.set()
    pause = threading.Event()
    if handler.in_flight.is_set():
        log("stopping: the micro-batch in flight finishes first (interrupt again to stop at once)")
    while handler.in_flight.is_set():
        pause.wait(poll_seconds)
    deadline = time.monotonic() + commit_wait_seconds
    commit = checkpoint / "commits" / str(handler.last_epoch)
    while handler.last_epoch is not None and not commit.exists() and time.monotonic() < deadline:
        pause.wait(min(poll_seconds, 0.1))
    log("stopping")


def _fail_orphaned_runs(warehouse: Warehouse, stream_id: str, log: Log) -> None:
    """Runs of this stream left STARTED by a killed process: we hold its lock, so nobody runs them (runs of
    other streams, backfills and CLI runs going on meanwhile are left alone)."""
    from dagster import DagsterRunStatus, RunsFilter

    from orchestration.instance import dagster_instance

    instance = dagster_instance(warehouse)
    started = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={STREAM_TAG: stream_id}))
    for run in started:
        if str(run.tags.get("dagster/partition", "")).startswith(f"{STREAM_SOURCE}-"):
            instance.report_run_failed(run, "the stream process running it was killed; replayed at restart")
            log(f"marked run {run.run_id} of batch {run.tags['dagster/partition']} failed (killed stream)")


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else "stream failed"

