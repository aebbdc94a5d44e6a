"""The Dagster instance of a warehouse: DAGSTER_HOME lives inside it, configured by the repo's dagster.yaml."""

from __future__ import annotations

import os
import shutil

from dagster import DagsterInstance

from warehouse.layout import REPO_ROOT, WAREHOUSE_ENV, Warehouse

INSTANCE_TEMPLATE = REPO_ROOT / "dagster.yaml"


def prepare_dagster_home(warehouse: Warehouse) -> str:
    """Point DAGSTER_HOME (and the warehouse variable the resources read) at this warehouse."""
    home = warehouse.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != INSTANCE_TEMPLATE.read_bytes():
        shutil.copyfile(INSTANCE_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ[WAREHOUSE_ENV] = str(warehouse.root)
    return str(home)


def dagster_instance(warehouse: Warehouse) -> DagsterInstance:
    prepare_dagster_home(warehouse)
    return DagsterInstance.get()
