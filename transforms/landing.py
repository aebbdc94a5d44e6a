"""Landing batches: which files of the landing folder form one batch, recorded as a manifest.

A batch is the unit of ingest, of Dagster partitions and of backfills. Its manifest lists the landing
files it holds, so that a batch can be re-run after the landing folder has changed. Manifests live in
the identified zone (file names often carry patient names).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REGISTRY_FILE = "registered.jsonl"
IGNORED_PREFIXES = (".", "~")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")


@dataclass(frozen=True)
class LandingFile:
    relative_path: str
    size_bytes: int
    mtime_ns: int

    @property
    def identity(self) -> str:
        """A re-dropped file with new content (size or time) is a new landing file."""
        return f"{self.relative_path}\x00{self.size_bytes}\x00{self.mtime_ns}"


@dataclass(frozen=True)
class BatchManifest:
    batch_id: str
    landing_root: str
    files: tuple[LandingFile, ...]
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def to_json(self) -> str:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "BatchManifest":
        data = json.loads(text)
        data["files"] = tuple(LandingFile(**f) for f in data["files"])
        return cls(**data)

    def absolute_path(self, landing_file: LandingFile) -> Path:
        return Path(self.landing_root) / landing_file.relative_path


def list_landing_files(root: str | os.PathLike, min_age_seconds: float = 0.0) -> list[LandingFile]:
    """Regular files under `root`, skipping hidden, partial and too-recent (still being copied) ones."""
    root = Path(root)
    newest_allowed = time.time_ns() - int(min_age_seconds * 1e9)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(IGNORED_PREFIXES))
        for name in sorted(filenames):
            if name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES):
                continue
            path = Path(dirpath) / name
            stat = path.stat()
            if stat.st_mtime_ns > newest_allowed:
                continue
            found.append(LandingFile(path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return found


def new_batch_id(files: list[LandingFile], now: datetime | None = None) -> str:
    """Sortable and unique: UTC time plus a digest of the files it holds (no file names in it)."""
    now = now or datetime.now(timezone.utc)
    digest = hashlib.sha256("\n".join(f.identity for f in files).encode()).hexdigest()[:8]
    return f"{now:%Y%m%dT%H%M%S}-{digest}"


class BatchRegistry:
    """Batch manifests of one warehouse, plus the index of every landing file already in a batch."""

    def __init__(self, manifests_dir: str | os.PathLike):
        self.dir = Path(manifests_dir)

    def manifest_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.json"

    def read(self, batch_id: str) -> BatchManifest:
        path = self.manifest_path(batch_id)
        if not path.exists():
            raise KeyError(f"no manifest for batch {batch_id}")
        return BatchManifest.from_json(path.read_text())

    def batch_ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def registered_identities(self) -> set[str]:
        index = self.dir / REGISTRY_FILE
        if not index.exists():
            return set()
        return {line.rstrip("\n") for line in index.read_text().splitlines() if line}

    def register(self, landing_root: str | os.PathLike, files: list[LandingFile],
                 batch_id: str | None = None) -> BatchManifest:
        """Write the manifest, then append its files to the index (a crash in between re-offers them)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest = BatchManifest(batch_id or new_batch_id(files), str(Path(landing_root).resolve()),
                                 tuple(files))
        tmp = self.manifest_path(manifest.batch_id).with_suffix(".json.tmp")
        tmp.write_text(manifest.to_json())
        os.replace(tmp, self.manifest_path(manifest.batch_id))
        with open(self.dir / REGISTRY_FILE, "a") as index:
            index.writelines(f"{f.identity}\n" for f in files)
        return manifest

    def unregistered(self, landing_root: str | os.PathLike, min_age_seconds: float = 0.0) -> list[LandingFile]:
        known = self.registered_identities()
        return [f for f in list_landing_files(landing_root, min_age_seconds) if f.identity not in known]
