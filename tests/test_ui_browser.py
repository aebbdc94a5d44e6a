"""The Dagster UI in a real browser: `dagster dev` on this repo's definitions, driven by headless Chromium.

The deployment is the production one (PostgreSQL storage, queued runs: one landing batch at a time), on
a fresh warehouse with a few small DICOM files in its landing folder. In the browser: the asset graph
(bronze -> silver -> gold), the schedules, the landing sensor switched on and its tick requesting a run
that succeeds with the gold metadata, and a backfill of two batches launched from the job page that
completes with its gold metadata. Screenshots go to tests/artifacts/ (git-ignored).

Every run starts its own Spark JVM (one run per process with the in-process executor), so this module
takes several minutes: three runs of one small file each.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from orchestration.instance import prepare_dagster_home
from tests.conftest import pydicom_file
from tests.infra.dagster_dev import DagsterDev, dagster_env
from tests.infra.postgres import PostgresService
from tests.infra.processes import wait_until
from transforms.landing import BatchRegistry, list_landing_files
from warehouse.layout import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.spark]

ARTIFACTS = Path(__file__).parent / "artifacts"
CORPUS = Path(__file__).parent / "data" / "corpus"
CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that would reach outside: the machine's network is closed.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCATION = "/locations/orchestration.definitions"
RUN_TIMEOUT = 900.0             # one run of one small file: a few minutes; more on a loaded machine
UI_TIMEOUT_MS = 60_000


@dataclass
class Deployment:
    dev: DagsterDev
    warehouse: Warehouse
    backfill_batches: list[str]        # registered beforehand; the sensor finds only the landing's rest


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("ui")
    postgres = PostgresService()
    dev = None
    try:
        server = postgres.start()
        warehouse = Warehouse(root / "warehouse").create()
        batches = [_register_batch(warehouse, "backfill-b", CORPUS / "004_MR_deflated.dcm"),
                   _register_batch(warehouse, "backfill-c", CORPUS / "005_MR_jpegls.dcm")]
        _drop(warehouse, "sensor-a", pydicom_file("CT_small.dcm"))            # left for the sensor
        with pytest.MonkeyPatch.context() as patch:     # prepare_dagster_home sets DAGSTER_HOME here
            patch.setenv("DAGSTER_HOME", "")
            home = prepare_dagster_home(warehouse, "postgres")
        env = dagster_env(warehouse.root, home, {
            **server.profile_env(), "DEIDLAKE_DAGSTER_PROFILE": "postgres",
            "DEIDLAKE_SECRET": secrets.token_hex(16), "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g"})
        dev = DagsterDev(env, root / "dagster-dev.log").start()
        _add_partitions(dev, batches)
        yield Deployment(dev, warehouse, batches)
    finally:
        if dev is not None:
            dev.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, deployment, request):
    """A fresh browser tab on the UI; what it showed when its test failed is kept as a screenshot."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=deployment.dev.url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    failures_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failures_before:
        _screenshot(page, f"failed-{request.node.name}")
    context.close()


def test_asset_graph_shows_bronze_silver_and_gold(page):
    _open(page, "/asset-groups")
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()
    graph = page.locator("svg").filter(has_text="bronze_dicom_files").first
    for asset in ("bronze_dicom_files", "silver_deid_files", "gold_dicom_archive", "gold_review_report"):
        expect_visible(graph.get_by_text(asset, exact=True))
    # The layout follows the dependencies: each zone lies to the right of the one it reads.
    x = {name: graph.get_by_text(name, exact=True).bounding_box()["x"]
         for name in ("bronze_dicom_files", "silver_deid_files", "gold_dicom_archive")}
    assert x["bronze_dicom_files"] < x["silver_deid_files"] < x["gold_dicom_archive"]
    _screenshot(page, "asset-graph")

    _open(page, "/assets")                 # the catalog names every asset with its group
    for asset in ("bronze_dicom_files", "bronze_dicom_elements", "dicom_complexity", "silver_deid_headers",
                  "silver_deid_files", "silver_leakage_report", "gold_dicom_archive", "gold_review_report"):
        expect_visible(page.locator(f'a[href="/assets/{asset}"]').first)      # icon + name: no exact text


def test_schedule_is_listed_and_switched_on(page):
    _open(page, f"{LOCATION}/schedules/daily_reconciliation")
    expect_visible(page.get_by_text("0 2 * * *").or_(page.get_by_text(re.compile("02:00 AM UTC"))).first)
    expect_visible(page.get_by_role("link", name="deidentify_batch").first)
    _switch_on(page)
    expect_visible(page.get_by_role("row", name=re.compile("Next tick")))
    _screenshot(page, "schedule")


def test_sensor_tick_requests_a_run_that_succeeds_with_gold_metadata(page, deployment):
    _open(page, f"{LOCATION}/sensors/landing_sensor")
    expect_visible(page.get_by_text("Sensor has never run"))
    _switch_on(page)
    tick = page.get_by_role("row").filter(has_text="1 run requested").first
    expect_visible(tick, timeout_s=240)
    expect_visible(tick.get_by_text("1 partition created"))
    _screenshot(page, "sensor-tick")
    run_id = tick.get_by_role("link").first.get_attribute("href").rsplit("/", 1)[-1]

    _leave_ui(page)
    status = _wait_for_run(deployment.dev, run_id)
    _open(page, f"/runs/{run_id}")
    expect_visible(page.get_by_text("Success", exact=True).first)
    assert status == "SUCCESS"
    _screenshot(page, "sensor-run")

    sensor_batch = _run_partition(deployment.dev, run_id)
    assert sensor_batch not in deployment.backfill_batches
    metadata = _open_gold_metadata(page, sensor_batch)
    assert metadata["published"] == "1" and metadata["newly_written"] == "1"
    _screenshot(page, "gold-metadata")


def test_backfill_of_two_batches_completes_with_gold_metadata(page, deployment, spark):
    """Each run here starts a Spark driver: the repeat that adds nothing is proven from the CLI instead
    (tests/test_backfill.py runs the same job through the same partitions)."""
    # Missing: the two registered batches (the sensor's batch, if its test ran first, is materialized).
    first = _launch_backfill(page, deployment, "Missing", len(deployment.backfill_batches))
    _leave_ui(page)
    assert _wait_for_backfill(deployment.dev, first) == "COMPLETED_SUCCESS"
    _open(page, f"/runs/b/{first}")
    expect_visible(page.get_by_text("Succeeded", exact=True).or_(page.get_by_text(re.compile("^Completed"))).first)
    _screenshot(page, "backfill")
    published = _gold_manifest_count(spark, deployment.warehouse, deployment.backfill_batches)
    assert published == 2                                # one file per backfilled batch
    for batch in deployment.backfill_batches:
        assert _open_gold_metadata(page, batch)["newly_written"] == "1"


# --- the deployment -------------------------------------------------------------------------------------

def _drop(warehouse: Warehouse, folder: str, source: Path) -> Path:
    target = warehouse.landing / folder
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target / source.name)           # keeps the old mtime: not "still being copied"
    return target


def _register_batch(warehouse: Warehouse, folder: str, source: Path) -> str:
    """A landing batch known beforehand (as `deidlake ingest` would register it); the sensor skips it."""
    _drop(warehouse, folder, source)
    files = [f for f in list_landing_files(warehouse.landing) if f.relative_path.startswith(f"{folder}/")]
    return BatchRegistry(warehouse.batch_manifests).register(warehouse.landing, files).batch_id


def _add_partitions(dev: DagsterDev, batches: list[str]) -> None:
    mutation = """mutation($repo: RepositorySelector!, $key: String!) {
      addDynamicPartition(repositorySelector: $repo, partitionsDefName: "landing_batches", partitionKey: $key) {
        __typename } }"""
    repo = {"repositoryLocationName": "orchestration.definitions", "repositoryName": "__repository__"}
    for batch in batches:
        answer = dev.graphql(mutation, {"repo": repo, "key": batch})["addDynamicPartition"]
        assert answer["__typename"] == "AddDynamicPartitionSuccess", answer


def _wait_for_run(dev: DagsterDev, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    finished = {"SUCCESS", "FAILURE", "CANCELED"}
    status = wait_until(lambda: (s := dev.graphql(query, {"id": run_id})["runOrError"].get("status")) in finished
                        and s, RUN_TIMEOUT, f"run {run_id}", interval=5, alive=dev.process.check_alive)
    return status


def _run_partition(dev: DagsterDev, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"
    tags = {t["key"]: t["value"] for t in dev.graphql(query, {"id": run_id})["runOrError"]["tags"]}
    return tags["dagster/partition"]


def _backfill_ids(dev: DagsterDev) -> list[str]:
    query = "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }"
    return [b["id"] for b in dev.graphql(query)["partitionBackfillsOrError"]["results"]]


def _wait_for_backfill(dev: DagsterDev, backfill_id: str) -> str:
    """The backfill's status once every run it launched has finished."""
    query = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
      ... on PartitionBackfill { status isAssetBackfill runs(limit: 10) { status } } } }"""
    open_states = {"REQUESTED", "CANCELING"}

    def finished():
        backfill = dev.graphql(query, {"id": backfill_id})["partitionBackfillOrError"]
        runs_done = all(r["status"] in {"SUCCESS", "FAILURE", "CANCELED"} for r in backfill["runs"])
        return backfill["status"] not in open_states and runs_done and backfill["status"]

    return wait_until(finished, 2 * RUN_TIMEOUT, f"backfill {backfill_id}", interval=5,
                      alive=dev.process.check_alive)


def _gold_manifest_count(spark, warehouse: Warehouse, batches: list[str]) -> int:
    from warehouse import tables
    from warehouse.delta_io import read_table

    return read_table(spark, warehouse, tables.GOLD_MANIFEST).where(F.col("batch_id").isin(batches)).count()


# --- the browser ----------------------------------------------------------------------------------------

def expect_visible(locator, timeout_s: float = UI_TIMEOUT_MS / 1000) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_visible(timeout=timeout_s * 1000)


def _open(page, path: str) -> None:
    """Go to a page of the UI, past the first-visit community dialog."""
    page.goto(path)
    page.wait_for_load_state("domcontentloaded")
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - the dialog shows once per instance; absent is the normal case
        pass


def _leave_ui(page) -> None:
    """A blank tab while a run works: an open UI page keeps polling the webserver and re-rendering, and
    Chromium alone took ~17 CPU s a minute from the run's two cores."""
    page.goto("about:blank")


def _switch_on(page) -> None:
    """The "Running" switch of a sensor or schedule page."""
    switch = page.get_by_role("row", name=re.compile("^Running")).get_by_role("checkbox")
    page.get_by_role("row", name=re.compile("^Running")).locator("label").first.click()
    from playwright.sync_api import expect

    expect(switch).to_be_checked(timeout=UI_TIMEOUT_MS)


def _launch_backfill(page, deployment: Deployment, selection: str, expected_partitions: int) -> str:
    """Jobs > deidentify_batch > Materialize all > `selection` (All, Missing, ...) > Launch backfill."""
    before = set(_backfill_ids(deployment.dev))
    _open(page, f"{LOCATION}/jobs/deidentify_batch")
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=selection, exact=True).click()
    expect_visible(dialog.get_by_text(f"{expected_partitions} partitions", exact=True))
    dialog.get_by_role("button", name="Launch backfill").click()
    launched = wait_until(lambda: set(_backfill_ids(deployment.dev)) - before, 60, "the backfill to be created")
    [backfill_id] = launched
    return backfill_id


def _open_gold_metadata(page, batch: str) -> dict[str, str]:
    """The latest gold_dicom_archive materialization of a batch, as its Events tab shows it."""
    _open(page, f"/assets/gold_dicom_archive?view=events&partition={batch}")
    table = page.get_by_role("table").filter(has=page.get_by_role("row", name=re.compile("^newly_written"))).first
    expect_visible(table)
    values = {}
    for name in ("published", "newly_written", "run_key"):
        cells = table.get_by_role("row", name=re.compile(f"^{name} ")).first.get_by_role("cell")
        values[name] = cells.nth(1).inner_text().strip()
    return values


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
