"""Where a warehouse keeps its zones, tables, raw store and Dagster home on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warehouse.settings import DEFAULT_WAREHOUSE_ROOT, REPO_ROOT, env_name, settings

WAREHOUSE_ENV = env_name("warehouse")

ZONES = ("bronze", "silver", "gold", "metrics")


@dataclass(frozen=True)
class Warehouse:
    """A warehouse rooted at one directory (local path; a cluster needs it on shared storage)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def resolve(cls, override: str | os.PathLike | None = None) -> "Warehouse":
        """`override`, else $DEIDLAKE_WAREHOUSE, else the project default under warehouse/data."""
        chosen = override or settings().warehouse
        return cls(Path(chosen).expanduser().resolve())

    def zone(self, zone: str) -> Path:
        if zone not in ZONES:
            raise ValueError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
        return self.root / zone

    def table_path(self, zone: str, name: str) -> Path:
        return self.zone(zone) / "tables" / name

    @property
    def raw_store(self) -> Path:
        """Content-addressed copies of every ingested file (identified: bronze only)."""
        return self.zone("bronze") / "raw"

    @property
    def batch_manifests(self) -> Path:
        """One JSON per landing batch: which landing files it holds (identified: paths may carry PHI)."""
        return self.zone("bronze") / "batches"

    @property
    def silver_staging(self) -> Path:
        """De-identified candidate files and frames, before the leakage gate."""
        return self.zone("silver") / "staging"

    @property
    def gold_archive(self) -> Path:
        """Published de-identified DICOM Part 10 files (immutable once written)."""
        return self.zone("gold") / "archive"

    @property
    def landing(self) -> Path:
        """Default landing folder that the sensor watches (overridable per deployment)."""
        return self.root / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def spark_catalog_dir(self) -> Path:
        """spark.sql.warehouse.dir: keeps Spark from creating spark-warehouse/ in the cwd."""
        return self.root / "_spark_catalog"

    @property
    def checkpoints(self) -> Path:
        return self.root / "_checkpoints"

    def exists(self) -> bool:
        """Every zone folder is there (what `create` makes): a warehouse, not a mistyped path."""
        return all(self.zone(zone).is_dir() for zone in ZONES)

    def create(self) -> "Warehouse":
        for zone in ZONES:
            self.zone(zone).mkdir(parents=True, exist_ok=True)
        for path in (self.raw_store, self.batch_manifests, self.silver_staging, self.gold_archive,
                     self.landing, self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        # Bronze holds identified data: keep it readable by its owner only.
        os.chmod(self.zone("bronze"), 0o700)
        return self
