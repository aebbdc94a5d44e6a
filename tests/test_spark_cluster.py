"""The unchanged pipeline on a real Spark standalone cluster (master + worker started here, on loopback).

The same files go through `deidlake run` twice, each in its own process and fresh warehouse, with the
same secret and batch id: once in local mode, once with DEIDLAKE_SPARK_MASTER=spark://... as the only
difference (one SparkContext per process, and the workers' environment is fixed at start). The gold
manifests must be identical: the same files, at the same gold paths, with the same SHA-256.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infra.processes import wait_until
from tests.infra.spark_standalone import SparkStandalone
from warehouse.layout import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CORPUS = Path(__file__).parent / "data" / "corpus"
FILES = ("004_MR_deflated.dcm", "005_MR_jpegls.dcm")       # small, with burned-in text: OCR runs on executors
BATCH_ID = "20261125T000000-cluster0"
RUN_TIMEOUT = 1800


@pytest.fixture(scope="module")
def secret() -> str:
    return secrets.token_hex(16)


@pytest.fixture(scope="module")
def cluster(secret):
    # The executors read the secret from their own environment, which is the worker's (docs/deploy-cluster.md).
    standalone = SparkStandalone(worker_cores=2, worker_memory="3g", worker_env={"DEIDLAKE_SECRET": secret})
    try:
        yield standalone.start()
    finally:
        standalone.stop()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-landing")
    for name in FILES:
        shutil.copy2(CORPUS / name, folder / name)
    return folder


def test_cluster_and_local_mode_publish_identical_gold(cluster, landing, secret, tmp_path):
    # Both runs are subprocesses: Python workers read the secret from the environment they started with,
    # so a local run inside this test session would use the session's secret, not `secret`.
    local_output, cluster_output = tmp_path / "local-out", tmp_path / "cluster-out"
    _run_cli(tmp_path / "local-wh", landing, local_output, _run_env(secret))
    _run_cli(tmp_path / "cluster-wh", landing, cluster_output, _run_env(secret, cluster.master_url),
             diagnostics=cluster.log_tails)

    local, remote = _gold(local_output), _gold(cluster_output)
    assert len(local) == len(FILES)
    assert remote == local, "the cluster published other files than local mode"
    for gold_path, sha in remote.items():                   # the manifest matches the exported bytes
        assert _sha256(cluster_output / gold_path) == sha

    apps = wait_until(lambda: cluster.state().completed_apps, 60, "the master to record the finished run")
    assert [a["name"] for a in apps] == ["deidlake"], "the run did not go through the standalone master"
    assert apps[0]["cores"] == 2


def _run_env(secret: str, master_url: str | None = None) -> dict[str, str]:
    """The caller's environment without its Dagster/deidlake settings; the master is the only difference."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DEIDLAKE_"))}
    env.update({"DEIDLAKE_SECRET": secret, "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g",
                "DEIDLAKE_SPARK_EXECUTOR_MEMORY": "2g", "SPARK_LOCAL_IP": "127.0.0.1"})
    if master_url:
        env["DEIDLAKE_SPARK_MASTER"] = master_url
    return env


def _run_cli(warehouse: Path, landing: Path, output: Path, env: dict[str, str],
             diagnostics: Callable[[], str] = lambda: "") -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("deidlake")), "--warehouse", str(warehouse), "run",
         "--input", str(landing), "--output", str(output), "--batch-id", BATCH_ID, "--json"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert completed.returncode == 0, _tail(completed.stderr) + diagnostics()
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    assert summary["success"] and summary["published"] == len(FILES)


def _gold(output: Path) -> dict[str, str]:
    """gold path -> SHA-256 of the published file, from the run's PHI-free manifest.json."""
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["batch_id"] == BATCH_ID
    return {f["gold_path"]: f["output_sha256"] for f in manifest["files"]}


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
