"""Streaming mode: the landing source, micro-batches as landing batches, Dagster start/stop, and a real kill."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from orchestration.cli import main
from orchestration.resources import PipelineSettings
from orchestration.streaming import (
    ListedFile,
    MicroBatchHandler,
    StreamAlreadyRunning,
    StreamSettings,
    exclusive_checkpoint,
    files_hidden_from_spark,
    is_ignored,
    local_path,
    settle,
    start_query,
    stream_batch_id,
)
from tests.conftest import pydicom_file
from transforms.landing import BatchRegistry
from warehouse import tables
from warehouse.delta_io import read_table
from warehouse.layout import REPO_ROOT, Warehouse

CORPUS = Path(__file__).parent / "data" / "corpus"
RUN_TIMEOUT = 1200          # seconds a stream process may take (a cold run of the graph is minutes here)


# ---------------------------------------------------------------------------------------------- pure parts

def test_batch_ids_are_deterministic_per_micro_batch():
    paths = ["b/2.dcm", "a/1.dcm"]
    assert stream_batch_id(3, paths) == stream_batch_id(3, list(reversed(paths)))    # a replay: same batch
    assert stream_batch_id(3, paths) != stream_batch_id(4, paths)
    assert stream_batch_id(0, paths) != stream_batch_id(0, ["c.dcm"])                # a new checkpoint
    assert stream_batch_id(12, paths).startswith("stream-000012-")


def test_the_stream_follows_the_landing_folder_rule_for_unfinished_files():
    assert not is_ignored("study/1.dcm")
    for name in ("study/1.dcm.part", "x.tmp", ".hidden.dcm", ".sync/1.dcm", "~lock.dcm", "a.crdownload"):
        assert is_ignored(name), name


def test_spark_paths_map_to_local_files():
    assert local_path("file:/data/land/a b/é%41.dcm") == Path("/data/land/a b/é%41.dcm")
    assert local_path("file:///data/land/x.dcm") == Path("/data/land/x.dcm")
    assert local_path("/data/land/x.dcm") == Path("/data/land/x.dcm")


def test_settle_waits_for_a_file_that_is_still_being_written(tmp_path):
    """The writer appends twice while the micro-batch waits; the batch takes the complete file."""
    landing = tmp_path / "landing"
    landing.mkdir()
    growing = landing / "growing.dcm"
    growing.write_bytes(b"a" * 100)
    old = landing / "old.dcm"
    old.write_bytes(b"o" * 10)
    os.utime(old, ns=(10**18, 10**18))
    clock = {"now": growing.stat().st_mtime_ns / 1e9}
    writes = []

    def sleep(seconds: float) -> None:      # time passes; the copy goes on for two more chunks
        clock["now"] += seconds
        if len(writes) < 2:
            with open(growing, "ab") as handle:
                handle.write(b"b" * 100)
            os.utime(growing, ns=(int(clock["now"] * 1e9),) * 2)
            writes.append(seconds)

    listed = [ListedFile("growing.dcm", 100, 0), ListedFile("old.dcm", 10, 0),
              ListedFile("vanished.dcm", 7, 123)]
    files = settle(landing, listed, min_age_seconds=5.0, clock=lambda: clock["now"], sleep=sleep)
    assert [f.relative_path for f in files] == ["growing.dcm", "old.dcm", "vanished.dcm"]
    assert files[0].size_bytes == 300 and len(writes) == 2
    assert files[1].size_bytes == 10 and files[2].size_bytes == 7      # gone: kept, bronze says unreadable


def test_files_spark_never_lists_are_counted(tmp_path):
    (tmp_path / "_staging").mkdir()
    (tmp_path / "_staging" / "a.dcm").write_bytes(b"x")
    (tmp_path / "_b.dcm").write_bytes(b"x")
    (tmp_path / "c.dcm").write_bytes(b"x")
    (tmp_path / ".d.dcm").write_bytes(b"x")          # hidden: ignored by the landing rule anyway
    assert files_hidden_from_spark(tmp_path) == 2


def test_one_stream_per_checkpoint(tmp_path):
    checkpoint = tmp_path / "checkpoints" / "stream" / "x"
    with exclusive_checkpoint(checkpoint):
        with pytest.raises(StreamAlreadyRunning):
            with exclusive_checkpoint(checkpoint):
                pass
    with exclusive_checkpoint(checkpoint):          # released on exit
        pass


# ---------------------------------------------------------------------------------------------- the source

class RecordingHandler(MicroBatchHandler):
    """The real foreachBatch path up to the landing files; records them instead of running the graph."""

    def __init__(self, warehouse, settings):
        super().__init__(warehouse, settings, PipelineSettings(), log=lambda message: None)
        self.seen: list[list[str]] = []

    def process(self, listed, epoch_id):
        self.seen.append([f.relative_path for f in listed])


def _drain(spark, warehouse, settings) -> list[list[str]]:
    handler = RecordingHandler(warehouse, settings)
    query = start_query(spark, settings, settings.checkpoint_dir(warehouse), handler)
    query.awaitTermination()
    assert query.exception() is None
    return handler.seen


@pytest.mark.spark
def test_the_source_lists_new_files_without_reading_them(spark, warehouse, tmp_path):
    landing = tmp_path / "landing"
    (landing / "study one").mkdir(parents=True)
    for name in ("a.dcm", "study one/é b%41.dcm", "c.dcm.part", ".hidden", "_spark_hides_this.dcm"):
        (landing / name).write_bytes(os.urandom(20_000))
    settings = StreamSettings(landing, max_files_per_trigger=1, trigger="available_now")
    # binaryFile refuses to read a file over maxLength: any read of `content` would fail the query.
    spark.conf.set("spark.sql.sources.binaryFile.maxLength", "1000")
    try:
        first = _drain(spark, warehouse, settings)
        assert sorted(p for batch in first for p in batch) == ["a.dcm", "study one/é b%41.dcm"]
        assert max(len(batch) for batch in first) == 1                 # max_files_per_trigger
        # A file copied with its original time, years older than the files already seen, is still new.
        old = landing / "archive" / "2019.dcm"
        old.parent.mkdir()
        old.write_bytes(os.urandom(20_000))
        os.utime(old, (1_500_000_000, 1_500_000_000))
        (landing / "c.dcm.part").rename(landing / "c.dcm")             # a finished copy is renamed
        second = _drain(spark, warehouse, settings)
        assert sorted(p for batch in second for p in batch) == ["archive/2019.dcm", "c.dcm"]
        with pytest.raises(Exception, match="(?i)length"):             # the limit was live
            spark.read.format("binaryFile").load(str(landing / "a.dcm")).select("content").collect()
    finally:
        spark.conf.unset("spark.sql.sources.binaryFile.maxLength")


# ---------------------------------------------------------------------------------------------- Dagster

@pytest.mark.spark
@pytest.mark.slow
def test_streaming_job_starts_and_stops_from_dagster(spark, tmp_path, monkeypatch):
    """Terminating the run (Dagster's interrupt) stops the query after the micro-batch in flight."""
    from dagster import DagsterRunStatus
    from dagster._utils import send_interrupt

    from orchestration.definitions import build_resources, defs
    from orchestration.instance import dagster_instance
    from orchestration.streaming_job import streaming_job

    assert defs.resolve_job_def("streaming_job")
    warehouse = Warehouse(tmp_path / "warehouse").create()
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "notes.txt").write_text("not a DICOM file\n")
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
    registry = BatchRegistry(warehouse.batch_manifests)
    terminated = threading.Event()

    def terminate_when_a_batch_is_in_flight():
        deadline = time.monotonic() + RUN_TIMEOUT
        while not registry.batch_ids() and time.monotonic() < deadline:
            terminated.wait(0.2)
        send_interrupt()                    # what Dagster's run cancellation thread sends
        terminated.set()

    threading.Thread(target=terminate_when_a_batch_is_in_flight, daemon=True).start()
    with dagster_instance(warehouse) as instance:
        result = streaming_job.execute_in_process(
            instance=instance, raise_on_error=False,
            resources=build_resources(str(warehouse.root), landing=str(landing), stop_spark_on_teardown=False),
            run_config={"ops": {"landing_stream": {"config": {"min_age_seconds": 0,
                                                             "trigger_interval_seconds": 1}}}})
        assert terminated.is_set() and not result.success
        assert spark.streams.active == [], "the query outlived its run"
        (batch_id,) = registry.batch_ids()
        batch_runs = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == batch_id]
        assert [r.status for r in batch_runs] == [DagsterRunStatus.SUCCESS], "the batch in flight finished"
    held = read_table(spark, warehouse, tables.QUARANTINE).where(F.col("batch_id") == batch_id)
    assert held.select("reason").collect()[0]["reason"] == "not_dicom"
    with exclusive_checkpoint(StreamSettings(landing).checkpoint_dir(warehouse)):
        pass                                # the lock went with the run


# ---------------------------------------------------------------------------------------------- a real kill

def _start_stream(root: Path, landing: Path, log: Path, *options: str) -> subprocess.Popen:
    env = os.environ | {"DEIDLAKE_MODE": "test", "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g"}
    command = [sys.executable, "-m", "orchestration.cli", *_stream_args(root, landing), *options]
    with open(log, "ab") as out:
        # Its own process group: the kill takes the JVM with it, as a crash of the host would.
        return subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stream_args(root: Path, landing: Path) -> list[str]:
    return ["--warehouse", str(root), "stream", "--landing", str(landing), "--min-age", "0", "--trigger-interval", "0"]


def _wait_for(condition, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    pause = threading.Event()
    while not condition():
        assert process.poll() is None, f"the stream exited before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.spark
@pytest.mark.slow
def test_a_killed_stream_loses_no_file_and_publishes_none_twice(spark, tmp_path, monkeypatch, capsys):
    """A stream process killed inside a micro-batch, then the restart: in this session's warm Spark (a second
    new process would add a cold JVM's minute or two and prove nothing more)."""
    warehouse = Warehouse(tmp_path / "warehouse").create()
    landing, log = tmp_path / "landing", tmp_path / "stream.log"
    landing.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), landing / "ct.dcm")
    (landing / "notes.txt").write_text("not a DICOM file\n")
    archive = warehouse.gold_archive
    commits = StreamSettings(landing).checkpoint_dir(warehouse) / "commits"

    first = _start_stream(warehouse.root, landing, log, "--max-files-per-trigger", "2")
    try:
        _wait_for(lambda: any(archive.rglob("*.dcm")), first, "the first gold file")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert not (commits / "0").exists(), "the kill was meant to land inside the micro-batch"

    # Files keep landing while the stream is down: the content of an earlier file, and a new (bad) one.
    # Nothing new to de-identify keeps the test short; the replayed micro-batch is the one under test.
    shutil.copy(pydicom_file("CT_small.dcm"), landing / "ct_again.dcm")
    (landing / "more_notes.txt").write_text("still not a DICOM file\n")
    monkeypatch.setenv("DAGSTER_HOME", "")
    assert main([*_stream_args(warehouse.root, landing), "--max-files-per-trigger", "10", "--available-now"]) == 0
    assert "(replayed)" in capsys.readouterr().err

    dropped = {_sha256(p) for p in landing.iterdir()}
    run_key = PipelineSettings().run_key()
    gold = read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("run_key") == run_key)
    gold_rows = [r["sha256"] for r in gold.select("sha256").collect()]
    held = {r["sha256"] for r in read_table(spark, warehouse, tables.QUARANTINE)
            .where(F.col("resolved_at").isNull()).select("sha256").collect()}
    assert len(gold_rows) == len(set(gold_rows)), "a content published twice"
    outcomes = {sha: gold_rows.count(sha) + (sha in held) for sha in dropped}
    assert sorted(outcomes.values()) == [1, 1, 1], "a file lost or in two places"
    assert len(list((archive / run_key).rglob("*.dcm"))) == len(gold_rows)
    landed = read_table(spark, warehouse, tables.LANDING_FILES)
    assert landed.count() == 4, "the replayed micro-batch registered its files again"
    assert landed.select("batch_id").distinct().count() == 2
