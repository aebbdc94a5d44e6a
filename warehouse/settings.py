"""Every `DEIDLAKE_*` environment variable in one place: its type, its default and what it means.

The deployment is configured by its environment (a systemd EnvironmentFile, a container spec, a shell);
this module is the only reader of those variables, so each one is named, typed and documented once, and a
wrong value fails at start with the variable's name instead of misbehaving later. Run-wide choices (what to
redact, which options) are Dagster config (`orchestration.resources.PipelineSettings`), not environment.

It lives in `warehouse/`, the room every other room may import (`transforms` reads the secret and the mode,
`warehouse` the Spark and warehouse settings, `orchestration` the instance profile), and imports nothing of
the project but itself: no Spark, no Dagster. `settings()` reads the environment at each call (the CLI
points `DEIDLAKE_WAREHOUSE` at the chosen warehouse, tests change it); it is cheap.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "DEIDLAKE_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE_ROOT = REPO_ROOT / "warehouse" / "data"
DEFAULT_JARS_DIR = REPO_ROOT / "warehouse" / "jvm" / "lib"


class Mode(StrEnum):
    """`demo` and `test` allow the built-in demo secret; `production` requires a real one."""

    production = "production"
    demo = "demo"
    test = "test"


class SettingsError(ValueError):
    """A DEIDLAKE_* variable holds a value of the wrong type or outside its choices."""


class DeidlakeSettings(BaseSettings):
    """The environment of a deidlake deployment. Field `spark_ui` is the variable `DEIDLAKE_SPARK_UI`; an empty
    variable counts as unset."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore",
                                      frozen=True, case_sensitive=False)

    warehouse: Path = Field(DEFAULT_WAREHOUSE_ROOT, description=(
        "warehouse root: Delta tables, raw store, batch manifests, checkpoints, Dagster home"))
    secret: SecretStr | None = Field(None, description=(
        "HMAC key for pseudonyms, UIDs, date shifts and audit hashes (at least 16 characters); "
        "required unless the mode is demo or test"))
    mode: Mode = Field(Mode.production, description="production, demo or test (demo and test allow the demo secret)")

    spark_master: str = Field("local[2]", description="Spark master URL: local[N], spark://, yarn, k8s://")
    spark_driver_memory: str = Field("6g", description="spark.driver.memory (sized for 2 cores, 24 GB)")
    spark_executor_memory: str = Field("4g", description="spark.executor.memory")
    spark_shuffle_partitions: int = Field(4, ge=1, description="spark.sql.shuffle.partitions")
    spark_ui: bool = Field(False, description="1 starts Spark's web UI (off: it costs memory and a port)")
    spark_java_options: str = Field("", description="extra JVM options of the driver and executors")
    max_spark_drivers: int | None = Field(None, ge=1, description=(
        "Spark drivers (runs) at once per warehouse, whoever starts them; the default Dagster instance "
        "queues runs to the same limit (default: one per core, at most one per 8 GB)"))
    jars_dir: Path = Field(DEFAULT_JARS_DIR, description=(
        "where warehouse/jvm/fetch_jars.sh puts the Delta, Spark NLP and Kafka jars (read by the script too)"))

    kafka_bootstrap: str | None = Field(None, description=(
        "Kafka bootstrap servers (HOST:PORT,...) of `deidlake stream --topic` and `deidlake produce` when "
        "--kafka-bootstrap is not given"))

    dagster_profile: str = Field("default", description=(
        "Dagster instance profile: default (SQLite in the warehouse) or a file of "
        "orchestration/instance_profiles/ (postgres)"))
    # Read by Dagster itself from orchestration/instance_profiles/postgres.yaml (`env:`), listed here so
    # that every DEIDLAKE_* variable is documented in one place.
    pg_host: str | None = Field(None, description="PostgreSQL host of the postgres profile")
    pg_port: int | None = Field(None, description="PostgreSQL port of the postgres profile")
    pg_db: str | None = Field(None, description="PostgreSQL database of the postgres profile")
    pg_user: str | None = Field(None, description="PostgreSQL user of the postgres profile")
    pg_password: SecretStr | None = Field(None, description="PostgreSQL password of the postgres profile")

    @property
    def secret_value(self) -> str:
        return self.secret.get_secret_value() if self.secret is not None else ""


def settings() -> DeidlakeSettings:
    """The settings from the current environment; a bad value raises SettingsError naming the variable."""
    try:
        return DeidlakeSettings()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def env_name(field: str) -> str:
    """The environment variable of a settings field: `spark_master` -> `DEIDLAKE_SPARK_MASTER`."""
    return f"{ENV_PREFIX}{field.upper()}"


def documented_variables() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of every setting, for the docs and `deidlake --help`."""
    rows = []
    for name, field in DeidlakeSettings.model_fields.items():
        rows.append((env_name(name), _shown(field.default), field.description or ""))
    return rows


def _shown(default: object) -> str:
    """A default as a user would write it in the environment."""
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "1" if default else "0"
    if isinstance(default, Path):
        return str(default.relative_to(REPO_ROOT)) if default.is_relative_to(REPO_ROOT) else str(default)
    return str(default) or "(empty)"


def _one_line(exc: ValidationError) -> str:
    """`DEIDLAKE_MODE: Input should be 'production', 'demo' or 'test'` (the value itself is not echoed:
    it may be a secret)."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        parts.append(f"{env_name(field)}: {error['msg']}")
    return "; ".join(parts)
