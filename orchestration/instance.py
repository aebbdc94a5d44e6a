"""The Dagster instance of a warehouse: DAGSTER_HOME lives inside it, configured by the repo's dagster.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dagster import DagsterInstance

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


def prepare_dagster_home(warehouse: Warehouse, profile: str | None = None) -> str:
    """Point DAGSTER_HOME (and the warehouse variable the resources read) at this warehouse."""
    template = instance_template(profile)
    home = warehouse.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != template.read_bytes():
        shutil.copyfile(template, target)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ[WAREHOUSE_ENV] = str(warehouse.root)
    return str(home)


def dagster_instance(warehouse: Warehouse, profile: str | None = None) -> DagsterInstance:
    prepare_dagster_home(warehouse, profile)
    return DagsterInstance.get()
