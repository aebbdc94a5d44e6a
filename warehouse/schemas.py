"""Every table's schema, defined once. Spark wrappers and table creation both read from here.

Columns that hold identified data are only allowed in bronze tables (see `tables.TABLES`,
where each table declares whether it is identified).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def _schema(*fields: tuple[str, object] | tuple[str, object, bool]) -> StructType:
    """Compact field list: (name, type[, nullable=True])."""
    return StructType([StructField(f[0], f[1], f[2] if len(f) > 2 else True) for f in fields])


# bronze.landing_files: every landing file seen in every batch (duplicates included), so that no
# file can vanish between landing and its outcome. Paths are identified (file names carry PHI).
LANDING_FILES = _schema(
    ("batch_id", StringType(), False),
    ("relative_path", StringType(), False),
    ("sha256", StringType(), False),
    ("size_bytes", LongType(), False),
    ("seen_at", TimestampType(), False),
)

# bronze.dicom_files: one row per distinct input content (keyed on sha256).
DICOM_FILES = _schema(
    ("sha256", StringType(), False),
    ("relative_path", StringType(), False),
    ("size_bytes", LongType(), False),
    ("ingest_time", TimestampType(), False),
    ("batch_id", StringType(), False),
    ("status", StringType(), False),          # ok | rejected
    ("reject_reason", StringType()),          # machine-readable, see transforms.ingest.RejectReason
    ("reject_detail", StringType()),          # never a value from the file: exception type, offsets
    ("raw_path", StringType(), False),
)

# bronze.dicom_elements: every element of every header, nested sequences and private tags included.
DICOM_ELEMENTS = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("element_path", StringType(), False),    # e.g. 00400275[0].00321060
    ("tag", StringType(), False),             # 8 hex digits
    ("keyword", StringType()),
    ("vr", StringType()),
    ("vm", IntegerType()),
    ("value", StringType()),                  # text rendering; None for deferred binary
    ("value_length", LongType()),
    ("depth", IntegerType(), False),
    ("is_private", BooleanType(), False),
    ("private_creator", StringType()),
    ("in_file_meta", BooleanType(), False),
)

# metrics.dicom_complexity: PHI-free figures to size and route a job.
DICOM_COMPLEXITY = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("modality", StringType()),
    ("manufacturer", StringType()),
    ("model_name", StringType()),
    ("sop_class_uid", StringType()),
    ("sop_class_name", StringType()),
    ("transfer_syntax_uid", StringType()),
    ("transfer_syntax_name", StringType()),
    ("is_compressed", BooleanType()),
    ("is_lossy", BooleanType()),
    ("rows", IntegerType()),
    ("columns", IntegerType()),
    ("frames", IntegerType()),
    ("bits_allocated", IntegerType()),
    ("bits_stored", IntegerType()),
    ("pixel_representation", IntegerType()),
    ("photometric_interpretation", StringType()),
    ("samples_per_pixel", IntegerType()),
    ("planar_configuration", IntegerType()),
    ("has_pixel_data", BooleanType(), False),
    ("file_bytes", LongType(), False),
    ("pixel_bytes", LongType()),              # as stored (compressed size for encapsulated data)
    ("decoded_pixel_bytes", LongType()),      # rows * columns * samples * bits/8 * frames
    ("burned_in_annotation", StringType()),
    ("element_count", IntegerType(), False),
    ("private_element_count", IntegerType(), False),
    ("sequence_count", IntegerType(), False),
    ("max_sequence_depth", IntegerType(), False),
    ("has_overlay", BooleanType(), False),
    ("estimated_cost_seconds", DoubleType(), False),
    ("header_parse_seconds", DoubleType(), False),
)

# The row a metadata task returns per file, before it is split into the two tables above.
ELEMENT_STRUCT = StructType([f for f in DICOM_ELEMENTS.fields if f.name not in ("sha256", "batch_id")])
METADATA_TASK_RESULT = StructType(
    list(DICOM_COMPLEXITY.fields)
    + [
        StructField("metadata_error", StringType()),
        StructField("elements", ArrayType(ELEMENT_STRUCT)),
    ]
)

# silver.quarantine: every file that will not be published, with the stage, check and reason.
QUARANTINE = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("stage", StringType(), False),           # ingest | metadata | header_deid | pixel | leakage
    ("reason", StringType(), False),          # machine-readable
    ("detail", StringType()),                 # PHI-free
    ("quarantined_at", TimestampType(), False),
    ("run_id", StringType()),
)

# metrics.stage_runs: throughput per run and per stage (PHI-free).
STAGE_RUNS = _schema(
    ("run_id", StringType(), False),
    ("batch_id", StringType(), False),
    ("stage", StringType(), False),
    ("started_at", TimestampType(), False),
    ("seconds", DoubleType(), False),
    ("files", LongType(), False),
    ("bytes", LongType(), False),
    ("frames", LongType()),
    ("rejected", LongType()),
)
