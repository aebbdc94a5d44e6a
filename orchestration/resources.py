"""Resources: the Spark session (through the project's one factory), the warehouse, the secret."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from dagster_pyspark import LazyPySparkResource
from pydantic import Field, PrivateAttr, field_validator

from transforms.keyring import Keyring
from transforms.modes import DEFAULT_PHI_ENGINE, GateDciodvfy, GateFrames, LossyJpegPolicy, PhiEngine, RedactMode
from warehouse.layout import Warehouse
from warehouse.spark_session import SparkSettings, build_spark_session, end_spark_session


class SparkResource(LazyPySparkResource):
    """dagster-pyspark's lazy session, built by warehouse.spark_session and stopped after the run.

    Unset fields fall back to DEIDLAKE_SPARK_* environment variables, then to the local default, so the
    same definitions run on a laptop (local[2]) and against a standalone, YARN or Kubernetes master.
    """

    spark_config: dict[str, Any] = {}          # extra Spark settings, applied last
    master: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    shuffle_partitions: int | None = None
    java_options: str | None = None             # added to the driver's and executors' JVM options
    warehouse_root: str | None = None
    stop_on_teardown: bool = True

    def _init_session(self) -> None:
        if self._spark_session is None:
            settings = SparkSettings.from_env(
                master=self.master, driver_memory=self.driver_memory,
                executor_memory=self.executor_memory, shuffle_partitions=self.shuffle_partitions,
                java_options=self.java_options,
                extra_conf={k: str(v) for k, v in self.spark_config.items()} or None,
            )
            self._spark_session = build_spark_session(settings, Warehouse.resolve(self.warehouse_root))

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self.stop_on_teardown and self._spark_session is not None:
            end_spark_session(self._spark_session)
            self._spark_session = None


class WarehouseResource(ConfigurableResource):
    """The warehouse root and the landing folder the sensor watches (defaults: environment, project)."""

    root: str | None = None
    landing: str | None = None
    landing_min_age_seconds: float = 5.0      # a file younger than this may still be being copied

    def resolve(self) -> Warehouse:
        return Warehouse.resolve(self.root).create()

    @property
    def landing_dir(self) -> str:
        return self.landing or str(self.resolve().landing)


class KeyringResource(ConfigurableResource):
    """The pseudonym secret, read from the environment when a step needs it (never from config)."""

    _keyring: Keyring | None = PrivateAttr(default=None)

    def get(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring.from_env()
        return self._keyring


class PipelineSettings(ConfigurableResource):
    """Run-wide choices shared by the silver and gold steps (set per run in the launchpad or the CLI).

    Enumerated choices are enums (transforms.modes): the launchpad offers their values and Dagster
    refuses any other before the run starts; option names are checked the same way.
    """

    deid_options: list[str] = Field(default=[], description=(
        "PS3.15 Annex E options, e.g. retain_uids, dates=shift (an unknown name fails the run at start)"))
    redact: RedactMode = Field(default=RedactMode.phi, description="phi: only PHI text | all: every text region")
    lossy_jpeg_policy: LossyJpegPolicy = Field(default=LossyJpegPolicy.same_syntax, description=(
        "JPEG baseline frames that change: same_syntax (re-encode once) | lossless (move to JPEG-LS)"))
    frames_per_task: int = Field(default=8, ge=1, description="frames per Spark task")
    gate_frames: GateFrames = Field(default=GateFrames.all, description=(
        "frames the gate reads again: all (independent of the detector's blind spots) | text (where "
        "detection saw text) | redacted (only the frames redacted)"))
    gate_dciodvfy: GateDciodvfy = Field(default=GateDciodvfy.required, description=(
        "dciodvfy in the gate's structure check: required (a missing dciodvfy holds every file) | "
        "when_installed | off"))
    phi_engine: PhiEngine = Field(default=DEFAULT_PHI_ENGINE, description=(
        "the PHI recognizer of OCR text: python (dictionary, patterns, rules) | sparknlp (the same "
        "around Spark NLP's RegexMatcher and a NerCrf model, on the executors' JVM)"))

    @field_validator("deid_options")
    @classmethod
    def _known_options(cls, names: list[str]) -> list[str]:
        from transforms.deid import DeidOptions

        DeidOptions.from_names(list(names))         # UnknownOptionError (a ValueError) lists the valid names
        return names

    def options(self):
        from transforms.deid import DeidOptions

        return DeidOptions.from_names(list(self.deid_options))

    def options_fingerprint(self) -> str:
        """What the header step applies (Clean options are applied: the PHI recognizer cleans text)."""
        from transforms.spark.header_deid import uses_text_cleaner

        options = self.options()
        return options.effective(has_text_cleaner=uses_text_cleaner(options)).fingerprint

    def run_key(self) -> str:
        """Options + redaction choices: silver rows, staging and the gold tree are kept per run key."""
        key = f"{self.options_fingerprint()}-{self.redact}"
        key = key if self.lossy_jpeg_policy == LossyJpegPolicy.same_syntax else f"{key}-{self.lossy_jpeg_policy}"
        return key if self.phi_engine == PhiEngine.python else f"{key}-{self.phi_engine}"
