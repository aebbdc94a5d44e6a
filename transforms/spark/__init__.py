"""Thin Spark wrappers: each applies a pure transform per partition (mapInPandas), never per row."""


def task_partitions(spark, items: int, items_per_task: int) -> int:
    """Enough tasks to keep every core busy, and no more than one per `items_per_task` items."""
    import math

    by_size = math.ceil(items / max(items_per_task, 1))
    return max(1, min(items, max(by_size, spark.sparkContext.defaultParallelism)))
