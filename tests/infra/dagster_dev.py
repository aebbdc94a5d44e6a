"""`dagster dev` (webserver, daemon, code server) on a free loopback port, for one warehouse.

The same command `deidlake ui` runs, started by hand so the test chooses the port and the instance
profile. Readiness is asked of the webserver's GraphQL endpoint: the code location must have loaded,
not just the HTTP port opened.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.infra.processes import LOOPBACK, BackgroundProcess, free_port, wait_until
from warehouse.layout import REPO_ROOT

CODE_LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename } } } } }
"""


class DagsterDev:
    """Start with `start()`, talk to it at `url`, stop the whole process group with `stop()`."""

    def __init__(self, env: dict[str, str], log_path: Path, module: str = "orchestration.definitions"):
        self.port = free_port()
        self.env = env
        self.log_path = log_path
        self.module = module
        self.process: BackgroundProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 240.0) -> "DagsterDev":
        dagster = Path(sys.executable).with_name("dagster")
        self.process = BackgroundProcess(
            "dagster dev", [str(dagster), "dev", "-m", self.module, "-h", LOOPBACK, "-p", str(self.port)],
            self.log_path, env=self.env, cwd=REPO_ROOT)
        wait_until(self._code_location_loaded, timeout, "dagster dev to load the code location",
                   interval=1.0, alive=self.process.check_alive)
        return self

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30.0) -> dict:
        """One GraphQL request to the webserver (what the UI itself sends)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())["data"]

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=60)
            self.process = None

    def _code_location_loaded(self) -> bool:
        try:
            workspace = self.graphql(CODE_LOCATION_QUERY, timeout=10)["workspaceOrError"]
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, KeyError, TypeError, ValueError):
            return False
        entries = workspace.get("locationEntries") or []
        return bool(entries) and all(e["loadStatus"] == "LOADED" and
                                     e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                                     for e in entries)


def dagster_env(warehouse_root: Path, dagster_home: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of `dagster dev` and of the runs it launches (they inherit it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DEIDLAKE_"))}
    env.update({"DAGSTER_HOME": dagster_home, "DEIDLAKE_WAREHOUSE": str(warehouse_root),
                "SPARK_LOCAL_IP": LOOPBACK})
    env.update(extra or {})
    return env
