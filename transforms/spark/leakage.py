"""The leakage gate's measures on Spark: header scans per file, independent OCR per run of frames."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.deid.options import DeidOptions
from transforms.keyring import Keyring
from transforms.modes import DEFAULT_PHI_ENGINE, GateDciodvfy, PhiEngine
from transforms.leakage import (
    Expected,
    LeakageMeasures,
    header_promise,
    identified_dictionary,
    leaking_frames,
    measure_candidate,
    recheck_frames,
    recheck_lines,
)
from transforms.phi import PhiRecognizer
from transforms.spark import task_partitions
from transforms.spark.placement import spread_by_cost
from warehouse.schemas import LEAKAGE_RESULTS, LEAKAGE_TASK_RESULT, RECHECK_TASK_RESULT

RESULT_COLUMNS = LEAKAGE_TASK_RESULT.fieldNames()
RECHECK_COLUMNS = RECHECK_TASK_RESULT.fieldNames()


def recheck_candidate_frames(candidates: DataFrame, option_names: tuple[str, ...],
                            frames_per_task: int = 8, phi_engine: str = DEFAULT_PHI_ENGINE) -> DataFrame:
    """`candidates`: sha256, candidate_path, elements, recheck_frames. Rows of leaking frames, judged by
    the run's PHI engine (the Spark NLP engine reads, annotates and judges in one stage)."""
    tasks = (candidates.select("sha256", "candidate_path", "elements",
                               F.explode("recheck_frames").alias("frame"))
             .withColumn("first_frame", (F.col("frame") / frames_per_task).cast("int") * frames_per_task)
             .groupBy("sha256", "candidate_path", "first_frame")
             .agg(F.first("elements").alias("elements"), F.sort_array(F.collect_list("frame")).alias("frames")))
    rows = tasks.collect()       # one row per run of frames: packed by frame count, heaviest first
    spread = spread_by_cost(tasks.sparkSession, rows, tasks.schema, [len(r["frames"]) for r in rows])
    if phi_engine == PhiEngine.sparknlp:
        return _recheck_with_spark_nlp(spread, option_names).localCheckpoint(eager=True)

    def recheck_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        recognizer = PhiRecognizer(keyring=Keyring.from_env())
        options = DeidOptions.from_names(list(option_names))
        for batch in batches:
            rows = []
            for task in batch.to_dict("records"):
                row = {"sha256": task["sha256"], "first_frame": task["first_frame"],
                       "frames_rechecked": len(task["frames"]), "leaking_frames": [], "error": None}
                try:
                    dictionary = identified_dictionary(list(task["elements"]), options)
                    row["leaking_frames"] = recheck_frames(task["candidate_path"], [int(f) for f in task["frames"]],
                                                           dictionary, recognizer)
                except Exception as exc:  # noqa: BLE001 - a frame we cannot recheck is not clean
                    row["error"] = f"recheck_failed:{type(exc).__name__}"
                rows.append(row)
            yield pd.DataFrame(rows, columns=RECHECK_COLUMNS)

    return spread.mapInPandas(recheck_partition, RECHECK_TASK_RESULT).localCheckpoint(eager=True)


def _recheck_with_spark_nlp(spread: DataFrame, option_names: tuple[str, ...]) -> DataFrame:
    from transforms.phi.sparknlp_engine import AnnotatedRecognizer, line_documents
    from transforms.spark.phi_engine import READ_COLUMNS, pack, read_annotate_judge, unpack

    def read_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for task in batch.to_dict("records"):
                payload = {"sha256": task["sha256"], "first_frame": task["first_frame"],
                           "frames": [int(f) for f in task["frames"]], "read": None, "error": None,
                           "elements": [dict(e) for e in task["elements"]] if task["elements"] is not None else []}
                try:
                    payload["read"] = recheck_lines(task["candidate_path"], payload["frames"])
                except Exception as exc:  # noqa: BLE001 - a frame we cannot recheck is not clean
                    payload["error"] = f"recheck_failed:{type(exc).__name__}"
                documents = [doc for _, lines in payload["read"] or [] for doc in line_documents(lines)]
                rows.append(pack(payload, documents))
            yield pd.DataFrame(rows, columns=READ_COLUMNS)

    def judge_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        keyring = Keyring.from_env()
        options = DeidOptions.from_names(list(option_names))
        for batch in batches:
            rows = []
            for record in batch.to_dict("records"):
                payload, annotate = unpack(record)
                row = {"sha256": payload["sha256"], "first_frame": payload["first_frame"],
                       "frames_rechecked": len(payload["frames"]), "leaking_frames": [], "error": payload["error"]}
                if row["error"] is None:
                    try:
                        dictionary = identified_dictionary(payload["elements"], options)
                        row["leaking_frames"] = leaking_frames(payload["read"], dictionary,
                                                               AnnotatedRecognizer(annotate, keyring=keyring))
                    except Exception as exc:  # noqa: BLE001
                        row["error"] = f"recheck_failed:{type(exc).__name__}"
                rows.append(row)
            yield pd.DataFrame(rows, columns=RECHECK_COLUMNS)

    return read_annotate_judge(spread, read_partition, judge_partition, RECHECK_TASK_RESULT)


def measure_headers(candidates: DataFrame, option_names: tuple[str, ...], run_id: str,
                    files_per_task: int = 16, dciodvfy: GateDciodvfy = GateDciodvfy.required) -> DataFrame:
    """`candidates`: sha256, batch_id, run_key, candidate_path, raw_path, output_sha256, elements, rows,
    columns, frames, sop_class_uid, output_syntax. One leakage row per file (pixel figures filled in
    later). `dciodvfy`: see `transforms.leakage.added_validity_errors`."""
    spread = candidates.drop("recheck_frames").repartition(
        task_partitions(candidates.sparkSession, candidates.count(), files_per_task))

    def measure_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        recognizer = PhiRecognizer(keyring=Keyring.from_env())
        options = DeidOptions.from_names(list(option_names))
        for batch in batches:
            yield pd.DataFrame([_measure_one(r, options, recognizer, run_id, dciodvfy)
                                for r in batch.to_dict("records")], columns=RESULT_COLUMNS)

    return spread.mapInPandas(measure_partition, LEAKAGE_TASK_RESULT).localCheckpoint(eager=True)


def _measure_one(row: dict, options: DeidOptions, recognizer: PhiRecognizer, run_id: str, dciodvfy: GateDciodvfy) -> dict:
    out = dict.fromkeys(RESULT_COLUMNS) | {k: row[k] for k in ("sha256", "batch_id", "run_key", "output_sha256")}
    out |= {"measured_at": datetime.now(timezone.utc), "run_id": run_id}
    try:
        elements = list(row["elements"]) if row["elements"] is not None else []
        expected = Expected(_int(row["rows"]), _int(row["columns"]), int(row["frames"] or 0),
                            row["sop_class_uid"], row["output_syntax"], row.get("raw_path"))
        measures = measure_candidate(row["candidate_path"], header_promise(elements, options), expected, recognizer,
                                     dciodvfy)
    except Exception as exc:  # noqa: BLE001 - unmeasurable means not publishable
        return out | {"error": f"measure_failed:{type(exc).__name__}"}
    return out | _measure_columns(measures)


def _measure_columns(m: LeakageMeasures) -> dict:
    return {"header_leak_hits": m.header_leak_hits, "header_leak_paths": m.header_leak_paths,
            "uid_survivors": m.uid_survivors, "record_present": m.record_present,
            "structure_ok": m.structure_ok, "structure_problems": m.structure_problems,
            "pixel_leak_hits": 0, "pixel_leak_frames": [], "frames_rechecked": 0}


def combine(measured: DataFrame, rechecked: DataFrame) -> DataFrame:
    """Per file: header measures plus the frames the independent OCR pass still reads PHI in."""
    pixels = rechecked.groupBy("sha256").agg(
        F.sort_array(F.flatten(F.collect_list("leaking_frames"))).alias("leaking"),
        F.sum("frames_rechecked").cast("int").alias("rechecked"),
        F.min("error").alias("recheck_error"))
    joined = measured.join(pixels, "sha256", "left")
    return (joined
            .withColumn("pixel_leak_frames", F.coalesce("leaking", F.array().cast("array<int>")))
            .withColumn("pixel_leak_hits", F.size("pixel_leak_frames")
                        + F.when(F.col("recheck_error").isNotNull(), 1).otherwise(0))
            .withColumn("frames_rechecked", F.coalesce("rechecked", F.lit(0)))
            .withColumn("error", F.coalesce("error", "recheck_error")))


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def leakage_rows(results: DataFrame, rules) -> DataFrame:
    """Rows of silver.leakage_results with the failed checks named (from the one rule set)."""
    failed = F.array_compact(F.array(*[
        F.when(~_passes(rule), F.lit(rule.check)) for rule in rules]))
    with_failed = results.where(F.col("error").isNull()).withColumn("failed_checks", failed)
    return with_failed.select(*LEAKAGE_RESULTS.fieldNames())


def _passes(rule):
    column = F.col(rule.column)
    if rule.value is not None:
        return F.coalesce(column == F.lit(rule.value), F.lit(False))
    return F.coalesce(column.between(rule.low, rule.high), F.lit(False))


def measure_failures(results: DataFrame) -> DataFrame:
    return results.where(F.col("error").isNotNull()).select("sha256", "batch_id", "error")


