"""The pixel path on Spark: files split into frame tasks across partitions, then one assembly per file.

Frame tasks carry no pixels: each reads its frames from the raw store (shared storage on a cluster),
writes the changed frames, already encoded, to a staging folder, and returns PHI-free box records. The
assembly task of a file then streams the de-identified header, the untouched frames (byte copies) and
the staged frames into the candidate output file.

Both steps are packed by estimated cost into a few partitions per core (`placement.py`), and the per-file
summary of the frame tasks is gathered on the driver (a few numbers per task) rather than joined in
Spark: each shuffle, count and join costs a small batch more seconds than the Python work it serves.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd
import pydicom
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.frame_task import FrameTaskError, frame_staging_path, process_frames, read_frame_texts
from transforms.keyring import Keyring
from transforms.modes import DEFAULT_PHI_ENGINE, PhiEngine
from transforms.deid.record import add_clean_pixel_data
from transforms.pixels.assemble import set_burned_in_annotation, write_deidentified_file
from transforms.pixels.encode import EncodedFrame, plan_encoding
from transforms.pixels.frames import FrameReader, UndecodableFrameError
from transforms.pixels.ocr import OcrCache
from transforms.spark.placement import spread_by_cost
from warehouse.schemas import ASSEMBLY_RESULT, DEID_FILES, FRAME_TASK_RESULT, FRAME_TEXT

TASK_COLUMNS = FRAME_TASK_RESULT.fieldNames()
ASSEMBLY_COLUMNS = ASSEMBLY_RESULT.fieldNames()
FRAME_COST_BYTES = 256 * 1024   # a frame's fixed cost (detection pass, OCR of its overlay), in pixel bytes


@dataclass(frozen=True)
class PixelSettings:
    run_key: str                  # options fingerprint + redaction mode: staging and rows are per run key
    redact_mode: str              # phi | all
    staging_root: str             # silver/staging
    frames_per_task: int = 8
    lossy_jpeg_policy: str = "same_syntax"
    phi_engine: str = DEFAULT_PHI_ENGINE  # python | sparknlp (see transforms/spark/phi_engine.py)
    # Whose staged frames these are (the run id): two runs that hold the same new content at the same
    # time stage their frames apart, so one run's assembly never deletes frames the other still reads.
    attempt: str = ""

    def frames_dir(self, sha256: str) -> Path:
        base = Path(self.staging_root) / "frames" / self.run_key / sha256
        return base / self.attempt if self.attempt else base

    def candidate_path(self, sha256: str) -> Path:
        return Path(self.staging_root) / "candidates" / self.run_key / f"{sha256}.dcm"


def plan_frame_tasks(files: DataFrame, frames_per_task: int) -> DataFrame:
    """One row per run of `frames_per_task` frames of each file with pixel data (`files` has sha256,
    batch_id, raw_path, frames, decoded_pixel_bytes), with its estimated cost for placement."""
    step = max(frames_per_task, 1)
    with_pixels = files.where(F.col("frames") > 0)
    starts = with_pixels.withColumn("first_frame", F.explode(F.sequence(F.lit(0), F.col("frames") - 1, F.lit(step))))
    frame_cost = F.coalesce(F.col("decoded_pixel_bytes"), F.lit(0)) / F.col("frames") + FRAME_COST_BYTES
    return (starts.withColumn("stop_frame", F.least(F.col("first_frame") + step, F.col("frames")))
            .withColumn("estimated_cost", frame_cost * (F.col("stop_frame") - F.col("first_frame")))
            .drop("decoded_pixel_bytes"))


def run_frame_tasks(tasks: DataFrame, settings: PixelSettings) -> DataFrame:
    """`tasks`: `plan_frame_tasks` rows (sha256, batch_id, raw_path, first_frame, stop_frame,
    estimated_cost), with phi_elements in phi mode. Collected on the driver to be packed by cost."""
    rows = tasks.collect()
    spread = spread_by_cost(tasks.sparkSession, rows, tasks.schema, [r["estimated_cost"] for r in rows])
    if settings.redact_mode == "phi" and settings.phi_engine == PhiEngine.sparknlp:
        return _run_with_spark_nlp(spread, settings).localCheckpoint(eager=True)

    def run_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        keyring = Keyring.from_env()
        caches: dict[str, OcrCache] = {}            # repeated overlays of one file are read once
        for batch in batches:
            rows = [_run_one(r, settings, keyring, caches.setdefault(r["sha256"], OcrCache()))
                    for r in batch.to_dict("records")]
            yield pd.DataFrame(rows, columns=TASK_COLUMNS)

    return spread.mapInPandas(run_partition, FRAME_TASK_RESULT).localCheckpoint(eager=True)


def _run_with_spark_nlp(spread: DataFrame, settings: PixelSettings) -> DataFrame:
    """Read every frame of a task, recognise in Spark NLP's JVM stage, then judge and fill (one stage;
    transforms/spark/phi_engine.py)."""
    from transforms.spark.phi_engine import READ_COLUMNS, pack, read_annotate_judge, unpack

    def read_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        caches: dict[str, OcrCache] = {}
        for batch in batches:
            read = [_read_one(r, caches.setdefault(r["sha256"], OcrCache())) for r in batch.to_dict("records")]
            yield pd.DataFrame([pack(payload, documents) for payload, documents in read], columns=READ_COLUMNS)

    def judge_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from transforms.phi.sparknlp_engine import AnnotatedRecognizer

        keyring = Keyring.from_env()
        for batch in batches:
            rows = []
            for record in batch.to_dict("records"):
                payload, annotate = unpack(record)
                rows.append(_judge_one(payload, settings, keyring, AnnotatedRecognizer(annotate, keyring=keyring)))
            yield pd.DataFrame(rows, columns=TASK_COLUMNS)

    return read_annotate_judge(spread, read_partition, judge_partition, FRAME_TASK_RESULT)


def _read_one(task: dict, cache: OcrCache) -> tuple[dict, list[str]]:
    """The first half of a frame task: its frames read, their lines' fields as documents."""
    from transforms.phi.sparknlp_engine import line_documents

    keys = ("sha256", "batch_id", "raw_path", "first_frame", "stop_frame")
    payload: dict = {"task": {k: task[k] for k in keys}, "found": None, "error": None}
    payload["task"]["phi_elements"] = [dict(e) for e in task["phi_elements"]] \
        if task.get("phi_elements") is not None else []
    started = time.perf_counter()
    try:
        payload["found"] = read_frame_texts(task["raw_path"], int(task["first_frame"]), int(task["stop_frame"]), cache)
    except FrameTaskError as exc:
        payload["error"] = exc.reason
    except Exception as exc:  # noqa: BLE001 - quarantine the file, never publish it half-redacted
        payload["error"] = f"frame_task_failed:{type(exc).__name__}"
    payload |= {"seconds": time.perf_counter() - started, "ocr_cache_hits": cache.hits,
                "tesseract_calls": cache.tesseract_calls}
    documents = [doc for found in payload["found"] or [] for doc in line_documents(found.read_lines)]
    return payload, documents


def _judge_one(payload: dict, settings: PixelSettings, keyring: Keyring, recognizer) -> dict:
    """The second half: the read frames judged with the engine's annotations, filled and encoded."""
    task = payload["task"]
    if payload["error"] is not None:
        row = dict.fromkeys(TASK_COLUMNS) | {k: task[k] for k in ("sha256", "batch_id", "first_frame", "stop_frame")}
        return row | {"run_key": settings.run_key, "changed_frames": [], "boxes": [], "error": payload["error"],
                      "seconds": payload["seconds"]}
    row = _run_one(task, settings, keyring, OcrCache(), recognizer, payload["found"])
    row["seconds"] = (row["seconds"] or 0.0) + payload["seconds"]
    if row["error"] is None:
        row |= {"ocr_cache_hits": payload["ocr_cache_hits"], "tesseract_calls": payload["tesseract_calls"]}
    return row


def _run_one(task: dict, settings: PixelSettings, keyring: Keyring, cache: OcrCache, recognizer=None,
             read: list | None = None) -> dict:
    row = dict.fromkeys(TASK_COLUMNS) | {k: task[k] for k in ("sha256", "batch_id", "first_frame", "stop_frame")}
    row |= {"run_key": settings.run_key, "changed_frames": [], "boxes": []}
    started = time.perf_counter()
    try:
        find_phi = (_phi_finder(task.get("phi_elements"), keyring, recognizer)
                    if settings.redact_mode == "phi" else None)
        result = process_frames(task["raw_path"], int(task["first_frame"]), int(task["stop_frame"]),
                                settings.redact_mode, keyring, str(settings.frames_dir(task["sha256"])),
                                find_phi, settings.lossy_jpeg_policy, cache, read)
    except FrameTaskError as exc:
        return row | {"error": exc.reason, "seconds": time.perf_counter() - started}
    except Exception as exc:  # noqa: BLE001 - quarantine the file, never publish it half-redacted
        return row | {"error": f"frame_task_failed:{type(exc).__name__}",
                      "seconds": time.perf_counter() - started}
    return row | {
        "changed_frames": result.changed_frames, "ocr_cache_hits": result.ocr_hits,
        "tesseract_calls": result.tesseract_calls, "seconds": result.seconds,
        "boxes": [{"frame": b.frame, "left": b.box.left, "top": b.box.top, "width": b.box.width,
                   "height": b.box.height, "confidence": b.confidence, "text_hash": b.text_hash,
                   "is_phi": b.is_phi, "category": b.category, "source": b.source, "redacted": b.redacted}
                  for b in result.boxes],
    }


def _phi_finder(phi_elements, keyring: Keyring, recognizer=None):
    """The PHI recognizer for one file, with the dictionary built from its bronze header rows."""
    from transforms.phi import build_phi_finder

    return build_phi_finder(list(phi_elements) if phi_elements is not None else [], keyring, recognizer=recognizer)


def frame_text_rows(results: DataFrame) -> DataFrame:
    exploded = results.where(F.col("error").isNull()).select(
        "sha256", "batch_id", "run_key", F.explode("boxes").alias("b"))
    return exploded.select("sha256", "batch_id", "run_key", "b.*").select(*FRAME_TEXT.fieldNames())


def file_results(results: DataFrame) -> dict[str, dict]:
    """Per file: changed frames, box counts, and the first error of any of its frame tasks. A few
    numbers per task, summed on the driver: a groupBy and join would cost more than the work."""
    per_task = results.select(
        "sha256", "changed_frames", "error", F.size("boxes").alias("text_boxes"),
        F.size(F.filter("boxes", lambda b: b["is_phi"])).alias("phi_boxes"),
        F.size(F.filter("boxes", lambda b: b["redacted"])).alias("redacted_boxes")).collect()
    summaries: dict[str, dict] = {}
    for task in per_task:
        summary = summaries.setdefault(task["sha256"], {"changed_frames": [], "text_boxes": 0, "phi_boxes": 0,
                                                        "redacted_boxes": 0, "error": None})
        summary["changed_frames"] += list(task["changed_frames"] or [])
        for count in ("text_boxes", "phi_boxes", "redacted_boxes"):
            summary[count] += task[count]
        if task["error"] is not None and (summary["error"] is None or task["error"] < summary["error"]):
            summary["error"] = task["error"]
    return summaries


def assemble_files(files: DataFrame, results: DataFrame, settings: PixelSettings) -> DataFrame:
    """`files`: sha256, batch_id, raw_path, frames, decoded_pixel_bytes, header_bytes; `results`: what
    `run_frame_tasks` returned for them. One assembly per file, packed by size."""
    summaries = file_results(results)
    rows = files.collect()
    costs = [(r["decoded_pixel_bytes"] or 0) + len(r["header_bytes"] or b"") for r in rows]
    spread = spread_by_cost(files.sparkSession, rows, files.schema, costs)

    def assemble_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame([assemble_one(r | summaries.get(r["sha256"], {}), settings)
                                for r in batch.to_dict("records")], columns=ASSEMBLY_COLUMNS)

    return spread.mapInPandas(assemble_partition, ASSEMBLY_RESULT).localCheckpoint(eager=True)


def assemble_one(row: dict, settings: PixelSettings) -> dict:
    started = time.perf_counter()
    sha = row["sha256"]
    out = dict.fromkeys(ASSEMBLY_COLUMNS) | {
        "sha256": sha, "batch_id": row["batch_id"], "run_key": settings.run_key,
        "redact_mode": settings.redact_mode, "frames": _count(row["frames"]),
        "text_boxes": _count(row.get("text_boxes")), "phi_boxes": _count(row.get("phi_boxes")),
        "redacted_boxes": _count(row.get("redacted_boxes"))}
    if isinstance(row.get("error"), str):
        return out | {"error": row["error"]}
    candidate = settings.candidate_path(sha)
    candidate.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its place, then renamed into it: a concurrent run of the same content (which writes
    # the same bytes: the output is deterministic) replaces it whole, and a reader never sees half a file.
    writing = candidate.with_name(f".{candidate.name}.{settings.attempt or os.getpid()}.incoming")
    header = pydicom.dcmread(io.BytesIO(bytes(row["header_bytes"])))
    if out["frames"]:
        # Claimed here, verified by the leakage gate: a file that fails it is never published.
        set_burned_in_annotation(header, verified_clean=True)
        if row.get("changed_frames") is not None and len(row["changed_frames"]):
            add_clean_pixel_data(header)
    try:
        if out["frames"] == 0:
            decision = _write_header_only(header, writing)
        else:
            decision = _write_with_pixels(header, row, settings, writing)
        os.replace(writing, candidate)
    except (UndecodableFrameError, FrameTaskError) as exc:
        writing.unlink(missing_ok=True)
        return out | {"error": exc.reason}
    except Exception as exc:  # noqa: BLE001 - never publish a half-written file
        writing.unlink(missing_ok=True)
        return out | {"error": f"assembly_failed:{type(exc).__name__}"}
    shutil.rmtree(settings.frames_dir(sha), ignore_errors=True)     # staged frames are now in the file
    return out | decision | {"candidate_path": str(candidate), "seconds": time.perf_counter() - started}


def _count(value) -> int:
    """A count, where None or NaN (no frame task for the file) is zero."""
    return 0 if value is None or pd.isna(value) else int(value)


def _write_with_pixels(header, row: dict, settings: PixelSettings, candidate: Path) -> dict:
    listed = row.get("changed_frames")            # a numpy array from Arrow, or None
    changed = sorted({int(i) for i in (listed if listed is not None else [])})
    frames_dir = settings.frames_dir(row["sha256"])
    with FrameReader(row["raw_path"]) as reader:
        plan = plan_encoding(reader.info, bool(changed), settings.lossy_jpeg_policy)
        staged = {i: _staged_loader(frame_staging_path(frames_dir, i), plan.output_syntax) for i in changed}
        decision = write_deidentified_file(header, reader, staged, candidate,
                                           lossy_jpeg_policy=settings.lossy_jpeg_policy, plan=plan)
    return {"output_sha256": decision.output_sha256, "output_bytes": decision.output_size,
            "original_syntax": decision.original_syntax, "output_syntax": decision.output_syntax,
            "syntax_kept": decision.kept, "syntax_reason": decision.reason or None,
            "frames_copied": decision.frames_copied, "frames_reencoded": decision.frames_reencoded}


def _staged_loader(path: Path, syntax):
    return lambda: EncodedFrame(path.read_bytes(), syntax)


def _write_header_only(header, candidate: Path) -> dict:
    import hashlib

    from transforms.deid import write_dataset

    data = write_dataset(header)
    candidate.write_bytes(data)
    syntax = str(header.file_meta.get("TransferSyntaxUID", "")) or None
    return {"output_sha256": hashlib.sha256(data).hexdigest(), "output_bytes": len(data),
            "original_syntax": syntax, "output_syntax": syntax, "syntax_kept": True, "syntax_reason": None,
            "frames_copied": 0, "frames_reencoded": 0}


def deid_file_rows(assembled: DataFrame) -> DataFrame:
    return assembled.where(F.col("error").isNull()).select(*DEID_FILES.fieldNames())


def assembly_failures(assembled: DataFrame) -> DataFrame:
    return assembled.where(F.col("error").isNotNull()).select("sha256", "batch_id", "error")
