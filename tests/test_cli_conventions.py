"""The CLI's conventions (issue 25.5): --version, COMMAND --help with examples and exit codes, exit codes
as the README lists them, --quiet / --verbose, and bad arguments answered in one line that names the fix."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration import cli
from orchestration.cli import EXIT_FAILED, EXIT_LEAKAGE, EXIT_OK, EXIT_USAGE, main
from orchestration.progress import CLI_RUN

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = ("ingest", "run", "demo", "sql", "stream", "backfill", "ui")


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")
    monkeypatch.setattr(cli.OUTPUT, "verbosity", cli.OUTPUT.verbosity)     # restored after the test
    monkeypatch.setattr(CLI_RUN, "console_log_level", CLI_RUN.console_log_level)


def test_version():
    completed = subprocess.run([sys.executable, "-m", "orchestration.cli", "--version"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert re.fullmatch(r"deidlake \d+\.\d+\.\d+\n", completed.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples_and_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: deidlake {command}" in text and "exit status:" in text
    if command != "demo":
        assert "examples:" in text and text.count(f"deidlake {command} ") >= 2


def test_exit_codes_are_the_readmes():
    readme = README.read_text()
    listed = " ".join(re.search(r"Exit status: (.*?)\. Every input", readme, re.S).group(1).split())
    codes = {int(code): words for code, words in re.findall(r"\b(\d) ([^,]+)", listed)}
    assert codes[EXIT_OK].startswith("all published")
    assert codes[EXIT_LEAKAGE].startswith("something was quarantined for leakage")
    assert codes[EXIT_FAILED].startswith("the run failed")
    assert codes[EXIT_USAGE].startswith("bad arguments")
    assert re.findall(r"(\d+) interrupted", listed) == [str(cli.EXIT_INTERRUPTED)]


@pytest.mark.parametrize("argv, fix", [
    (["run", "--input", "x"], "the following arguments are required: --output (see `deidlake run --help`)"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["run", "--input", "x", "--output", "y", "--redact", "some"], "invalid choice: 'some' (choose from 'phi', 'all')"),
    (["sql", "select 1", "--format", "xml"], "(see `deidlake sql --help`)"),
    (["backfill", "--list", "--quiet", "--verbose"], "not allowed with argument"),
    (["ui", "--port", "http"], "invalid int value: 'http'"),
])
def test_argument_errors_are_one_line_naming_the_fix(argv, fix, cli_env, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fix in err


@pytest.mark.parametrize("argv, fix", [
    (["ingest", "{tmp}/missing"], "input folder does not exist"),
    (["run", "--input", "{tmp}", "--output", "{tmp}/o", "--frames-per-task", "0"], "--frames-per-task must be at least 1"),
    (["sql", "select 1", "--limit", "0", "--warehouse", "{tmp}/wh"], "--limit must be at least 1"),
    (["sql", "select 1", "--warehouse", "{tmp}/typo"], "no warehouse at"),
])
def test_bad_values_exit_2_in_one_line(argv, fix, tmp_path, cli_env, capsys):
    from warehouse.layout import Warehouse

    Warehouse(tmp_path / "wh").create()
    assert main([a.format(tmp=tmp_path) for a in argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fix in err


@pytest.mark.parametrize("flags, dagster_level", [([], "WARNING"), (["--quiet"], "ERROR"), (["-q"], "ERROR"),
                                                  (["--verbose"], "DEBUG"), (["-v"], "DEBUG")])
def test_quiet_and_verbose_set_what_runs_print(flags, dagster_level, tmp_path, cli_env, capsys):
    from warehouse.layout import Warehouse

    Warehouse(tmp_path / "wh").create()
    for argv in (flags + ["backfill", "--list", "--warehouse", str(tmp_path / "wh")],
                 ["backfill", "--list", "--warehouse", str(tmp_path / "wh")] + flags):
        assert main(argv) == EXIT_OK
        assert CLI_RUN.console_log_level == dagster_level
        assert cli.OUTPUT.verbosity == {"WARNING": "normal", "ERROR": "quiet", "DEBUG": "verbose"}[dagster_level]
    cli._progress("a progress line")
    assert ("a progress line" in capsys.readouterr().err) == (dagster_level != "ERROR")
