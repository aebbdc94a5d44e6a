"""`deidlake backfill`: several landing batches from the command line, and a repeat that adds nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from orchestration.backfill import BatchSelectionError, select_batches
from orchestration.cli import main
from orchestration.resources import PipelineSettings
from tests.conftest import pydicom_file
from transforms.landing import BatchRegistry, list_landing_files
from warehouse import tables
from warehouse.delta_io import read_table
from warehouse.layout import Warehouse

CORPUS = Path(__file__).parent / "data" / "corpus"

REGISTERED = ["20261101T000000-aa", "20261102T000000-bb", "20261103T000000-cc", "stream-000000-dd"]


def test_batches_are_chosen_by_id_by_range_or_all():
    assert select_batches(REGISTERED, all_batches=True) == REGISTERED
    assert select_batches(REGISTERED, batches=["stream-000000-dd", "20261101T000000-aa"]) == \
        ["20261101T000000-aa", "stream-000000-dd"]
    assert select_batches(REGISTERED, first="20261102T000000-bb", last="20261103T000000-cc") == REGISTERED[1:3]
    assert select_batches(REGISTERED, first="20261103T000000-cc") == REGISTERED[2:]
    assert select_batches(REGISTERED, last="20261101T000000-aa") == REGISTERED[:1]


@pytest.mark.parametrize("choice", [
    {}, {"all_batches": True, "batches": ["20261101T000000-aa"]}, {"batches": ["nope"]}, {"first": "nope"},
])
def test_a_selection_that_matches_no_registered_batch_is_refused(choice):
    with pytest.raises(BatchSelectionError):
        select_batches(REGISTERED, **choice)


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")


def _register(warehouse: Warehouse, folder, batch_id: str, files: dict) -> None:
    folder.mkdir(parents=True)
    for name, source in files.items():
        if isinstance(source, str):
            (folder / name).write_text(source)
        else:
            shutil.copy(source, folder / name)
    BatchRegistry(warehouse.batch_manifests).register(folder, list_landing_files(folder), batch_id)


def _backfill(root: str, capsys, *selection: str) -> list[dict]:
    assert main(["backfill", *selection, "--json", "--warehouse", root]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.spark
@pytest.mark.slow
def test_backfill_runs_each_batch_and_a_repeat_adds_nothing(spark, tmp_path, cli_env, capsys):
    warehouse = Warehouse(tmp_path / "warehouse").create()
    ct = pydicom_file("CT_small.dcm")
    _register(warehouse, tmp_path / "landing-1", "20261101T000000-one",
              {"ct.dcm": ct, "notes.txt": "not a DICOM file\n"})
    _register(warehouse, tmp_path / "landing-2", "20261102T000000-two",
              {"ct_again.dcm": ct, "mr.dcm": CORPUS / "004_MR_deflated.dcm"})
    root = str(warehouse.root)
    assert main(["backfill", "--list", "--warehouse", root]) == 0
    assert capsys.readouterr().out.split() == ["20261101T000000-one", "2", "files", "20261102T000000-two", "2",
                                               "files"]

    first = _backfill(root, capsys, "--all")
    assert [b["batch_id"] for b in first] == ["20261101T000000-one", "20261102T000000-two"]
    assert all(b["success"] for b in first)
    assert [b["newly_published"] for b in first] == [1, 1]         # the copy of the CT is not published again
    assert [b["quarantined"] for b in first] == [1, 0]              # the text file
    gold = read_table(spark, warehouse, tables.GOLD_MANIFEST).where(
        F.col("run_key") == PipelineSettings().run_key())
    published = {r["sha256"]: r["published_at"] for r in gold.collect()}
    archive = {p: p.stat().st_mtime_ns for p in warehouse.gold_archive.rglob("*.dcm")}
    landed = read_table(spark, warehouse, tables.LANDING_FILES).count()

    # The repeat re-runs one batch, not both (each run costs about a minute even in a warm session): the
    # one whose CT was first published by the other batch.
    again = _backfill(root, capsys, "--from", "20261102T000000-two")
    assert [b["batch_id"] for b in again] == ["20261102T000000-two"]
    assert all(b["success"] for b in again)
    assert [b["newly_published"] for b in again] == [0]
    assert [b["published"] for b in again] == [first[1]["published"]]
    assert {r["sha256"]: r["published_at"] for r in gold.collect()} == published
    assert {p: p.stat().st_mtime_ns for p in warehouse.gold_archive.rglob("*.dcm")} == archive
    assert read_table(spark, warehouse, tables.LANDING_FILES).count() == landed == 4


def test_backfill_refuses_unknown_batches(tmp_path, cli_env, capsys):
    assert main(["backfill", "--batches", "no-such-batch", "--warehouse", str(tmp_path / "wh")]) == 2
    assert "no registered batch" in capsys.readouterr().err
    assert main(["backfill", "--warehouse", str(tmp_path / "wh")]) == 2
