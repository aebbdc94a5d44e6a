"""The inputs every stage of a batch reads, read once per run and handed on in memory.

Each stage used to re-read what it needs from the tables: the batch's contents (a join of two bronze
tables) six times a run, the complexity figures four times, the de-identified headers and candidate files
two or three times. Every read of a Delta table plans a Spark job to list the table's files (and one more
to rebuild its snapshot after each commit), ~0.3-1 s each whatever the batch's size, so a one-file run
spent more time reading its own tables than de-identifying. Now a run reads each of these once, after the
stage that writes it, and keeps it materialized (`localCheckpoint`) for the stages after it.

A stage that writes one of these tables calls `forget` after its MERGE: the next stage reads the table
again (once), so what a stage sees is exactly what is committed, as before. A stage run on its own (a UI
materialization of one asset, a retried step) finds nothing remembered and reads the tables.
"""

from __future__ import annotations

from collections.abc import Callable

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from warehouse import tables
from warehouse.delta_io import batch_files, read_table
from warehouse.layout import Warehouse

CONTENTS = "contents"            # bronze: the batch's distinct contents with their verdicts
COMPLEXITY = "complexity"        # metrics.dicom_complexity rows of those contents
ELEMENTS = "elements"            # bronze.dicom_elements rows of those contents (identified)
HEADERS = "headers"              # silver.deid_headers rows of those contents (for the options)
DEID_FILES = "deid_files"        # silver.deid_files rows of those contents (for the run key)


class RunMemory(ConfigurableResource):
    """Per run: the batch's inputs, read once and kept materialized (see the module doc)."""

    _frames: dict[tuple[str, str], DataFrame] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._frames = {}

    def remember(self, batch_id: str, name: str, frame: DataFrame) -> DataFrame:
        self._frames[(batch_id, name)] = frame
        return frame

    def forget(self, batch_id: str, name: str) -> None:
        self._frames.pop((batch_id, name), None)

    def get(self, batch_id: str, name: str, read: Callable[[], DataFrame]) -> DataFrame:
        """The remembered frame, else `read()` materialized and remembered."""
        frame = self._frames.get((batch_id, name))
        if frame is None:
            frame = self.remember(batch_id, name, read().localCheckpoint(eager=True))
        return frame


class BatchInputs:
    """The batch's inputs for one stage: remembered by the run, else read from the tables."""

    def __init__(self, memory: RunMemory, spark: SparkSession, warehouse: Warehouse, batch_id: str):
        self.memory, self.spark, self.warehouse, self.batch_id = memory, spark, warehouse, batch_id

    def contents(self) -> DataFrame:
        """Distinct contents of the batch with their bronze verdicts (`warehouse.delta_io.batch_files`)."""
        return self.memory.get(self.batch_id, CONTENTS, lambda: batch_files(self.spark, self.warehouse, self.batch_id))

    def remember_contents(self, ingested: DataFrame) -> None:
        """What bronze just ingested, as `contents()` would read it back (one row per content)."""
        columns = [c for c in tables.DICOM_FILES.schema.fieldNames() if c not in ("batch_id", "relative_path")]
        self.memory.remember(self.batch_id, CONTENTS,
                             ingested.select(*columns).dropDuplicates(["sha256"]).localCheckpoint(eager=True))

    def shas(self) -> DataFrame:
        return self.contents().select("sha256")

    def complexity(self) -> DataFrame:
        return self._of_batch(COMPLEXITY, tables.DICOM_COMPLEXITY)

    def elements(self) -> DataFrame:
        return self._of_batch(ELEMENTS, tables.DICOM_ELEMENTS)

    def headers(self, options_fingerprint: str) -> DataFrame:
        return self._of_batch(f"{HEADERS}:{options_fingerprint}", tables.DEID_HEADERS,
                              F.col("options_fingerprint") == options_fingerprint)

    def deid_files(self, run_key: str) -> DataFrame:
        return self._of_batch(f"{DEID_FILES}:{run_key}", tables.DEID_FILES, F.col("run_key") == run_key)

    def forget(self, name: str) -> None:
        """After a write to the table behind `name`: the next stage reads it again."""
        for key in [k for k in self.memory._frames if k[0] == self.batch_id and k[1].split(":")[0] == name]:
            self.memory.forget(*key)

    def _of_batch(self, name: str, spec, where=None) -> DataFrame:
        def read() -> DataFrame:
            rows = read_table(self.spark, self.warehouse, spec)
            if where is not None:
                rows = rows.where(where)
            return rows.join(self.shas(), "sha256")
        return self.memory.get(self.batch_id, name, read)
