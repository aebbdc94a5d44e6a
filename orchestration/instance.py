"""The Dagster instance of a warehouse: DAGSTER_HOME lives inside it, configured by the repo's dagster.yaml."""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from warehouse.driver_slots import MAX_DRIVERS_ENV, driver_limit
from warehouse.layout import REPO_ROOT, WAREHOUSE_ENV, Warehouse
from warehouse.settings import env_name, settings

INSTANCE_TEMPLATE = REPO_ROOT / "dagster.yaml"
# Named alternatives to the embedded default, e.g. `postgres` (PostgreSQL storage, queued runs).
PROFILES_DIR = Path(__file__).with_name("instance_profiles")
PROFILE_ENV = env_name("dagster_profile")
DEFAULT_PROFILE = "default"


class UnknownProfileError(ValueError):
    """The profile named in DEIDLAKE_DAGSTER_PROFILE (or passed in) has no file."""


def instance_template(profile: str | None = None) -> Path:
    """The dagster.yaml of `profile` (else $DEIDLAKE_DAGSTER_PROFILE): the repo's SQLite default, or
    instance_profiles/<profile>.yaml. A deployment picks its storage with one variable, not a copied file."""
    name = profile or settings().dagster_profile
    if name == DEFAULT_PROFILE:
        return INSTANCE_TEMPLATE
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join([DEFAULT_PROFILE, *sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))])
        raise UnknownProfileError(f"unknown Dagster instance profile {name!r}; profiles: {known}")
    return path


def render_instance(template: Path, max_drivers: int) -> str:
    """The instance file with the driver limit written in (a service may also set the variable instead)."""
    block = re.compile(r":\n\s*env: " + MAX_DRIVERS_ENV + r"\b")          # key:\n  env: VAR
    inline = re.compile(r"\{\s*env:\s*" + MAX_DRIVERS_ENV + r"\s*\}")       # key: {env: VAR}
    return inline.sub(str(max_drivers), block.sub(f": {max_drivers}", template.read_text()))


def prepare_dagster_home(warehouse: Warehouse, profile: str | None = None) -> str:
    """Point DAGSTER_HOME (and the warehouse variable the resources read) at this warehouse."""
    template = instance_template(profile)
    home = warehouse.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    rendered = render_instance(template, driver_limit())
    if not target.exists() or target.read_text() != rendered:
        staged = target.with_name(f".dagster.yaml.{os.getpid()}")       # concurrent starts: replace whole
        staged.write_text(rendered)
        os.replace(staged, target)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ[WAREHOUSE_ENV] = str(warehouse.root)
    return str(home)


def dagster_instance(warehouse: Warehouse, profile: str | None = None) -> DagsterInstance:
    """The warehouse's instance. Its storage is created under a lock: two first runs of a fresh warehouse
    at once would otherwise both create the SQLite tables, and one would fail ("table runs already exists")."""
    home = prepare_dagster_home(warehouse, profile)
    with open(Path(home) / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = DagsterInstance.get()
        instance.get_runs(limit=1)          # creates (or migrates) the run storage now, under the lock
        instance.get_dynamic_partitions("landing_batches")
        instance.get_latest_materialization_event(AssetKey("bronze_dicom_files"))   # the event log's index
        return instance
