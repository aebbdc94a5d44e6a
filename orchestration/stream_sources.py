"""Where a stream's inputs come from: the source interface, and the landing-folder source.

A stream (`orchestration.streaming`) is source-agnostic: Spark Structured Streaming reads micro-batches
from a source, and the stream turns each micro-batch into a landing batch (files in a folder plus a
manifest), runs the batch graph on it, and lets Spark commit the micro-batch only after the run
succeeded. What differs between sources is only:

- `read_stream`: the streaming DataFrame (Spark's own source, with its own offsets in the checkpoint);
- `listed`: the micro-batch's rows as `ListedItem`s (a path relative to the source's landing root, a
  size and a time), which name the micro-batch's batch id; a replay lists the same items;
- `land`: the landing files of those items, once they are complete (a folder waits for copies in
  progress; a message source would write each message's bytes to a file named by its offset);
- `checkpoint_name` and `describe`: where its checkpoint lives (one per source) and a PHI-free label.

Two hooks have defaults: `collect` (the micro-batch's rows; a source may wait there for what it reads from)
and `after_run` (what the source does once the micro-batch's run succeeded, before Spark commits it).

`FolderSource` watches a landing folder (Spark's file source); `orchestration.kafka_source.KafkaSource`
reads a Kafka topic (Spark's Kafka source), lands each message as a file and answers on a results topic.
"""

from __future__ import annotations

import hashlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestration.resources import PipelineSettings
from transforms.landing import IGNORED_PREFIXES, IGNORED_SUFFIXES, BatchManifest, LandingFile
from warehouse.layout import Warehouse

Log = Callable[[str], None]
# The binaryFile source has a fixed schema, but a streaming source must be given it.
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
# Spark's file source skips files older than `maxFileAge` (default 7 days) relative to the newest file it
# has seen: an archive copied with its original times (cp -p, rsync -t) would be skipped silently.
# Nothing in a landing folder is too old to be de-identified.
NO_MAX_FILE_AGE = "3650000d"
# Spark's file listing hides names starting with "_" (its own metadata convention) or "."; see
# `files_hidden_from_spark`.
SPARK_HIDDEN_PREFIXES = ("_", ".")


@dataclass(frozen=True)
class ListedItem:
    """One input of a micro-batch as its source listed it: its size and time are the fallback if it vanishes."""

    relative_path: str
    size_bytes: int
    mtime_ns: int


# The folder source's items are files; the name the rest of the code and the tests know them by.
ListedFile = ListedItem


@dataclass(frozen=True)
class Landed:
    """A micro-batch's inputs as landing files under one root (what a batch manifest records)."""

    root: Path
    files: list[LandingFile]


@dataclass(frozen=True)
class MicroBatchDone:
    """A micro-batch whose graph run succeeded (`run_id` is empty when no input landed: nothing to run)."""

    epoch_id: int
    manifest: BatchManifest
    run_id: str
    warehouse: Warehouse
    pipeline: PipelineSettings
    log: Log


class StreamSource(ABC):
    """What a stream needs from where its inputs come from (see the module doc)."""

    @property
    @abstractmethod
    def checkpoint_name(self) -> str:
        """The checkpoint's path under `<warehouse>/_checkpoints` (digests only: names may carry PHI)."""

    @abstractmethod
    def describe(self) -> str:
        """A PHI-free label for logs."""

    @abstractmethod
    def read_stream(self, spark):
        """The streaming DataFrame of new inputs, at most `max_items_per_trigger` per micro-batch."""

    @abstractmethod
    def listed(self, rows) -> list[ListedItem]:
        """The micro-batch's rows as items, sorted, without those the source ignores."""

    @abstractmethod
    def land(self, items: list[ListedItem]) -> Landed:
        """The items as complete landing files (waits or writes as the source needs)."""

    def before_start(self, log: Log) -> None:
        """Warnings worth a line at start (nothing by default)."""

    def collect(self, micro_batch) -> list:
        """The micro-batch's rows, as `listed` takes them."""
        return micro_batch.collect()

    def after_run(self, done: MicroBatchDone) -> None:
        """Once the micro-batch's run succeeded and before Spark commits it; again for a replayed micro-batch
        (so it must be idempotent). Nothing by default."""


# ---------------------------------------------------------------------------------------------- the folder

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


def settle(landing: Path, listed: list[ListedItem], min_age_seconds: float,
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


@dataclass(frozen=True)
class FolderSource(StreamSource):
    """New files of a landing folder, listed by Spark's file source: path, size and time; no byte read."""

    landing: Path
    max_files_per_trigger: int = 16
    min_age_seconds: float = 5.0             # a younger file may still be being written: wait for it

    def __post_init__(self) -> None:
        object.__setattr__(self, "landing", Path(self.landing).absolute())
        if self.max_files_per_trigger < 1:
            raise ValueError("max_files_per_trigger must be at least 1")
        if self.min_age_seconds < 0:
            raise ValueError("intervals and ages cannot be negative")

    @property
    def checkpoint_name(self) -> str:
        # "stream/<digest>": where the folder stream always kept it, so existing checkpoints still apply.
        digest = hashlib.sha256(str(self.landing.resolve()).encode()).hexdigest()[:16]
        return f"stream/{digest}"

    def describe(self) -> str:
        return f"folder {self.landing.name or self.landing}"

    def read_stream(self, spark):
        return (spark.readStream.format("binaryFile").schema(BINARY_FILE_SCHEMA)
                .option("recursiveFileLookup", "true")
                .option("maxFilesPerTrigger", self.max_files_per_trigger)
                .option("maxFileAge", NO_MAX_FILE_AGE)
                .load(str(self.landing))
                .select("path", "length", "modificationTime"))

    def listed(self, rows) -> list[ListedItem]:
        files = []
        for row in rows:
            relative = os.path.relpath(local_path(row["path"]), self.landing)
            if relative.startswith("..") or is_ignored(relative):
                continue
            mtime_ns = int(row["modificationTime"].timestamp() * 1e9) if row["modificationTime"] else 0
            files.append(ListedItem(Path(relative).as_posix(), int(row["length"] or 0), mtime_ns))
        return sorted(files, key=lambda f: f.relative_path)

    def land(self, items: list[ListedItem]) -> Landed:
        return Landed(self.landing, settle(self.landing, items, self.min_age_seconds))

    def before_start(self, log: Log) -> None:
        hidden = files_hidden_from_spark(self.landing) if self.landing.is_dir() else 0
        if hidden:
            log(f"warning: {hidden} landing files have a name or folder starting with '_', which Spark's file "
                "source never lists; rename them or ingest them with `deidlake run`")
