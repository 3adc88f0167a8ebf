"""The reduce stage: one task writes one shard.

In: the shard's `BucketJob`s (where each bucket's rows are, which cached rows are stale). For
each bucket in order: its runs merged into id order a slice at a time (`merge`), duplicates and
superseded versions dropped (`dedup`), `near_duplicate_of` joined by id (`neardup_stage`), the rows appended to the shard's Parquet file in row
groups packed row by row (`RowGroups`), and counted for the card. A bucket with stale rows or
too many runs is rewritten in the cache as one sorted run as it is merged. Out: a `ShardResult`
(rows, SHA-256, bytes, the losers found).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataset_tools.build.dedup import duplicate_rows, empty_losers
from dataset_tools.build.engines import release_memory
from dataset_tools.build.merge import bucket_runs, merged_slices, row_sizes
from dataset_tools.build.neardup_stage import LinkTable, NearDupJoin, fill_near_duplicates
from dataset_tools.build.spill import BucketJob
from dataset_tools.fileio import sha256_file
from dataset_tools.schema import worker_table_schema

# Row groups stay far below the Hub dataset viewer's limit on uncompressed row-group size.
ROW_GROUP_BYTES = 16 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 20_000
STATS_ROWS = 4096  # a shard's rows are counted for the card this many at a time (at least)


@dataclass(slots=True)
class ShardResult:
    name: str
    rows: int
    sha256: str
    bytes: int
    losers: pa.Table


def reduce_shard(
    jobs: list[BucketJob], cache_root: str, target: str, name: str, schema_path: str, stats_dir: str | None, near: NearDupJoin | None = None
) -> ShardResult:
    """Write the shard `name` at `target` from its buckets' rows (see the module's docstring);
    with `stats_dir`, its counts for the card are kept there under its SHA-256; `near_duplicate_of`
    is filled (or the copies dropped) by the links of `near` (see `neardup_stage`)."""
    from dataset_tools.card.stats import COVERAGE, DatasetStats, count_batch, shard_info, store_shard_stats

    schema = worker_table_schema(schema_path)
    arrow = schema.arrow_schema
    losers: list[pa.Table] = []
    stats = DatasetStats(coverage={name: 0 for name in COVERAGE})
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    # The card's counts are taken over a few thousand rows at a time: a bucket of a small corpus
    # holds a few rows, and counting each bucket's on its own cost 1.4 ms a bucket.
    uncounted: list[pa.Table] = []
    uncounted_rows = 0
    freed_at = 0  # the rows written when the memory pool was last trimmed
    links = LinkTable(cache_root, near)
    with pq.ParquetWriter(path, arrow, **parquet_options()) as writer:
        groups = RowGroups(writer)
        for job, runs in bucket_runs(jobs, arrow, Path(cache_root)):
            drop, lost = duplicate_rows(runs.meta, job.bucket)
            losers.append(lost)
            compact = sink = None
            if job.new is not None:
                # The rewritten bucket: written as it merges, so it is one sorted run, in slices.
                sink = pa.OSFile(str(Path(cache_root) / (job.new + ".tmp")), "wb")
                compact = pa.ipc.new_file(sink, runs.schema)
            # The bucket's rows in id order, merged from its sorted runs a slice at a time: memory
            # holds the runs once at most, and never a sorted (or concatenated) copy of the bucket.
            for merged in merged_slices(runs):
                if compact is not None:
                    compact.write_table(merged.table)  # every row (losers too), in id order
                part = merged.table
                if drop:
                    keep = [i for i, row in enumerate(merged.rows) if row not in drop]
                    if len(keep) < part.num_rows:
                        part = part.take(pa.array(keep, pa.int64()))
                part, copies = fill_near_duplicates(part, links, job.bucket)
                if copies is not None:
                    losers.append(copies)
                if not part.num_rows:
                    continue
                part = part.select(arrow.names).cast(arrow)
                uncounted.append(part)
                uncounted_rows += part.num_rows
                if uncounted_rows >= STATS_ROWS:
                    count_batch(stats, pa.concat_tables(uncounted))
                    uncounted, uncounted_rows = [], 0
                groups.append(part)
                rows += part.num_rows
            if compact is not None:
                compact.close()
                sink.close()
                os.replace(Path(cache_root) / (job.new + ".tmp"), Path(cache_root) / job.new)
            runs.close()
            del runs
            if rows - freed_at >= STATS_ROWS:
                release_memory()  # buckets grow with the corpus: do not let freed ones pile up
                freed_at = rows
        if uncounted:
            count_batch(stats, pa.concat_tables(uncounted))
            del uncounted
        groups.close()
    sha = sha256_file(path)
    if stats_dir is not None:
        # The card counts the same things; done here, in parallel, while the rows are at hand.
        stats.shards.append(shard_info(path.parent.parent, path))
        store_shard_stats(Path(stats_dir), sha, stats)
    lost_all = pa.concat_tables(losers) if losers else empty_losers()
    result = ShardResult(name, rows, sha, path.stat().st_size, lost_all)
    release_memory()
    return result



class RowGroups:
    """Rows appended in order, written in row groups of at most ROW_GROUP_MAX_ROWS rows and
    ROW_GROUP_BYTES (by `row_sizes`; a larger row is a group of its own), packed row by row:
    the groups, and so the file's bytes, do not depend on how the rows arrive."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.parts: list[pa.Table] = []
        self.bytes = self.rows = 0

    def append(self, table: pa.Table) -> None:
        ends = np.cumsum(row_sizes(table))  # the bytes of rows [0, i] of `table`
        start = 0
        while start < table.num_rows:
            before = int(ends[start - 1]) if start else 0
            fit = int(np.searchsorted(ends[start:], before + ROW_GROUP_BYTES - self.bytes, side="right"))
            fit = min(fit, ROW_GROUP_MAX_ROWS - self.rows, table.num_rows - start)
            if fit <= 0:
                if self.rows:
                    self.flush()
                    continue
                fit = 1
            self.parts.append(table.slice(start, fit))
            self.bytes += int(ends[start + fit - 1]) - before
            self.rows += fit
            start += fit
            if start < table.num_rows:
                self.flush()  # the next row does not fit

    def flush(self) -> None:
        if self.parts:
            table = pa.concat_tables(self.parts).combine_chunks()
            self.writer.write_table(table, row_group_size=table.num_rows)
        self.parts, self.bytes, self.rows = [], 0, 0

    def close(self) -> None:
        self.flush()


def parquet_options() -> dict:
    """Writer options: zstd always; content-defined chunking and the page index where the
    installed pyarrow has them (CDC keeps unchanged data in identical pages across versions,
    so the Hub's storage deduplicates them)."""
    params = inspect.signature(pq.ParquetWriter.__init__).parameters
    options: dict = {"compression": "zstd", "compression_level": 3, "store_schema": True}
    if "write_page_index" in params:
        options["write_page_index"] = True
    if "use_content_defined_chunking" in params:
        options["use_content_defined_chunking"] = True
    return options


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write one Parquet file the way shards are written: same options, bounded row groups."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, **parquet_options()) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
            return
        groups = RowGroups(writer)
        groups.append(table)
        groups.close()
