"""The `deidlake` command: ingest, sql, run and argument errors, on a real warehouse."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orchestration.cli import main
from tests.conftest import MIXED_EXPECTED


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")          # the CLI points it at the warehouse; restored after
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")


@pytest.mark.spark
def test_ingest_then_sql(spark, tmp_path, mixed_folder, cli_env, capsys):
    root = str(tmp_path / "wh")
    assert main(["ingest", str(mixed_folder), "--warehouse", root]) == 0
    printed = capsys.readouterr().out
    assert f"landing files      {len(MIXED_EXPECTED)}" in printed
    assert "rejected at ingest 6" in printed

    query = "select modality, count(*) as n from metrics.dicom_complexity group by modality order by modality"
    assert main(["sql", query, "--format", "json", "--warehouse", root]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["n"] for r in rows) == sum(1 for v in MIXED_EXPECTED.values() if v == "ok") - 1
    assert {"CT", "MR", "SR"} <= {r["modality"] for r in rows}

    assert main(["sql", "select reason, files from metrics.quarantine_by_reason order by reason",
                 "--format", "csv", "--warehouse", root]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "reason,files"

    assert main(["sql", "select count(*) from bronze.dicom_files", "--warehouse", root]) == 2
    assert "identified" in capsys.readouterr().err
    assert main(["sql", "select count(*) as n from bronze.dicom_files", "--allow-identified",
                 "--format", "json", "--warehouse", root]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": len(MIXED_EXPECTED) - 1}]

    assert main(["sql", "select * from metrics.no_such_table", "--warehouse", root]) == 1
    assert "TABLE_OR_VIEW_NOT_FOUND" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage_errors(tmp_path, cli_env, capsys):
    assert main(["ingest", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "wh")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "--warehouse", str(tmp_path / "wh")]) == 2
    assert "no files" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["run", "--input", str(tmp_path)])                      # --output missing
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["sql", "select 1", "--format", "xml"])
    assert exited.value.code == 2
    assert main([]) == 2


def test_console_script_is_installed():
    completed = subprocess.run([sys.executable, "-m", "orchestration.cli", "--help"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    for command in ("ingest", "run", "sql", "ui", "synth", "score"):
        assert command in completed.stdout
