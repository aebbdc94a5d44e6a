"""Settings: every DEIDLAKE_* variable is declared, typed and documented once (warehouse/settings.py), and
the run's enumerated choices are enums that the CLI, Dagster's launchpad and the resources all refuse
to misread."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dagster import DagsterInvalidConfigError, asset, materialize

from orchestration.cli import main
from orchestration.resources import PipelineSettings
from transforms.keyring import Keyring, SecretError
from transforms.modes import (DEFAULT_PHI_ENGINE, GateDciodvfy, GateFrames, LossyJpegPolicy, PhiEngine, RedactMode,
                             choices)
from warehouse.layout import Warehouse
from warehouse.settings import DeidlakeSettings, SettingsError, documented_variables, env_name, settings
from warehouse.spark_session import SparkSettings

REPO = Path(__file__).resolve().parents[1]
PRODUCT_DIRS = ("orchestration", "transforms", "warehouse", "bench")
VARIABLE = re.compile(r"DEIDLAKE_[A-Z][A-Z0-9_]*")


def product_files() -> list[Path]:
    files = [REPO / "Makefile", REPO / "dagster.yaml"]
    for folder in PRODUCT_DIRS:
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".yaml", ".sh", ".properties")]
    return files


def test_every_variable_the_product_names_is_a_declared_setting():
    declared = {name for name, _, _ in documented_variables()}
    named = set()
    for path in product_files():
        for match in VARIABLE.finditer(path.read_text()):
            if path.read_text()[match.end():match.end() + 1] != "*":      # `DEIDLAKE_SPARK_*`: a family
                named.add(match.group().rstrip("_"))
    assert named, "the scan found no variable at all"
    assert named - declared == set()


def test_no_module_but_the_settings_reads_a_deidlake_variable():
    reads = re.compile(r"(os\.environ(\.get)?\s*[\[(]|os\.getenv\s*\()\s*[\"']?DEIDLAKE_|environ\.get\((SECRET|MODE|"
                       r"WAREHOUSE|PROFILE|JARS_DIR)_ENV")
    offenders = [str(p.relative_to(REPO)) for p in product_files()
                 if p.suffix == ".py" and p.name != "settings.py" and reads.search(p.read_text())]
    assert offenders == []


def test_the_readme_lists_every_variable_with_its_default():
    readme = (REPO / "README.md").read_text()
    for variable, default, _ in documented_variables():
        assert f"| `{variable}` | `{default}` |" in readme, variable


def test_defaults_and_empty_variables(monkeypatch):
    for name in DeidlakeSettings.model_fields:
        monkeypatch.delenv(env_name(name), raising=False)
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")                  # empty counts as unset
    defaults = settings()
    assert defaults.warehouse == REPO / "warehouse" / "data"
    assert defaults.mode == "production" and defaults.secret is None
    assert SparkSettings.from_env().master == "local[2]"
    assert Warehouse.resolve().root == REPO / "warehouse" / "data"


def test_environment_values_are_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("DEIDLAKE_SPARK_SHUFFLE_PARTITIONS", "12")
    monkeypatch.setenv("DEIDLAKE_SPARK_UI", "1")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", str(tmp_path))
    spark = SparkSettings.from_env()
    assert (spark.shuffle_partitions, spark.ui_enabled) == (12, True)
    assert Warehouse.resolve().root == tmp_path


@pytest.mark.parametrize("variable, value", [("DEIDLAKE_SPARK_SHUFFLE_PARTITIONS", "twelve"),
                                             ("DEIDLAKE_MODE", "demos"), ("DEIDLAKE_SPARK_UI", "maybe"),
                                             ("DEIDLAKE_PG_PORT", "s3cr3t-looking-value")])
def test_a_wrong_value_names_its_variable_and_not_its_value(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        settings()
    assert str(raised.value).startswith(f"{variable}: ")
    assert value not in str(raised.value)


def test_secret_and_mode_come_through_the_settings(monkeypatch):
    monkeypatch.delenv("DEIDLAKE_SECRET", raising=False)
    monkeypatch.setenv("DEIDLAKE_MODE", "production")
    with pytest.raises(SecretError):
        Keyring.from_env()
    monkeypatch.setenv("DEIDLAKE_SECRET", "a-real-secret-of-enough-length")
    assert not Keyring.from_env().is_demo
    assert "a-real-secret" not in repr(settings())              # SecretStr: never in a log line


def test_choices_are_enums_with_their_values_in_dagster_config():
    fields = PipelineSettings.to_config_schema().as_field().config_type.fields
    for name, enum in (("redact", RedactMode), ("lossy_jpeg_policy", LossyJpegPolicy), ("gate_frames", GateFrames),
                       ("gate_dciodvfy", GateDciodvfy), ("phi_engine", PhiEngine)):
        config_type = fields[name].config_type
        config_type = getattr(config_type, "inner_type", config_type)     # Noneable: it has a default
        assert [value.config_value for value in config_type.enum_values] == list(choices(enum))
    assert PipelineSettings(redact="all", phi_engine="python").run_key().endswith("-all")
    python_key = PipelineSettings(phi_engine="python").run_key()
    assert PipelineSettings(phi_engine="sparknlp").run_key() == f"{python_key}-sparknlp"
    assert PipelineSettings().phi_engine == DEFAULT_PHI_ENGINE


@pytest.mark.parametrize("config", [{"gate_frames": "al"}, {"redact": "PHI"}, {"lossy_jpeg_policy": "lossy"},
                                    {"gate_dciodvfy": "maybe"}, {"phi_engine": "spark"}])
def test_the_launchpad_refuses_a_value_outside_the_choices(config):
    @asset
    def needs_settings(pipeline: PipelineSettings) -> None:
        raise AssertionError("the run must not start")

    with pytest.raises(DagsterInvalidConfigError, match="not in enum type"):
        materialize([needs_settings], resources={"pipeline": PipelineSettings()},
                    run_config={"resources": {"pipeline": {"config": config}}})


def test_an_unknown_option_fails_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="did you mean 'retain_uids'.*valid options: retain_safe_private"):
        PipelineSettings(deid_options=["retain_uid"])


def test_cli_choices_and_option_names(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEIDLAKE_MODE", "test")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.dcm").write_bytes(b"x")
    root = tmp_path / "wh"
    with pytest.raises(SystemExit) as exited:
        main(["run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--gate-frames", "al"])
    assert exited.value.code == 2
    assert "choose from 'all', 'text', 'redacted'" in capsys.readouterr().err
    assert main(["run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                 "--warehouse", str(root), "--option", "retain_uid"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'retain_uids'" in err and "dates=shift" in err and len(err.strip().splitlines()) == 1
    assert not any((root / "bronze" / "batches").glob("*")), "a batch was registered before the arguments were checked"


def test_cli_names_a_bad_variable_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEIDLAKE_SPARK_SHUFFLE_PARTITIONS", "many")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.dcm").write_bytes(b"x")
    assert main(["ingest", str(tmp_path / "in"), "--warehouse", str(tmp_path / "wh")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("deidlake ingest: DEIDLAKE_SPARK_SHUFFLE_PARTITIONS: ") and "\n" not in err
