"""Running the asset graph in-process for one folder of files (what `deidlake ingest/run` do)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster import AssetSelection, materialize

from orchestration.graph import ASSETS, build_resources
from orchestration.instance import dagster_instance
from orchestration.jobs import BATCH_SELECTION, WAREHOUSE_TAG, warehouse_tag
from orchestration.partitions import landing_batches
from orchestration.progress import CLI_RUN, PROCESS_TAG, PROCESS_TOKEN
from orchestration.resources import PipelineSettings
from transforms.landing import BatchManifest, BatchRegistry, list_landing_files
from warehouse.layout import Warehouse


SOURCE_TAG = "deidlake/source"     # which way a run was started: cli, stream, ...
# Dagster's console logger prints every engine event at DEBUG: a CLI run shows INFO and above.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


class EmptyInputError(ValueError):
    pass


@dataclass(frozen=True)
class BatchRun:
    manifest: BatchManifest
    run_id: str
    success: bool


def register_folder(warehouse: Warehouse, input_dir: str | Path, batch_id: str | None = None) -> BatchManifest:
    """Every file of `input_dir` becomes one batch (already-seen contents are not processed twice)."""
    files = list_landing_files(input_dir)
    if not files:
        raise EmptyInputError(f"no files under {input_dir}")
    return BatchRegistry(warehouse.batch_manifests).register(input_dir, files, batch_id)


def run_batch(warehouse: Warehouse, manifest: BatchManifest, selection: AssetSelection | None = None,
              run_config: dict | None = None, pipeline: PipelineSettings | None = None,
              tags: dict[str, str] | None = None) -> BatchRun:
    """Materialize the graph (or a selection of it) for one batch, in this process."""
    instance = dagster_instance(warehouse)
    instance.add_dynamic_partitions(landing_batches.name, [manifest.batch_id])
    result = materialize(
        ASSETS,
        selection=selection or BATCH_SELECTION,
        partition_key=manifest.batch_id,
        instance=instance,
        # The caller owns the session (it outlives the run for the summary) and stops it.
        resources=build_resources(str(warehouse.root), stop_spark_on_teardown=False, pipeline=pipeline),
        run_config={**QUIET_CONSOLE, **CLI_RUN.run_config(), **(run_config or {})},
        raise_on_error=False,
        tags={SOURCE_TAG: "cli", WAREHOUSE_TAG: warehouse_tag(str(warehouse.root)),
              PROCESS_TAG: PROCESS_TOKEN, **(tags or {})},       # PROCESS_TAG: the progress display
    )
    return BatchRun(manifest, result.run_id, result.success)
