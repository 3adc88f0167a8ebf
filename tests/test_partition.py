"""partition: rows to buckets by id, buckets to shards of about `shard_rows` rows, none empty."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build.partition import BUCKETS, bucket_array, bucket_counts, bucket_of, plan_shards
from dataset_tools.layout import shard_name


def test_a_bucket_is_the_first_byte_of_the_id():
    assert bucket_of("00ffffffffffffff") == 0 and bucket_of("7f00000000000000") == 127 and bucket_of("ff00000000000000") == 255
    assert bucket_array(pa.array(["a1b2", "0003", "ff10"])).to_pylist() == [161, 0, 255]


def test_articles_are_counted_per_bucket_and_rejects_are_not():
    files = pa.table({"bucket": pa.array([3, None, 3, 255], pa.int16())})
    counts = bucket_counts(files)
    assert len(counts) == BUCKETS and counts[3] == 2 and counts[255] == 1 and counts.sum() == 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), min_size=BUCKETS, max_size=BUCKETS), st.integers(min_value=1, max_value=5000))
def test_shards_cover_every_bucket_once_in_order_and_none_is_empty(per_bucket, shard_rows):
    rows = np.array(per_bucket, np.int64)
    shards = plan_shards(rows, shard_rows)
    covered = [b for shard in shards for b in shard.buckets]
    assert covered == list(range(BUCKETS))  # contiguous ranges, in order: rows sorted by id across shards
    assert [s.name for s in shards] == [shard_name(i, len(shards)) for i in range(len(shards))]
    assert 1 <= len(shards) <= BUCKETS and len(shards) <= max(1, -(-int(rows.sum()) // shard_rows))
    if len(shards) > 1:
        assert all(rows[s.buckets.start : s.buckets.stop].sum() > 0 for s in shards)


def test_shards_hold_about_shard_rows_rows():
    rows = np.full(BUCKETS, 100, np.int64)  # 25,600 rows
    shards = plan_shards(rows, 10_000)
    assert len(shards) == 3
    assert [int(rows[s.buckets.start : s.buckets.stop].sum()) for s in shards] == [8500, 8500, 8600]
    assert plan_shards(np.zeros(BUCKETS, np.int64), 10_000)[0].name == "data/train-00000-of-00001.parquet"
