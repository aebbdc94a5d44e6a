"""Header de-identification on Spark: one pass per file, per partition, pixel data never read.

Each task reads the file's header from the raw store (deferred pixel data), applies the profile and its
options, and returns the de-identified header without its pixel data (the pixel step writes that) and
the audit rows. A file that cannot be de-identified safely comes back with an error and no header.
"""

from __future__ import annotations

import time
from typing import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.deid import DeidError, DeidOptions, deidentify_dataset, write_dataset
from transforms.dicom_io import PIXEL_DATA_TAGS, HeaderError, file_size, find_incompleteness, read_header
from transforms.keyring import Keyring
from transforms.metadata import flatten_elements
from transforms.phi import RecognizerError, build_text_cleaner
from transforms.spark import spread_over_tasks
from warehouse.schemas import DEID_AUDIT, DEID_HEADERS, HEADER_DEID_TASK_RESULT

RESULT_COLUMNS = HEADER_DEID_TASK_RESULT.fieldNames()


def uses_text_cleaner(options: DeidOptions) -> bool:
    """Clean Descriptors / Structured Content / Graphics keep text, cleaned by the PHI recognizer."""
    return options.needs_text_cleaner


def deidentify_headers(files: DataFrame, options: DeidOptions, files_per_task: int = 32) -> DataFrame:
    """`files` has sha256, batch_id, raw_path; one result row per file, materialized once."""
    option_names = options.names

    def deidentify_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        keyring = Keyring.from_env()          # once per task: the secret never travels in a closure
        chosen = DeidOptions.from_names(list(option_names))
        for batch in batches:
            rows = [deidentify_one(r.sha256, r.batch_id, r.raw_path, chosen, keyring) for r in batch.itertuples()]
            yield pd.DataFrame(rows, columns=RESULT_COLUMNS)

    tasks = spread_over_tasks(files.select("sha256", "batch_id", "raw_path"), files_per_task)
    return tasks.mapInPandas(deidentify_partition, HEADER_DEID_TASK_RESULT).localCheckpoint(eager=True)


def deidentify_one(sha256: str, batch_id: str, raw_path: str, options: DeidOptions, keyring: Keyring) -> dict:
    started = time.perf_counter()
    row = dict.fromkeys(RESULT_COLUMNS) | {"sha256": sha256, "batch_id": batch_id, "audit": []}
    try:
        ds = read_header(raw_path)
        incomplete = find_incompleteness(ds, file_size(raw_path))
        if incomplete:
            return row | {"error": incomplete}
        # The same recognizer as the burned-in text, with this file's own header as its dictionary, so
        # the header and the pixels never disagree about what is PHI (built before the header changes).
        cleaner = build_text_cleaner(flatten_elements(ds)[0]) if uses_text_cleaner(options) else None
        result = deidentify_dataset(ds, options, keyring, cleaner)
        for tag in PIXEL_DATA_TAGS:                  # the pixel step writes pixel data from the raw store
            if tag in result.dataset:
                del result.dataset[tag]
        header_bytes = write_dataset(result.dataset)
    except HeaderError as exc:
        return row | {"error": exc.reason}
    except (DeidError, RecognizerError) as exc:
        return row | {"error": exc.reason}
    except Exception as exc:  # noqa: BLE001 - never half-clean a file: quarantine it with the type
        return row | {"error": f"deid_failed:{type(exc).__name__}"}
    return row | {
        "header_bytes": header_bytes,
        "sop_class_uid": str(result.dataset.get("SOPClassUID", "")) or None,
        "sop_instance_uid": result.sop_instance_uid,
        "study_instance_uid": result.study_instance_uid,
        "series_instance_uid": result.series_instance_uid,
        "patient_pseudonym": result.patient_pseudonym,
        "patient_key_source": result.patient_key_source,
        "options_fingerprint": result.options.fingerprint,
        "key_fingerprint": keyring.fingerprint,
        "method_codes": list(result.method_codes),
        "changed_elements": len(result.audit),
        "seconds": time.perf_counter() - started,
        "audit": [{k: a.get(k) for k in ("element_path", "tag", "keyword", "vr", "action", "original_hash")}
                  for a in result.audit],
    }


def header_rows(results: DataFrame) -> DataFrame:
    return results.where(F.col("error").isNull()).select(*DEID_HEADERS.fieldNames())


def audit_rows(results: DataFrame) -> DataFrame:
    exploded = results.where(F.col("error").isNull()).select(
        "sha256", "batch_id", "options_fingerprint", F.explode("audit").alias("a"))
    return exploded.select("sha256", "batch_id", "options_fingerprint", "a.*").select(*DEID_AUDIT.fieldNames())


def failures(results: DataFrame) -> DataFrame:
    return results.where(F.col("error").isNotNull()).select("sha256", "batch_id", "error")
