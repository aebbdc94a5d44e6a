"""Where coarse tasks run: packed by estimated cost into a few partitions per core, heaviest first.

Why not `repartition(n)`: it deals rows round-robin from a random start in every input partition, so two
heavy frame tasks can share a partition while another stays empty, and one task per partition pays
Spark's fixed cost per Python task (~0.1 s here with `warehouse.python_daemon`, ~0.3 s without;
bench/python_tasks.py) once per row, more than many small tasks take to run. Packing by cost (longest first, each to the lightest bin) and handing Spark the
heaviest bins first lets its scheduler even out what the estimate gets wrong, at a few bins per core.

The task rows pass through the driver: they are small (paths, frame ranges, de-identified headers, the
file's header values in PHI mode), one per frame task or file of one landing batch. They stay in memory
(identified zone) and are never logged.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import StructType

BINS_PER_CORE = 3     # enough for the scheduler to even out a wrong estimate, few enough to stay cheap


def pack_by_cost(costs: Sequence[float], bins: int) -> list[list[int]]:
    """Indexes of `costs` in at most `bins` groups of near-equal total (longest processing time first),
    heaviest group first; empty groups are dropped."""
    loads = [(0.0, b) for b in range(max(bins, 1))]
    groups: list[list[int]] = [[] for _ in loads]
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        load, b = heapq.heappop(loads)
        groups[b].append(index)
        heapq.heappush(loads, (load + costs[index], b))
    totals = {b: load for load, b in loads}
    return [groups[b] for b in sorted(totals, key=lambda b: -totals[b]) if groups[b]]


def spread_by_cost(spark: SparkSession, rows: Sequence[Row], schema: StructType,
                   costs: Sequence[float]) -> DataFrame:
    """`rows` as a DataFrame of `schema` with one partition per packed bin, heaviest first (Spark starts
    a stage's tasks in partition order)."""
    if not rows:
        return spark.createDataFrame([], schema)
    slots = spark.sparkContext.defaultParallelism * BINS_PER_CORE
    groups = [[rows[i] for i in group] for group in pack_by_cost(costs, min(slots, len(rows)))]
    # One element per slice: `parallelize` cuts a list of n elements into n slices of one each.
    placed = spark.sparkContext.parallelize(groups, len(groups)).flatMap(lambda group: group)
    return spark.createDataFrame(placed, schema)
