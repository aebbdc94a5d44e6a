"""Streaming mode: Spark Structured Streaming over the landing folder, one landing batch per micro-batch.

The stream only decides *which* files form the next batch; the work is the batch graph itself
(`orchestration.runner.run_batch`), so streaming and batch runs share one implementation. Spark's file
source lists the landing folder (paths, sizes and times only: the `content` column is pruned, so no byte
is read by Spark), takes at most `max_files_per_trigger` new files per micro-batch, and records in its
checkpoint which files each micro-batch holds before the batch runs. Each micro-batch:

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
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.resources import PipelineSettings
from orchestration.runner import run_batch
from transforms.landing import IGNORED_PREFIXES, IGNORED_SUFFIXES, BatchManifest, BatchRegistry, LandingFile
from warehouse.layout import Warehouse

# The binaryFile source has a fixed schema, but a streaming source must be given it.
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
# Spark's file source skips files older than `maxFileAge` (default 7 days) relative to the newest file it
# has seen: an archive copied with its original times (cp -p, rsync -t) would be skipped silently.
# Nothing in a landing folder is too old to be de-identified.
NO_MAX_FILE_AGE = "3650000d"
# Spark's file listing hides names starting with "_" (its own metadata convention) or "."; see
# `files_hidden_from_spark`.
SPARK_HIDDEN_PREFIXES = ("_", ".")
STREAM_SOURCE = "stream"
# A run that fails is tried once more before the stream stops: a concurrent writer to the same Delta
# table (a UI run of another batch) fails a MERGE that succeeds when repeated.
RUN_ATTEMPTS = 2
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
    """How the landing folder is watched (defaults suit a small deployment; see docs/operations.md)."""

    landing: Path
    max_files_per_trigger: int = 16
    trigger_interval_seconds: float = 10.0
    trigger: str = "continuous"              # continuous | available_now (all there, then exit) | once
    min_age_seconds: float = 5.0             # a younger file may still be being written: wait for it
    output: Path | None = None               # also copy each batch's published files here
    checkpoint: Path | None = None           # default: <warehouse>/_checkpoints/stream/<landing digest>

    def __post_init__(self) -> None:
        object.__setattr__(self, "landing", Path(self.landing).absolute())
        if self.trigger not in ("continuous", "available_now", "once"):
            raise ValueError(f"unknown trigger {self.trigger!r}")
        if self.max_files_per_trigger < 1:
            raise ValueError("max_files_per_trigger must be at least 1")
        if self.trigger_interval_seconds < 0 or self.min_age_seconds < 0:
            raise ValueError("intervals and ages cannot be negative")

    def checkpoint_dir(self, warehouse: Warehouse) -> Path:
        """One checkpoint per landing folder, named by a digest (folder names may carry PHI)."""
        if self.checkpoint:
            return Path(self.checkpoint)
        digest = hashlib.sha256(str(self.landing.resolve()).encode()).hexdigest()[:16]
        return warehouse.checkpoints / STREAM_SOURCE / digest


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


# ---------------------------------------------------------------------------------------------- files

def local_path(spark_path: str) -> Path:
    """The local file behind a path of Spark's file source (`file:/abs/path`, not percent-encoded)."""
    for prefix in ("file://", "file:"):
        if spark_path.startswith(prefix):
            return Path(spark_path[len(prefix):])
    return Path(spark_path)


def is_ignored(relative_path: str) -> bool:
    """The landing folder's rule (`transforms.landing`): hidden, partial or temporary files wait."""
    parts = relative_path.split("/")
    return (any(part.startswith(IGNORED_PREFIXES) for part in parts)
            or parts[-1].endswith(IGNORED_SUFFIXES))


def stream_batch_id(epoch_id: int, relative_paths: list[str]) -> str:
    """Deterministic per micro-batch: a replay registers the same batch; a new checkpoint cannot collide."""
    digest = hashlib.sha256("\n".join(sorted(relative_paths)).encode()).hexdigest()[:8]
    return f"{STREAM_SOURCE}-{epoch_id:06d}-{digest}"


@dataclass(frozen=True)
class ListedFile:
    """A file as Spark's source listed it: its size and time are the fallback if it vanishes."""

    relative_path: str
    size_bytes: int
    mtime_ns: int


def settle(landing: Path, listed: list[ListedFile], min_age_seconds: float,
           clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
           ) -> list[LandingFile]:
    """Wait until every file is `min_age_seconds` old, then describe it as it is now.

    Spark lists a file as soon as it appears. A file still being copied would be ingested truncated (and
    rejected), and its complete version would never be listed again (same path). So a micro-batch waits
    for its youngest files; a writer that keeps appending keeps moving its time forward and is waited on
    again. Writers that copy to `name.part` and rename need no wait. A file deleted after it was listed
    is kept with its listed size: bronze records it as unreadable rather than losing track of it.
    """
    pending = {f.relative_path: f for f in listed}
    settled: dict[str, LandingFile] = {}
    while pending:
        waits = []
        for relative, item in list(pending.items()):
            try:
                stat = (landing / relative).stat()
            except OSError:              # gone or unreadable: bronze says so, the file is not lost
                settled[relative] = LandingFile(relative, item.size_bytes, item.mtime_ns)
                del pending[relative]
                continue
            age = clock() - stat.st_mtime_ns / 1e9
            if age >= min_age_seconds:
                settled[relative] = LandingFile(relative, stat.st_size, stat.st_mtime_ns)
                del pending[relative]
            else:
                waits.append(min_age_seconds - age)
        if waits:
            sleep(max(waits))
    return [settled[f.relative_path] for f in listed]


def files_hidden_from_spark(landing: Path) -> int:
    """How many landing files Spark's listing will never show (names starting with "_")."""
    hidden = 0
    for dirpath, dirnames, filenames in os.walk(landing):
        relative_dir = Path(dirpath).relative_to(landing)
        if any(part.startswith(SPARK_HIDDEN_PREFIXES) for part in relative_dir.parts):
            hidden += sum(1 for name in filenames if not is_ignored(name))
            continue
        hidden += sum(1 for name in filenames if name.startswith("_"))
    return hidden


# ---------------------------------------------------------------------------------------------- micro-batches

class MicroBatchHandler:
    """The `foreachBatch` function: one micro-batch -> one landing batch -> one run of the graph."""

    def __init__(self, warehouse: Warehouse, settings: StreamSettings, pipeline: PipelineSettings, log: Log):
        self.warehouse = warehouse
        self.settings = settings
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
            self.process(self.listed_files(micro_batch.collect()), epoch_id)
            self.last_epoch = epoch_id
        finally:
            self.in_flight.clear()

    def listed_files(self, rows) -> list[ListedFile]:
        files = []
        for row in rows:
            relative = os.path.relpath(local_path(row["path"]), self.settings.landing)
            if relative.startswith("..") or is_ignored(relative):
                continue
            mtime_ns = int(row["modificationTime"].timestamp() * 1e9) if row["modificationTime"] else 0
            files.append(ListedFile(Path(relative).as_posix(), int(row["length"] or 0), mtime_ns))
        return sorted(files, key=lambda f: f.relative_path)

    def process(self, listed: list[ListedFile], epoch_id: int) -> None:
        if not listed:
            return                       # only ignored files: nothing to register, commit the micro-batch
        started = time.monotonic()
        manifest, replayed = self.manifest_for(epoch_id, listed)
        outcome = self.run(manifest)
        if not outcome.success:
            raise StreamBatchFailed(manifest.batch_id, outcome.run_id)
        self.export(manifest)
        self.report.batches.append(manifest.batch_id)
        self.report.files += len(manifest.files)
        self.report.replayed += int(replayed)
        self.log(f"micro-batch {epoch_id}: batch {manifest.batch_id}, {len(manifest.files)} files"
                 f"{' (replayed)' if replayed else ''}, run {outcome.run_id} succeeded in "
                 f"{time.monotonic() - started:.1f} s")

    def manifest_for(self, epoch_id: int, listed: list[ListedFile]) -> tuple[BatchManifest, bool]:
        """The micro-batch's manifest: the one a killed attempt wrote, else a new one of settled files."""
        batch_id = stream_batch_id(epoch_id, [f.relative_path for f in listed])
        try:
            earlier = self.registry.read(batch_id)
        except KeyError:
            files = settle(self.settings.landing, listed, self.settings.min_age_seconds)
            return self.registry.register(self.settings.landing, files, batch_id), False
        # Re-register the same files: heals a crash between the manifest and the registry index.
        return self.registry.register(earlier.landing_root, list(earlier.files), batch_id), True

    def run(self, manifest: BatchManifest):
        for attempt in range(1, RUN_ATTEMPTS + 1):
            outcome = run_batch(self.warehouse, manifest, pipeline=self.pipeline)
            if outcome.success or attempt == RUN_ATTEMPTS:
                return outcome
            self.log(f"run {outcome.run_id} of batch {manifest.batch_id} failed: trying again")

    def export(self, manifest: BatchManifest) -> None:
        if self.settings.output is None:
            return
        from pyspark.sql import SparkSession

        from orchestration.export import export_gold

        export_gold(SparkSession.getActiveSession(), self.warehouse, manifest.batch_id,
                    self.pipeline.run_key(), Path(self.settings.output))


# ---------------------------------------------------------------------------------------------- the query

def landing_source(spark, settings: StreamSettings):
    """New landing files, listed by Spark's file source: path, size and time; `content` is never read."""
    return (spark.readStream.format("binaryFile").schema(BINARY_FILE_SCHEMA)
            .option("recursiveFileLookup", "true")
            .option("maxFilesPerTrigger", settings.max_files_per_trigger)
            .option("maxFileAge", NO_MAX_FILE_AGE)
            .load(str(settings.landing))
            .select("path", "length", "modificationTime"))


def start_query(spark, settings: StreamSettings, checkpoint: Path, handler: MicroBatchHandler):
    writer = (landing_source(spark, settings).writeStream.queryName(f"deidlake-{checkpoint.name}")
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
        _warn_hidden_files(settings.landing, log)
        _fail_orphaned_runs(warehouse, log)
        query = start_query(spark, settings, checkpoint, handler)
        log(f"streaming {settings.landing.name or settings.landing} "
            f"(checkpoint {checkpoint.name}, trigger {settings.trigger})")
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


def _warn_hidden_files(landing: Path, log: Log) -> None:
    hidden = files_hidden_from_spark(landing) if landing.is_dir() else 0
    if hidden:
        log(f"warning: {hidden} landing files have a name or folder starting with '_', which Spark's file "
            "source never lists; rename them or ingest them with `deidlake run`")


def _fail_orphaned_runs(warehouse: Warehouse, log: Log) -> None:
    """Runs of stream batches left STARTED by a killed stream: we hold the lock, so nobody runs them."""
    from dagster import DagsterRunStatus, RunsFilter

    from orchestration.instance import dagster_instance

    instance = dagster_instance(warehouse)
    started = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={"deidlake/source": "cli"}))
    for run in started:
        if str(run.tags.get("dagster/partition", "")).startswith(f"{STREAM_SOURCE}-"):
            instance.report_run_failed(run, "the stream process running it was killed; replayed at restart")
            log(f"marked run {run.run_id} of batch {run.tags['dagster/partition']} failed (killed stream)")


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else "stream failed"

