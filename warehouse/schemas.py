"""Every table's schema, defined once. Spark wrappers and table creation both read from here.

Columns that hold identified data are only allowed in bronze tables (see `tables.TABLES`,
where each table declares whether it is identified).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def nullable(schema: StructType) -> StructType:
    """The same columns, all nullable: a task's result row for a file that failed has gaps."""
    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


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
    ("resolved_at", TimestampType()),         # set when a later run published the file after a fix
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


# silver.deid_headers: the de-identified header of every file (Part 10 bytes without pixel data), which
# the pixel step reuses, and the new identifiers (pseudonyms and UIDs are keyed: no PHI).
DEID_HEADERS = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("header_bytes", BinaryType(), False),
    ("sop_class_uid", StringType()),
    ("sop_instance_uid", StringType()),       # new UIDs (2.25.x), never the original ones
    ("study_instance_uid", StringType()),
    ("series_instance_uid", StringType()),
    ("patient_pseudonym", StringType(), False),
    ("patient_key_source", StringType(), False),
    ("options_fingerprint", StringType(), False),
    ("key_fingerprint", StringType(), False),
    ("method_codes", ArrayType(StringType())),
    ("changed_elements", IntegerType(), False),
    ("seconds", DoubleType(), False),
)

# silver.deid_audit: what changed, element by element, with a keyed hash of the original value.
DEID_AUDIT = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("options_fingerprint", StringType(), False),
    ("element_path", StringType(), False),
    ("tag", StringType(), False),
    ("keyword", StringType()),
    ("vr", StringType()),
    ("action", StringType(), False),
    ("original_hash", StringType()),
)

AUDIT_STRUCT = StructType([f for f in DEID_AUDIT.fields
                           if f.name not in ("sha256", "batch_id", "options_fingerprint")])
HEADER_DEID_TASK_RESULT = StructType(
    list(nullable(DEID_HEADERS).fields)
    + [StructField("error", StringType()), StructField("audit", ArrayType(AUDIT_STRUCT))]
)


# silver.frame_text: per frame, the text boxes found and whether they were filled (no text: keyed hash).
FRAME_TEXT = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("run_key", StringType(), False),         # options fingerprint + redaction mode
    ("frame", IntegerType(), False),
    ("left", IntegerType(), False),
    ("top", IntegerType(), False),
    ("width", IntegerType(), False),
    ("height", IntegerType(), False),
    ("confidence", DoubleType()),
    ("text_hash", StringType()),
    ("is_phi", BooleanType(), False),
    ("category", StringType()),
    ("source", StringType()),
    ("redacted", BooleanType(), False),
)

BOX_STRUCT = StructType([f for f in FRAME_TEXT.fields if f.name not in ("sha256", "batch_id", "run_key")])
FRAME_TASK_RESULT = _schema(
    ("sha256", StringType()),
    ("batch_id", StringType()),
    ("run_key", StringType()),
    ("first_frame", IntegerType()),
    ("stop_frame", IntegerType()),
    ("changed_frames", ArrayType(IntegerType())),
    ("ocr_cache_hits", IntegerType()),
    ("tesseract_calls", IntegerType()),
    ("seconds", DoubleType()),
    ("error", StringType()),
    ("boxes", ArrayType(BOX_STRUCT)),
)

# silver.deid_files: per file, the candidate output and its transfer-syntax decision.
DEID_FILES = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("run_key", StringType(), False),
    ("redact_mode", StringType(), False),
    ("candidate_path", StringType(), False),
    ("output_sha256", StringType(), False),
    ("output_bytes", LongType(), False),
    ("original_syntax", StringType()),
    ("output_syntax", StringType()),
    ("syntax_kept", BooleanType()),
    ("syntax_reason", StringType()),
    ("frames", IntegerType(), False),
    ("frames_copied", IntegerType(), False),
    ("frames_reencoded", IntegerType(), False),
    ("text_boxes", IntegerType(), False),
    ("phi_boxes", IntegerType(), False),
    ("redacted_boxes", IntegerType(), False),
    ("seconds", DoubleType(), False),
)
ASSEMBLY_RESULT = StructType(list(nullable(DEID_FILES).fields) + [StructField("error", StringType())])


# silver.leakage_results: the gate's measures per candidate file (PHI-free: counts and element paths).
LEAKAGE_RESULTS = _schema(
    ("sha256", StringType(), False),
    ("batch_id", StringType(), False),
    ("run_key", StringType(), False),
    ("output_sha256", StringType(), False),
    ("header_leak_hits", IntegerType(), False),
    ("header_leak_paths", ArrayType(StringType())),
    ("uid_survivors", IntegerType(), False),
    ("record_present", BooleanType(), False),
    ("structure_ok", BooleanType(), False),
    ("structure_problems", ArrayType(StringType())),
    ("pixel_leak_hits", IntegerType(), False),
    ("pixel_leak_frames", ArrayType(IntegerType())),
    ("frames_rechecked", IntegerType(), False),
    ("failed_checks", ArrayType(StringType())),
    ("measured_at", TimestampType(), False),
    ("run_id", StringType()),
)
LEAKAGE_TASK_RESULT = StructType(list(nullable(LEAKAGE_RESULTS).fields) + [StructField("error", StringType())])
RECHECK_TASK_RESULT = _schema(
    ("sha256", StringType()),
    ("first_frame", IntegerType()),
    ("leaking_frames", ArrayType(IntegerType())),
    ("frames_rechecked", IntegerType()),
    ("error", StringType()),
)

# gold.manifest: every published file, traceable to its bronze input (no PHI: keyed pseudonyms, new UIDs).
GOLD_MANIFEST = _schema(
    ("sha256", StringType(), False),          # the bronze input
    ("run_key", StringType(), False),
    ("batch_id", StringType(), False),
    ("gold_path", StringType(), False),       # relative to the gold archive root
    ("output_sha256", StringType(), False),
    ("output_bytes", LongType(), False),
    ("patient_pseudonym", StringType(), False),
    ("study_instance_uid", StringType()),
    ("series_instance_uid", StringType()),
    ("sop_instance_uid", StringType()),
    ("sop_class_uid", StringType()),
    ("transfer_syntax", StringType()),
    ("syntax_kept", BooleanType()),
    ("redact_mode", StringType(), False),
    ("options", ArrayType(StringType())),
    ("options_fingerprint", StringType(), False),
    ("key_fingerprint", StringType(), False),
    ("checks_passed", ArrayType(StringType()), False),
    ("pipeline_version", StringType(), False),
    ("published_at", TimestampType(), False),
    ("run_id", StringType()),
)

# metrics.leakage_checks: every gate evaluation, for the leakage-over-time view.
LEAKAGE_CHECKS = _schema(
    ("run_id", StringType(), False),
    ("batch_id", StringType(), False),
    ("check", StringType(), False),
    ("files_checked", LongType(), False),
    ("files_failed", LongType(), False),
    ("passed", BooleanType(), False),
    ("evaluated_at", TimestampType(), False),
)


# metrics.kafka_messages: every message a Kafka stream read, what became of it, and how far behind the
# stream was (PHI-free: coordinates, sizes, hashes, header names in details; never a value or a reference).
KAFKA_MESSAGES = _schema(
    ("topic", StringType(), False),
    ("partition", IntegerType(), False),
    ("offset", LongType(), False),
    ("message_timestamp", TimestampType()),
    ("batch_id", StringType(), False),
    ("relative_path", StringType(), False),   # its landing file under the stream's folder: <topic>/<p>/<offset>.dcm
    ("status", StringType(), False),          # landed | rejected
    ("sha256", StringType(), False),          # the landed content; a rejected message: the key of its quarantine row
    ("size_bytes", LongType(), False),
    ("kind", StringType()),                   # bytes | reference (claim check)
    ("content_type", StringType()),
    ("declared_length", LongType()),
    ("declared_sha256", StringType()),
    ("source_system", StringType()),
    ("reason", StringType()),                 # why it was rejected (transforms.message_envelope.MessageReason)
    ("detail", StringType()),
    ("log_end_offset", LongType()),           # the partition's end when the micro-batch was read: the lag
    ("received_at", TimestampType(), False),
)
# What the landing task returns per message (the table's columns the driver adds later are left out).
MESSAGE_TASK_RESULT = StructType([f for f in nullable(KAFKA_MESSAGES).fields
                                  if f.name not in ("batch_id", "log_end_offset", "received_at")])
