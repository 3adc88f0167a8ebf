"""partition: rows to months (UTC of published_at), months to parts of `shard_rows` rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build.partition import month_keys, part_bounds, partition_counts, sort_order
from dataset_tools.layout import inputs_name, shard_name

UTC = pa.timestamp("us", tz="UTC")


def test_a_rows_partition_is_its_utc_month():
    stamps = [datetime(2025, 11, 30, 23, 59, tzinfo=timezone.utc), datetime(2025, 12, 1, tzinfo=timezone.utc),
              datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=5)))]  # 2025-12-31 21:00 UTC
    assert month_keys(pa.array(stamps, UTC)).to_pylist() == [202511, 202512, 202512]
    assert shard_name(202512, 3) == "data/2025/12/train-0003.parquet"
    assert inputs_name(202512) == "inputs/2025/12.parquet" and inputs_name(None) == "inputs/rejected.parquet"


def test_articles_are_counted_per_partition_and_rejects_are_not():
    files = pa.table({"part": pa.array([202511, None, 202511, 199001], pa.int32())})
    assert partition_counts(files) == {202511: 2, 199001: 1}


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=700))
@settings(max_examples=200, deadline=None)
def test_parts_cut_a_month_into_shard_rows_rows_the_last_fewer(rows, shard_rows):
    bounds = list(part_bounds(rows, shard_rows))
    assert [i for start, stop in bounds for i in range(start, stop)] == list(range(rows))
    assert all(stop - start == shard_rows for start, stop in bounds[:-1])
    assert not bounds or 0 < bounds[-1][1] - bounds[-1][0] <= shard_rows


def test_rows_are_ordered_by_published_at_then_id_stably():
    t = datetime(2025, 3, 1, tzinfo=timezone.utc)
    table = pa.table({"published_at": pa.array([t, t - timedelta(days=1), t, t], UTC), "id": ["b", "z", "a", "b"], "n": [0, 1, 2, 3]})
    assert table.take(sort_order(table)).column("n").to_pylist() == [1, 2, 0, 3]
