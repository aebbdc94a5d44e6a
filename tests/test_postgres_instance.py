"""The PostgreSQL instance profile against a real PostgreSQL server that this module starts.

What is proven: the profile builds an instance whose runs, event logs and schedules live in PostgreSQL
(a real batch is materialized through it and then found by SQL in the server's tables), and its queued
run coordinator holds a warehouse's second batch run back while one is in progress at a limit of one driver (the daemon's dequeue step, on
runs launched for real through the code location).
"""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.controller import create_daemon_grpc_server_registry
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from orchestration.definitions import INGEST_SELECTION
from orchestration.instance import UnknownProfileError, dagster_instance, instance_template
from orchestration.jobs import WAREHOUSE_TAG
from orchestration.partitions import landing_batches
from orchestration.runner import register_folder, run_batch
from tests.conftest import pydicom_file
from tests.infra.postgres import PostgresService
from tests.infra.processes import wait_until
from warehouse.driver_slots import MAX_DRIVERS_ENV
from warehouse.layout import REPO_ROOT, Warehouse

LOCATION = "deidlake"
IN_PROGRESS = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@pytest.fixture(scope="module")
def postgres():
    service = PostgresService()
    try:
        yield service.start()
    finally:
        service.stop()


@pytest.fixture
def pg_warehouse(postgres, tmp_path, monkeypatch) -> Warehouse:
    """A fresh warehouse whose Dagster home uses the postgres profile (credentials from the environment)."""
    for name, value in postgres.profile_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEIDLAKE_DAGSTER_PROFILE", "postgres")
    monkeypatch.setenv("DAGSTER_HOME", "")              # restored after the test
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")
    monkeypatch.setenv(MAX_DRIVERS_ENV, "2")           # the queue's limits, whatever this machine's default
    return Warehouse(tmp_path / "warehouse").create()


@pytest.fixture
def pg_instance(pg_warehouse) -> DagsterInstance:
    with dagster_instance(pg_warehouse) as instance:
        yield instance


def test_default_stays_sqlite_and_unknown_profiles_are_refused(monkeypatch):
    monkeypatch.delenv("DEIDLAKE_DAGSTER_PROFILE", raising=False)
    assert instance_template() == REPO_ROOT / "dagster.yaml"
    assert "sqlite" in instance_template().read_text()
    assert instance_template("postgres").name == "postgres.yaml"
    with pytest.raises(UnknownProfileError, match="postgres"):
        instance_template("no-such-profile")


def test_profile_puts_every_storage_in_postgres_with_a_limited_queue(pg_instance, postgres):
    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    assert isinstance(pg_instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(pg_instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(pg_instance.run_coordinator, QueuedRunCoordinator)
    queue = pg_instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 2                 # DEIDLAKE_MAX_SPARK_DRIVERS, set by `pg_warehouse`
    assert queue.tag_concurrency_limits == [
        {"key": WAREHOUSE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 2}]
    tables = {row[0] for row in postgres.query("select tablename from pg_tables where schemaname = 'public'")}
    assert {"runs", "event_logs", "jobs", "job_ticks", "dynamic_partitions", "bulk_actions"} <= tables
    # The credentials stay in the environment: the instance's stored configuration names the variable.
    stored = pg_instance.get_ref().storage_data.config_dict["postgres_db"]
    assert stored["password"] == {"env": "DEIDLAKE_PG_PASSWORD"}


@pytest.mark.spark
def test_a_batch_materialized_through_the_profile_is_recorded_in_postgres(spark, pg_warehouse, postgres, tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        (folder / name).write_bytes(pydicom_file(name).read_bytes())
    manifest = register_folder(pg_warehouse, folder)

    outcome = run_batch(pg_warehouse, manifest, INGEST_SELECTION)       # the CLI's path: `deidlake ingest`

    assert outcome.success
    assert postgres.query("select status from runs where run_id = %s", (outcome.run_id,)) == [("SUCCESS",)]
    materialized = postgres.query(
        "select asset_key, partition, count(*) from event_logs where run_id = %s "
        "and dagster_event_type = 'ASSET_MATERIALIZATION' group by asset_key, partition", (outcome.run_id,))
    assert {(key, partition) for key, partition, _ in materialized} == {
        ('["bronze_dicom_files"]', manifest.batch_id), ('["bronze_dicom_elements"]', manifest.batch_id),
        ('["dicom_complexity"]', manifest.batch_id)}
    assert (manifest.batch_id,) in postgres.query(
        "select partition from dynamic_partitions where partitions_def_name = %s", (landing_batches.name,))
    # Nothing about the run stayed on the local disk: the SQLite files of the default are not created.
    assert not list(pg_warehouse.dagster_home.rglob("*.db"))


@pytest.fixture
def one_driver_instance(pg_warehouse, monkeypatch) -> DagsterInstance:
    """The profile's instance with room for one Spark driver per warehouse."""
    monkeypatch.setenv(MAX_DRIVERS_ENV, "1")
    with dagster_instance(pg_warehouse) as instance:
        yield instance


@pytest.mark.slow
def test_the_queue_holds_a_warehouses_runs_beyond_its_driver_limit(one_driver_instance, postgres):
    """Two batch runs of one warehouse submitted together with a limit of one driver: the daemon starts
    one and holds the other until the first ends."""
    pg_instance = one_driver_instance
    batches = ["20261101T000000-aaaaaaaa", "20261102T000000-bbbbbbbb"]
    pg_instance.add_dynamic_partitions(landing_batches.name, batches)
    target = ModuleTarget("orchestration.definitions", None, str(REPO_ROOT), LOCATION)
    with create_daemon_grpc_server_registry(pg_instance) as registry, \
            WorkspaceProcessContext(pg_instance, target, grpc_server_registry=registry) as workspace:
        first, second = (_submit_batch_run(pg_instance, workspace, batch) for batch in batches)
        assert _statuses(postgres, first, second) == ["QUEUED", "QUEUED"]

        _dequeue_once(workspace)
        started, held = _statuses(postgres, first, second)
        assert started in {"STARTING", "STARTED"} and held == "QUEUED", "the second batch was not held back"

        _dequeue_once(workspace)                  # a later tick while the first is still in progress
        assert _statuses(postgres, first, second)[1] == "QUEUED"

        _end(pg_instance, first)
        _dequeue_once(workspace)
        assert _statuses(postgres, first, second)[1] in {"STARTING", "STARTED", "CANCELED", "FAILURE"}
        _end(pg_instance, second)


def _submit_batch_run(instance: DagsterInstance, workspace: WorkspaceProcessContext, batch_id: str) -> str:
    """What the UI's "Materialize" does for one partition: a run of deidentify_batch, submitted."""
    request = workspace.create_request_context()
    location = request.get_code_location(LOCATION)
    repository = next(iter(location.get_repositories().values()))
    remote_job = repository.get_full_job("deidentify_batch")
    plan = location.get_execution_plan(remote_job, {}, step_keys_to_execute=None, known_state=None,
                                       instance=instance)
    run = instance.create_run(
        job_name=remote_job.name, run_id=None, run_config={}, resolved_op_selection=None,
        step_keys_to_execute=None, op_selection=None, status=None, root_run_id=None, parent_run_id=None,
        tags={**remote_job.tags, "dagster/partition": batch_id}, job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot, parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
        asset_selection=None, asset_check_selection=None, asset_graph=repository.asset_graph)
    return instance.submit_run(run.run_id, request).run_id


def _dequeue_once(workspace: WorkspaceProcessContext) -> None:
    """One iteration of the daemon's queue loop (what `dagster-daemon` does every few seconds)."""
    with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
        list(daemon.run_iteration(workspace))


def _statuses(postgres, *run_ids: str) -> list[str]:
    found = dict(postgres.query("select run_id, status from runs where run_id = any(%s)", (list(run_ids),)))
    return [found[r] for r in run_ids]


def _end(instance: DagsterInstance, run_id: str) -> None:
    """Terminate a launched run and wait until it is finished (its worker process is gone)."""
    run = instance.get_run_by_id(run_id)
    if run.status not in FINISHED:
        instance.run_launcher.terminate(run_id)
    wait_until(lambda: instance.get_run_by_id(run_id).status in FINISHED, 300, f"run {run_id} to end")
