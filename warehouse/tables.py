"""The table registry: every Delta table by dotted name, with its zone, schema and merge keys."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import StructType

from warehouse import schemas


@dataclass(frozen=True)
class TableSpec:
    zone: str
    name: str
    schema: StructType
    keys: tuple[str, ...]                 # a re-run MERGEs on these: no duplicates
    identified: bool                      # holds PHI in clear: bronze only
    partition_by: tuple[str, ...] = ()
    # Columns of an identified table that hold no PHI (verdicts, sizes): the product's metrics views may
    # aggregate them (warehouse/sql_guard.py checks that they use no other column).
    public_columns: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.zone}.{self.name}"

    def __post_init__(self) -> None:
        if self.identified and self.zone != "bronze":
            raise ValueError(f"{self.qualified_name}: identified data may only live in bronze")


# Partitioned by batch: every run MERGEs into its own batch's partition, so runs of different batches never
# conflict here (warehouse.delta_io, "Concurrent writers"). Tables created unpartitioned by an earlier
# version keep working; their conflicts are retried.
LANDING_FILES = TableSpec("bronze", "landing_files", schemas.LANDING_FILES,
                          ("batch_id", "relative_path"), identified=True, partition_by=("batch_id",))
DICOM_FILES = TableSpec("bronze", "dicom_files", schemas.DICOM_FILES, ("sha256",), identified=True,
                        public_columns=("status", "reject_reason", "size_bytes"))
DICOM_ELEMENTS = TableSpec("bronze", "dicom_elements", schemas.DICOM_ELEMENTS,
                           ("sha256", "element_path"), identified=True, partition_by=("batch_id",))
DICOM_COMPLEXITY = TableSpec("metrics", "dicom_complexity", schemas.DICOM_COMPLEXITY,
                             ("sha256",), identified=False)
QUARANTINE = TableSpec("silver", "quarantine", schemas.QUARANTINE,
                       ("sha256", "stage", "reason"), identified=False)
STAGE_RUNS = TableSpec("metrics", "stage_runs", schemas.STAGE_RUNS,
                       ("run_id", "batch_id", "stage"), identified=False)

DEID_HEADERS = TableSpec("silver", "deid_headers", schemas.DEID_HEADERS, ("sha256", "options_fingerprint"),
                         identified=False)
DEID_AUDIT = TableSpec("silver", "deid_audit", schemas.DEID_AUDIT,
                       ("sha256", "options_fingerprint", "element_path"),
                       identified=False, partition_by=("batch_id",))

FRAME_TEXT = TableSpec("silver", "frame_text", schemas.FRAME_TEXT,
                       ("sha256", "run_key", "frame", "left", "top"), identified=False,
                       partition_by=("batch_id",))
DEID_FILES = TableSpec("silver", "deid_files", schemas.DEID_FILES, ("sha256", "run_key"), identified=False)

LEAKAGE_RESULTS = TableSpec("silver", "leakage_results", schemas.LEAKAGE_RESULTS, ("sha256", "run_key"),
                            identified=False)
GOLD_MANIFEST = TableSpec("gold", "manifest", schemas.GOLD_MANIFEST, ("sha256", "run_key"), identified=False)
LEAKAGE_CHECKS = TableSpec("metrics", "leakage_checks", schemas.LEAKAGE_CHECKS, ("run_id", "batch_id", "check"),
                           identified=False)

# Keyed on the message's coordinates: a replayed micro-batch (or a reset checkpoint) adds no row.
KAFKA_MESSAGES = TableSpec("metrics", "kafka_messages", schemas.KAFKA_MESSAGES, ("topic", "partition", "offset"),
                           identified=False)

TABLES: dict[str, TableSpec] = {
    spec.qualified_name: spec
    for spec in (LANDING_FILES, DICOM_FILES, DICOM_ELEMENTS, DICOM_COMPLEXITY, QUARANTINE, STAGE_RUNS,
                 DEID_HEADERS, DEID_AUDIT, FRAME_TEXT, DEID_FILES, LEAKAGE_RESULTS, GOLD_MANIFEST,
                 LEAKAGE_CHECKS, KAFKA_MESSAGES)
}
