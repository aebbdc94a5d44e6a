"""Content-addressed raw store: an immutable copy of every ingested file, named by its SHA-256.

Nothing downstream depends on the landing folder staying put: every stage reads the raw store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int
    path: Path
    newly_stored: bool


class RawStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_file(self, source: str | os.PathLike) -> StoredFile:
        """Hash and copy `source` in one streaming pass; an existing copy is kept untouched."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with open(source, "rb") as src, os.fdopen(fd, "wb") as tmp:
                while chunk := src.read(CHUNK_BYTES):
                    digest.update(chunk)
                    tmp.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            final = self.path_for(sha)
            if final.exists():
                return StoredFile(sha, size, final, newly_stored=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, 0o400)
            os.replace(tmp_name, final)
            return StoredFile(sha, size, final, newly_stored=True)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
