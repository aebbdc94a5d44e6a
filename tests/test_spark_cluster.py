"""The unchanged pipeline on a real Spark standalone cluster (master + worker started here, on loopback).

The same files go through `deidlake run` twice, each in a fresh warehouse, with the same secret and batch
id: once in local mode, in this test session's own Spark (warm: a new process would add a cold JVM's
minute or two), once in a new process with DEIDLAKE_SPARK_MASTER=spark://... (one SparkContext per
process). The gold manifests must be identical: the same files, at the same gold paths, with the same
SHA-256.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.cli import main
from tests.infra.processes import wait_until
from tests.infra.spark_standalone import SparkStandalone
from transforms.keyring import MODE_ENV, SECRET_ENV, Keyring
from warehouse.layout import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CORPUS = Path(__file__).parent / "data" / "corpus"
FILES = ("004_MR_deflated.dcm", "005_MR_jpegls.dcm")       # small, with burned-in text: OCR runs on executors
BATCH_ID = "20261125T000000-cluster0"
RUN_TIMEOUT = 1800


@pytest.fixture(scope="module")
def secret_env() -> dict[str, str]:
    """The secret (and mode) this session's Python workers started with: the local run uses them."""
    return {SECRET_ENV: Keyring.from_env().secret.decode(), MODE_ENV: os.environ.get(MODE_ENV, "production")}


@pytest.fixture(scope="module")
def cluster(secret_env):
    # The executors read the secret from their own environment, which is the worker's (docs/deploy-cluster.md).
    standalone = SparkStandalone(worker_cores=2, worker_memory="3g", worker_env=secret_env)
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


def test_cluster_and_local_mode_publish_identical_gold(cluster, landing, secret_env, spark, tmp_path, monkeypatch,
                                                      capsys):
    local_output, cluster_output = tmp_path / "local-out", tmp_path / "cluster-out"
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.setenv("DEIDLAKE_WAREHOUSE", "")
    assert main(_run_args(tmp_path / "local-wh", landing, local_output)) == 0
    _check_summary(capsys.readouterr().out)
    _run_cli(tmp_path / "cluster-wh", landing, cluster_output, _run_env(secret_env, cluster.master_url),
             diagnostics=cluster.log_tails)

    local, remote = _gold(local_output), _gold(cluster_output)
    assert len(local) == len(FILES)
    assert remote == local, "the cluster published other files than local mode"
    for gold_path, sha in remote.items():                   # the manifest matches the exported bytes
        assert _sha256(cluster_output / gold_path) == sha

    apps = wait_until(lambda: cluster.state().completed_apps, 60, "the master to record the finished run")
    assert [a["name"] for a in apps] == ["deidlake"], "the run did not go through the standalone master"
    assert apps[0]["cores"] == 2


def _run_env(secret_env: dict[str, str], master_url: str) -> dict[str, str]:
    """The caller's environment without its Dagster/deidlake settings, plus its secret and the master."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DEIDLAKE_"))}
    env.update({**secret_env, "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g", "DEIDLAKE_SPARK_EXECUTOR_MEMORY": "2g",
                "SPARK_LOCAL_IP": "127.0.0.1", "DEIDLAKE_SPARK_MASTER": master_url})
    return env


def _run_args(warehouse: Path, landing: Path, output: Path) -> list[str]:
    return ["--warehouse", str(warehouse), "run", "--input", str(landing), "--output", str(output),
            "--batch-id", BATCH_ID, "--json"]


def _run_cli(warehouse: Path, landing: Path, output: Path, env: dict[str, str],
             diagnostics: Callable[[], str] = lambda: "") -> None:
    command = [str(Path(sys.executable).with_name("deidlake")), *_run_args(warehouse, landing, output)]
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert completed.returncode == 0, _tail(completed.stderr) + diagnostics()
    _check_summary(completed.stdout)


def _check_summary(stdout: str) -> None:
    summary = json.loads(stdout.strip().splitlines()[-1])
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
