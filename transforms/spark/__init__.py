"""Thin Spark wrappers: each applies a pure transform per partition (mapInPandas), never per row."""


def task_partitions(spark, items: int, items_per_task: int) -> int:
    """Enough tasks to keep every core busy, and no more than one per `items_per_task` items."""
    import math

    by_size = math.ceil(items / max(items_per_task, 1))
    return max(1, min(items, max(by_size, spark.sparkContext.defaultParallelism)))


def spread_over_tasks(rows, items_per_task: int):
    """`rows` computed once, then repartitioned into `task_partitions` tasks.

    Counting a plan and then running it computes the plan twice, and each planning lists the files of
    every Delta table it reads (a Spark job per table, ~0.2 s each): for a stage's input (a join of
    several tables) that was 1-2 s per stage and run, whatever the batch's size.
    """
    materialized = rows.localCheckpoint(eager=True)
    return materialized.repartition(task_partitions(rows.sparkSession, materialized.count(), items_per_task))
