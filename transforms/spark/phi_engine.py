"""The `sparknlp` PHI engine on Spark: read, annotate, judge, in one Spark stage.

Spark NLP's annotators live in the JVM; a mapInPandas worker is a Python process with no JVM, so a
LightPipeline cannot run inside the frame task. The engine therefore splits the task where the
recognizer is called:

    read (mapInPandas: decode, detect, OCR; the text's fields become documents)
      -> Spark NLP pipeline (DataFrame transform: RegexMatcher, NER; JVM, on the executor)
      -> judge (mapInPandas: dictionary, rules, merge, boxes; fill and encode)

All three are narrow, so Spark runs them as one stage: each task streams its rows from the reading
worker through the executor's JVM into the judging worker, nothing is shuffled or written between
them, and the fitted pipeline is serialised once per executor, not per row. What passes between the
workers (the read text, identified) is a pickled payload in memory for the duration of the task.

The payload is opaque here: `pack` takes whatever the reading step needs the judging step to know.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import ArrayType, BinaryType, StringType, StructField, StructType

from transforms.phi.sparknlp_engine import Annotate, precomputed
from transforms.phi.sparknlp_pipeline import (ANNOTATIONS_COL, DEFAULT_MODEL_DIR, DOCUMENTS_COL, annotate_dataframe,
                                              annotations_by_document)

PAYLOAD_COL = "phi_payload"
READ_SCHEMA = StructType([StructField(PAYLOAD_COL, BinaryType(), False),
                          StructField(DOCUMENTS_COL, ArrayType(StringType(), False), False)])
READ_COLUMNS = READ_SCHEMA.fieldNames()

ReadPartition = Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]


def pack(payload: Any, documents: Sequence[str]) -> dict:
    """One row of the read step: the payload and the documents the recognizer will ask about."""
    return {PAYLOAD_COL: pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL),
            DOCUMENTS_COL: [str(document) for document in dict.fromkeys(documents)]}


def unpack(row: dict) -> tuple[Any, Annotate]:
    """The payload of one annotated row, and an `Annotate` over its precomputed annotations."""
    documents = [str(document) for document in row[DOCUMENTS_COL]]
    return pickle.loads(row[PAYLOAD_COL]), precomputed(annotations_by_document(documents, row[ANNOTATIONS_COL]))


def read_annotate_judge(spread: DataFrame, read_partition: ReadPartition,
                        judge_partition: Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]],
                        result_schema: StructType, model_dir: Path = DEFAULT_MODEL_DIR) -> DataFrame:
    """`read_partition` yields frames of READ_COLUMNS; `judge_partition` receives them with
    ANNOTATIONS_COL added and yields `result_schema` rows."""
    read = spread.mapInPandas(read_partition, READ_SCHEMA)
    annotated = annotate_dataframe(spread.sparkSession, read, model_dir)
    return annotated.mapInPandas(judge_partition, result_schema)
