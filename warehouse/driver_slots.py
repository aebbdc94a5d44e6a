"""At most N Spark drivers per warehouse at once, whoever starts them: CLI runs, Dagster runs, the stream.

Every run drives its own Spark JVM (a few GB and, in local mode, every core). Dagster's run queue
(`QueuedRunCoordinator` in the repo's dagster.yaml) limits the runs it launches, but `deidlake run`,
`backfill` and `stream` start drivers of their own. So the session factory takes a *driver slot* of the
warehouse first: one of N lock files under `<warehouse>/_locks/`, held (an OS lock, `flock`) for as long
as the process lives and released by the kernel when it ends, however it ends. A process that finds every
slot taken waits for one, and says so.

N is `DEIDLAKE_MAX_SPARK_DRIVERS`, by default what the machine affords (`default_driver_limit`); the
default Dagster instance is given the same number as its concurrency limit.
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from warehouse.settings import settings

MAX_DRIVERS_ENV = "DEIDLAKE_MAX_SPARK_DRIVERS"       # warehouse.settings.max_spark_drivers
GB = 1024 ** 3
DRIVER_MEMORY_BUDGET_GB = 8          # what one run takes with its Python workers, at most (docs/operations.md)

_held: dict[Path, object] = {}      # warehouse root -> the open slot file this process holds


def default_driver_limit(cores: int | None = None, memory_bytes: int | None = None) -> int:
    """One driver per core, at most one per 8 GB of memory, at least one."""
    cores = cores or os.cpu_count() or 1
    if memory_bytes is None:
        try:
            memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            memory_bytes = DRIVER_MEMORY_BUDGET_GB * GB
    return max(1, min(cores, memory_bytes // (DRIVER_MEMORY_BUDGET_GB * GB)))


def driver_limit() -> int:
    """The configured limit: $DEIDLAKE_MAX_SPARK_DRIVERS (warehouse.settings), else the machine's default."""
    return settings().max_spark_drivers or default_driver_limit()


def slots_dir(warehouse_root: Path) -> Path:
    return Path(warehouse_root) / "_locks" / "spark-drivers"


def acquire_driver_slot(warehouse_root: Path, limit: int | None = None, poll_seconds: float = 1.0,
                        log: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep
                        ) -> int:
    """Take one of the warehouse's driver slots for the rest of this process (idempotent); returns its number."""
    root = Path(warehouse_root).resolve()
    if root in _held:
        return int(Path(_held[root].name).stem.split("-")[-1])
    limit = limit or driver_limit()
    folder = slots_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    waited = False
    while True:
        for number in range(limit):
            handle = open(folder / f"slot-{number}", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held[root] = handle          # kept open: the lock lives as long as the process
            return number
        if not waited:
            say(f"waiting for a Spark driver slot of this warehouse ({limit} in use; {MAX_DRIVERS_ENV})")
            waited = True
        sleep(poll_seconds * random.uniform(0.5, 1.5))


def release_driver_slots() -> None:
    """Give this process's slots back before it ends (its Spark session stopped)."""
    while _held:
        _, handle = _held.popitem()
        handle.close()


def drivers_running(warehouse_root: Path, limit: int) -> int:
    """How many of the warehouse's slots are held now (by any process)."""
    folder = slots_dir(Path(warehouse_root))
    held = 0
    for number in range(limit):
        path = folder / f"slot-{number}"
        if not path.exists():
            continue
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                held += 1
    return held
