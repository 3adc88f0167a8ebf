"""How rows are assigned to buckets and buckets to shards: the one module that knows.

A row's bucket is the first byte of its id (256 buckets; ids are hash prefixes, so buckets are
even). Every version and copy of one URL shares the id, hence the bucket: a bucket is where
duplicates are found, the unit the cache keeps, and the unit shards are made of. A shard is a
contiguous range of buckets, about `shard_rows` rows, so rows are sorted by id across the
dataset. In: the ids, and the number of rows per bucket. Out: buckets and `Shard`s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.layout import shard_name

BUCKETS = 256


@dataclass(frozen=True, slots=True)
class Shard:
    """One output shard: its relative path and the buckets whose rows it holds."""

    name: str
    buckets: range


def bucket_of(article_id: str) -> int:
    """The bucket of a row id: its first byte."""
    return int(article_id[:2], 16)


def bucket_array(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The bucket of each id, as int16."""
    return pa.array([bucket_of(id_) for id_ in ids.to_pylist()], pa.int16())


def bucket_counts(files: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Articles per bucket in a file table (its `bucket` column, null for rejects)."""
    buckets = pc.drop_null(files.column("bucket")).to_numpy(zero_copy_only=False)
    return np.bincount(buckets.astype(np.int64), minlength=BUCKETS)


def plan_shards(bucket_rows: np.ndarray, shard_rows: int) -> list[Shard]:
    """The shards for articles spread over the buckets as `bucket_rows` counts them: about
    `shard_rows` rows each, and never an empty one (a Parquet shard without rows breaks
    `datasets.load_dataset`), which only matters when there are few rows per bucket."""
    count = _shard_count(int(bucket_rows.sum()), shard_rows)
    while count > 1 and not all(bucket_rows[_buckets(i, count).start : _buckets(i, count).stop].any() for i in range(count)):
        count -= 1
    return [Shard(shard_name(i, count), _buckets(i, count)) for i in range(count)]


def _shard_count(rows: int, shard_rows: int) -> int:
    return min(BUCKETS, max(1, math.ceil(rows / max(1, shard_rows))))


def _buckets(index: int, count: int) -> range:
    """The contiguous bucket range of shard `index` of `count`."""
    return range(index * BUCKETS // count, (index + 1) * BUCKETS // count)
