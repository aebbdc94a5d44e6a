"""PySpark's Python daemon, with zip archives on the workers' path re-read only when they change.

Why: before every Python task, PySpark's worker calls `importlib.invalidate_caches()`
(`worker_util.setup_spark_files`), and on Python 3.11 and 3.12 every zip importer then re-reads its
whole archive's directory at once: pyspark.zip (1,300 entries, one importer per imported subpackage)
and the spark-core jar Spark puts on the workers' path (5,400 entries). Measured here: ~0.3 s of every
Python task, more than most of this project's tasks spend on their work (a 24-partition no-op job took
4.9 s on local[2]; see docs/pixel-path.md). Python 3.13 made the re-read lazy; this keeps a re-read for
an archive whose size or modification time changed, and skips it otherwise.

Spark starts it as `python -m warehouse.python_daemon` (`spark.python.daemon.module`); workers are
forked from it and inherit the change. Nothing else of PySpark's daemon differs.
"""

from __future__ import annotations

import os
import zipimport

from pyspark.daemon import manager

_reload_archive = zipimport.zipimporter.invalidate_caches
_read_stamps: dict[str, tuple[int, int]] = {}     # archive -> (size, mtime) when its directory was read


def _stamp(archive: str) -> tuple[int, int] | None:
    try:
        status = os.stat(archive)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _invalidate_if_changed(importer: zipimport.zipimporter) -> None:
    """Re-read the archive's directory only if the archive changed since it was last read."""
    stamp = _stamp(importer.archive)
    cached = zipimport._zip_directory_cache.get(importer.archive)      # noqa: SLF001 - the stdlib's own cache
    if stamp is not None and cached is not None and _read_stamps.get(importer.archive) == stamp:
        importer._files = cached                                         # noqa: SLF001
        return
    _reload_archive(importer)
    if stamp is not None:
        _read_stamps[importer.archive] = stamp


zipimport.zipimporter.invalidate_caches = _invalidate_if_changed
# The archives imported from so far were read moments ago, at this daemon's start.
_read_stamps.update({archive: stamp for archive in list(zipimport._zip_directory_cache)   # noqa: SLF001
                     if (stamp := _stamp(archive)) is not None})

if __name__ == "__main__":
    manager()
