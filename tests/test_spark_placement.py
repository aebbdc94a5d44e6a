"""Placement of coarse tasks: packed by cost into a few partitions per core, heaviest first."""

from pyspark.sql import Row
from pyspark.sql.types import LongType, StringType, StructField, StructType

from transforms.spark.placement import BINS_PER_CORE, pack_by_cost, spread_by_cost


def test_pack_by_cost_evens_out_the_bins_and_orders_them_heaviest_first():
    costs = [9, 1, 1, 1, 8, 2, 2, 3, 3]
    groups = pack_by_cost(costs, 3)
    totals = [sum(costs[i] for i in group) for group in groups]
    assert sorted(i for group in groups for i in group) == list(range(len(costs)))
    assert totals == sorted(totals, reverse=True)
    assert max(totals) - min(totals) <= 1          # 30 split as 10/10/10 or 11/10/9 at worst


def test_pack_by_cost_keeps_a_heavy_task_alone_and_drops_empty_bins():
    groups = pack_by_cost([100, 1, 1], 5)
    assert groups[0] == [0]
    assert len(groups) == 3


def test_spread_by_cost_gives_each_bin_its_own_partition(spark):
    schema = StructType([StructField("name", StringType()), StructField("cost", LongType())])
    rows = [Row(name=f"task{i}", cost=cost) for i, cost in enumerate([50, 40, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5])]
    spread = spread_by_cost(spark, rows, schema, [r["cost"] for r in rows])
    partitions = spread.rdd.glom().map(lambda part: [r["cost"] for r in part]).collect()
    slots = spark.sparkContext.defaultParallelism * BINS_PER_CORE
    assert len(partitions) == min(slots, len(rows))
    assert all(partitions)                                   # no empty partition
    assert sorted(c for part in partitions for c in part) == sorted(r["cost"] for r in rows)
    totals = [sum(part) for part in partitions]
    assert totals == sorted(totals, reverse=True)            # the heaviest bin is scheduled first
    assert partitions[0] == [50]


def test_spread_by_cost_of_nothing_is_an_empty_frame(spark):
    schema = StructType([StructField("name", StringType())])
    assert spread_by_cost(spark, [], schema, []).count() == 0
