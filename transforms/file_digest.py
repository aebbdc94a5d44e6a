"""SHA-256 of a file read in chunks: contents are keyed on it (claim checks, assembled files, gold).

Chunked so that a 1 GB multi-frame file is hashed in constant memory.
"""

from __future__ import annotations

import hashlib
import os

HASH_CHUNK_BYTES = 4 * 1024 * 1024


def file_digest(path: str | os.PathLike) -> tuple[int, str]:
    """Size in bytes and SHA-256 (hex) of the file at `path`."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    return file_digest(path)[1]
