"""How rows are assigned to partitions and partitions to shards: the one module that knows.

A row's partition is the month of its `published_at` in UTC, as a key `year * 100 + month`
(202511). The map spills a run per partition (the cache's unit), and the reduce writes each
partition's rows, ordered by (`published_at`, `id`), as parts of at most `shard_rows` rows
(`layout.shard_name`). Articles added for recent days land at the end of the newest month, so
a daily release rewrites the newest month's last part, and the other files keep their names and
bytes. Copies and versions of one URL can sit in different months: they are told apart before
the reduce, over the file table (see `dedup`), not within a partition.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The order of the rows within a partition, hence within and across the parts of a month.
SORT_KEYS = [("published_at", "ascending"), ("id", "ascending")]


def month_keys(published: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The partition (month key, int32) of each `published_at` (a UTC timestamp)."""
    keys = pc.add(pc.multiply(pc.year(published), 100), pc.month(published))
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    return keys.cast(pa.int32())


def partition_counts(files: pa.Table | pa.RecordBatch) -> dict[int, int]:
    """Articles per partition in a file table (its `part` column, null for rejects)."""
    counts = pc.value_counts(pc.drop_null(files.column("part")))
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))


def part_bounds(rows: int, shard_rows: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each part of a partition of `rows` rows: `shard_rows` rows each, the
    last one fewer. A partition without rows has no part (an empty Parquet file breaks
    `datasets.load_dataset`)."""
    step = max(1, shard_rows)
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


def sort_order(table: pa.Table) -> np.ndarray:
    """The indices that put `table`'s rows in partition order (stable: equal keys keep their order)."""
    return pc.sort_indices(table.select([name for name, _ in SORT_KEYS]), SORT_KEYS).to_numpy()
