"""A Spark standalone cluster on loopback: one master and one worker from the installed distribution.

The pyspark wheel is a full Spark distribution without the sbin/ start scripts, so the daemons are
started the way those scripts do it, through bin/spark-class. The worker keeps its executors' files
under a temporary work folder (not inside the installed package).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.infra.processes import LOOPBACK, BackgroundProcess, free_port, http_get, wait_until


def spark_home() -> Path:
    """The installed pyspark package is SPARK_HOME (bin/spark-class, jars/)."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass(frozen=True)
class ClusterState:
    """The master's JSON status page, reduced to what the tests look at."""

    alive_workers: int
    cores: int
    completed_apps: list[dict]
    active_apps: list[dict]

    @classmethod
    def from_json(cls, data: dict) -> "ClusterState":
        return cls(alive_workers=int(data.get("aliveworkers", 0)), cores=int(data.get("cores", 0)),
                   completed_apps=list(data.get("completedapps", [])), active_apps=list(data.get("activeapps", [])))


class SparkStandalone:
    """`start()` brings up the master and a worker and waits until the worker has registered."""

    def __init__(self, worker_cores: int = 2, worker_memory: str = "3g",
                 worker_env: dict[str, str] | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="deidlake-spark-"))
        # Executors inherit the worker's environment, not the driver's: whatever the tasks read from
        # the environment (the pseudonym secret) must be given to the worker, as spark-env.sh would.
        self.worker_env = dict(worker_env or {})
        self.port, self.webui_port = free_port(), free_port()
        self.worker_cores, self.worker_memory = worker_cores, worker_memory
        self.master: BackgroundProcess | None = None
        self.worker: BackgroundProcess | None = None

    @property
    def master_url(self) -> str:
        return f"spark://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 120.0) -> "SparkStandalone":
        self.master = self._daemon("master", "org.apache.spark.deploy.master.Master", "--host", LOOPBACK,
                                   "--port", str(self.port), "--webui-port", str(self.webui_port))
        wait_until(lambda: http_get(self._status_url()), timeout, "the Spark master's status page",
                   alive=self.master.check_alive)
        self.worker = self._daemon("worker", "org.apache.spark.deploy.worker.Worker", self.master_url,
                                   "--host", LOOPBACK, "--port", str(free_port()),
                                   "--webui-port", str(free_port()), "--cores", str(self.worker_cores),
                                   "--memory", self.worker_memory, "--work-dir", str(self.root / "work"),
                                   extra_env=self.worker_env)
        wait_until(lambda: self.state().alive_workers >= 1, timeout, "the Spark worker to register",
                   alive=self._check_alive)
        return self

    def state(self) -> ClusterState:
        body = http_get(self._status_url())
        return ClusterState.from_json(json.loads(body)) if body else ClusterState(0, 0, [], [])

    def stop(self) -> None:
        for daemon in (self.worker, self.master):
            if daemon is not None:
                daemon.stop()
        self.worker = self.master = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tails(self) -> str:
        return "\n".join(f"--- {d.name}\n{d.log_tail()}" for d in (self.master, self.worker) if d is not None)

    def _status_url(self) -> str:
        return f"http://{LOOPBACK}:{self.webui_port}/json/"

    def _check_alive(self) -> None:
        for daemon in (self.master, self.worker):
            if daemon is not None:
                daemon.check_alive()

    def _daemon(self, name: str, main_class: str, *args: str,
                extra_env: dict[str, str] | None = None) -> BackgroundProcess:
        home = spark_home()
        env = {**_without_deidlake(os.environ), **(extra_env or {}),
               "SPARK_HOME": str(home), "SPARK_LOCAL_IP": LOOPBACK,
               "SPARK_LOG_DIR": str(self.root / "logs"), "SPARK_PID_DIR": str(self.root),
               # Small daemons: the executors get the memory, not the master and worker JVMs.
               "SPARK_DAEMON_MEMORY": "512m"}
        return BackgroundProcess(name, [str(home / "bin" / "spark-class"), main_class, *args],
                                 self.root / f"{name}.log", env=env, cwd=self.root)


def _without_deidlake(env) -> dict[str, str]:
    """The caller's environment minus DEIDLAKE_*: a worker knows only what it is explicitly given."""
    return {k: v for k, v in env.items() if not k.startswith("DEIDLAKE_")}
