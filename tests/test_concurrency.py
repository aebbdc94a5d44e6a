"""Concurrent writers: two real runs of the whole graph at once on one warehouse, and the commit retry.

Two `deidlake run`s: one in a new process (its own Spark driver, as in real use), and one started in this
test session's warm Spark as soon as the other's run has started, so that they overlap for the whole
graph (the new process is the slower, cold one). Their batches share one content, so they also race to
insert the same new rows. Before runs were scoped and retried, one of the two failed with Delta's
ConcurrentAppendException (issue 27). Two runs in two threads of one process are not a real case:
Dagster's SQLite storage deadlocks there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from delta.exceptions import ConcurrentAppendException
from pyspark.sql import functions as F

from orchestration.resources import PipelineSettings
from orchestration.runner import register_folder, run_batch
from tests.conftest import pydicom_file
from transforms.keyring import MODE_ENV, SECRET_ENV, Keyring
from warehouse import tables
from warehouse.delta_io import CONCURRENT_COMMIT_ERRORS, CommitRetry, merge_condition, read_table
from warehouse.layout import REPO_ROOT

CORPUS = Path(__file__).parent / "data" / "corpus"
RUN_TIMEOUT = 1800


def _wait_for_a_started_run(warehouse, process: subprocess.Popen, log: Path) -> None:
    """Until the other process's Dagster run has started (its JVM is up and its graph begins)."""
    from dagster import DagsterRunStatus, RunsFilter

    from orchestration.instance import dagster_instance

    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the other run never started"
        if (warehouse.dagster_home / "dagster.yaml").exists():
            instance = dagster_instance(warehouse)
            if instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]), limit=1):
                return
        time.sleep(0.5)


class LostRace(ConcurrentAppendException):
    """Delta's own exception class, raised without a JVM (its constructor reads the JVM's stack trace)."""

    def __init__(self) -> None:
        Exception.__init__(self, "another writer won")


def test_a_lost_commit_is_retried_with_backoff_and_then_given_up():
    attempts, pauses = [], []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise LostRace()
        return "committed"

    retry = CommitRetry(attempts=4, first_delay_seconds=1.0)
    assert retry.run(flaky, "test", sleep=pauses.append) == "committed"
    assert len(attempts) == 3 and len(pauses) == 2 and all(0 <= p <= 2.0 for p in pauses)

    def always_loses():
        raise LostRace()

    with pytest.raises(CONCURRENT_COMMIT_ERRORS):
        CommitRetry(attempts=2).run(always_loses, "test", sleep=pauses.append)

    def real_error():
        raise ValueError("not a conflict")

    with pytest.raises(ValueError):          # only lost races are retried
        retry.run(real_error, "test", sleep=pauses.append)


def test_a_batch_scoped_merge_names_its_partition_first():
    assert merge_condition(tables.LANDING_FILES, {"batch_id": "b-1"}) == \
        "t.`batch_id` = 'b-1' AND t.`batch_id` = s.`batch_id` AND t.`relative_path` = s.`relative_path`"
    with pytest.raises(ValueError, match="not partitioned"):
        merge_condition(tables.DICOM_FILES, {"batch_id": "b-1"})


@pytest.mark.spark
@pytest.mark.slow
def test_two_runs_at_once_on_one_warehouse_both_succeed_and_publish_each_content_once(
        spark, warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", str(warehouse.root))
    shared = pydicom_file("CT_small.dcm")                       # in both batches: a race for the same rows
    folders = []
    for name, own in (("a", CORPUS / "004_MR_deflated.dcm"), ("b", pydicom_file("MR_small_RLE.dcm"))):
        folder = tmp_path / f"landing-{name}"
        folder.mkdir()
        shutil.copy(shared, folder / "ct.dcm")
        shutil.copy(own, folder / own.name)
        (folder / "notes.txt").write_text(f"not a DICOM file ({name})\n")    # a quarantine row per batch
        folders.append(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DEIDLAKE_"))}
    # The secret this session's Python workers started with: both runs must key the shared content alike.
    env |= {SECRET_ENV: Keyring.from_env().secret.decode(), MODE_ENV: os.environ.get(MODE_ENV, "production"),
            "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g", "SPARK_LOCAL_IP": "127.0.0.1"}
    log = tmp_path / "other-run.log"
    command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(warehouse.root), "run",
               "--input", str(folders[0]), "--output", str(tmp_path / "out-a"), "--json"]
    with open(log, "wb") as out:
        other = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_a_started_run(warehouse, other, log)
        mine = run_batch(warehouse, register_folder(warehouse, folders[1]))
        assert other.wait(timeout=RUN_TIMEOUT) == 0, log.read_text()[-3000:]
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert mine.success
    assert json.loads(log.read_text().strip().splitlines()[-1])["success"]

    run_key = PipelineSettings().run_key()
    gold = [r["sha256"] for r in read_table(spark, warehouse, tables.GOLD_MANIFEST)
            .where(F.col("run_key") == run_key).select("sha256").collect()]
    held = {r["sha256"] for r in read_table(spark, warehouse, tables.QUARANTINE)
            .where(F.col("resolved_at").isNull()).select("sha256").collect()}
    contents = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for f in folders for p in f.iterdir()}
    assert len(contents) == 5
    assert len(gold) == len(set(gold)), "a content published twice"
    places = {name: gold.count(sha) + (sha in held) for sha, name in contents.items()}
    assert set(places.values()) == {1}, "a file lost or in two places"
    assert {contents[sha] for sha in held} == {"notes.txt"}          # the two text files, nothing else
    for spec in (tables.DICOM_FILES, tables.DICOM_COMPLEXITY, tables.DEID_HEADERS, tables.DEID_FILES):
        rows = read_table(spark, warehouse, spec)
        assert rows.count() == rows.select(*spec.keys).distinct().count(), f"{spec.qualified_name} duplicated"
    landed = read_table(spark, warehouse, tables.LANDING_FILES)
    assert landed.count() == 6 and landed.select("batch_id").distinct().count() == 2
