"""The reduce stage: one task writes one partition's shards.

In: the partition's `PartitionJob` (where its rows are, which cached rows are stale) and the
paths of the files that lose to another (see `dedup`). Its runs are merged into partition
order a slice at a time (`merge`), the losers left out, `near_duplicate_of` joined by id
(`neardup_stage`), and the rows appended to the month's parts, `shard_rows` rows each, in row
groups packed row by row (`RowGroups`), and counted for the card. A partition with stale rows or too many runs is rewritten in the cache as one sorted
run as it is merged (losers included: a later build may need them). Out: a `PartitionResult`,
one `ShardResult` (name, rows, SHA-256, bytes) per part written.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools.build.engines import release_memory
from dataset_tools.build.merge import RUN_BATCH_ROWS, merged_slices, partition_runs, row_sizes
from dataset_tools.build.neardup_stage import LinkTable, NearDupJoin
from dataset_tools.build.spill import PartitionJob
from dataset_tools.fileio import sha256_file
from dataset_tools.layout import shard_name
from dataset_tools.schema import worker_table_schema

# Row groups stay far below the Hub dataset viewer's limit on uncompressed row-group size.
ROW_GROUP_BYTES = 16 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 20_000
STATS_ROWS = 4096  # a shard's rows are counted for the card this many at a time (at least)
# Dictionary encoding numbers a column chunk's values in the order they first appear: a row
# added, edited or moved across a row group's start renumbers every later value, so every page
# of indices changes, and content-defined chunking cannot keep them (a 0.1% correction spread
# over the months sent 50% of the bytes again). Plain pages compressed with zstd keep what did
# not change, at about the same size.
DICTIONARY = False
# Content-defined pages of 128 KiB to 512 KiB (pyarrow's default: 256 KiB to 1 MiB): an edited
# row rewrites its page in each column, and smaller pages rewrite less. Measured on a release
# correcting 0.1% of 200,000 articles over 24 months: 40% of the folder in new chunks instead of
# 48%, for files 3% larger (bench_release.py).
CDC = {"min_chunk_size": 128 * 1024, "max_chunk_size": 512 * 1024}


@dataclass(slots=True)
class ShardResult:
    name: str
    rows: int
    sha256: str
    bytes: int


@dataclass(slots=True)
class PartitionResult:
    part: int
    shards: list[ShardResult] = field(default_factory=list)


def reduce_partition(
    job: PartitionJob,
    losers: list[str],
    shard_rows: int,
    cache_root: str,
    folder: str,
    schema_path: str,
    stats_dir: str | None,
    near: NearDupJoin | None = None,
) -> PartitionResult:
    """Write the shards of partition `job.part` into the build folder `folder` (see the
    module's docstring); with `stats_dir`, each shard's counts for the card are kept there under
    its SHA-256; `near_duplicate_of` is filled from the links of `near` (see `neardup_stage`)."""
    arrow = worker_table_schema(schema_path).arrow_schema
    root = Path(cache_root)
    runs = partition_runs(job, arrow, root)
    lost = pa.array(losers, pa.string()) if losers else None
    links = LinkTable(cache_root, near)
    shards = _Shards(Path(folder), job.part, shard_rows, arrow, stats_dir)
    compact = sink = None
    try:
        if job.new is not None:
            # The rewritten partition: written as it merges, so it is one sorted run, in small batches.
            sink = pa.OSFile(str(root / (job.new + ".tmp")), "wb")
            compact = pa.ipc.new_file(sink, runs.schema)
        for merged in merged_slices(runs):
            if compact is not None:
                compact.write_table(merged.table, max_chunksize=RUN_BATCH_ROWS)  # every row but stale ones
            rows = merged.table
            if lost is not None:
                rows = rows.filter(pc.invert(pc.is_in(rows.column("source_file"), lost)))
            if rows.num_rows:
                shards.append(links.join(rows).select(arrow.names).cast(arrow))
        shards.close()
    finally:
        runs.close()
        if compact is not None:
            compact.close()
            sink.close()
    if job.new is not None:
        os.replace(root / (job.new + ".tmp"), root / job.new)
    release_memory()
    return PartitionResult(job.part, shards.written)


class _Shards:
    """A partition's rows, appended in order, written as parts of `shard_rows` rows."""

    def __init__(self, folder: Path, part: int, shard_rows: int, arrow: pa.Schema, stats_dir: str | None) -> None:
        self.folder, self.part, self.shard_rows, self.arrow = folder, part, max(1, shard_rows), arrow
        self.stats_dir = Path(stats_dir) if stats_dir else None
        self.written: list[ShardResult] = []
        self._writer: pq.ParquetWriter | None = None
        self._groups: RowGroups | None = None
        self._rows = 0  # in the part being written
        self._uncounted: list[pa.Table] = []
        self._uncounted_rows = 0
        self._stats = None

    def append(self, table: pa.Table) -> None:
        start = 0
        while start < table.num_rows:
            if self._writer is None:
                self._open()
            take = min(table.num_rows - start, self.shard_rows - self._rows)
            piece = table.slice(start, take)
            self._groups.append(piece)
            self._count(piece)
            self._rows += take
            start += take
            if self._rows == self.shard_rows:
                self._finish()

    def close(self) -> None:
        if self._writer is not None:
            self._finish()

    def _open(self) -> None:
        from dataset_tools.card.stats import COVERAGE, DatasetStats

        self._path = self.folder / shard_name(self.part, len(self.written))
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self._path, self.arrow, **parquet_options())
        self._groups = RowGroups(self._writer)
        self._rows = 0
        self._stats = DatasetStats(coverage={name: 0 for name in COVERAGE})

    def _count(self, piece: pa.Table) -> None:
        # The card's counts are taken over a few thousand rows at a time (a call per slice cost more).
        from dataset_tools.card.stats import count_batch

        self._uncounted.append(piece)
        self._uncounted_rows += piece.num_rows
        if self._uncounted_rows >= STATS_ROWS:
            count_batch(self._stats, pa.concat_tables(self._uncounted))
            self._uncounted, self._uncounted_rows = [], 0

    def _finish(self) -> None:
        from dataset_tools.card.stats import count_batch, shard_info, store_shard_stats

        self._groups.close()
        self._writer.close()
        if self._uncounted:
            count_batch(self._stats, pa.concat_tables(self._uncounted))
            self._uncounted, self._uncounted_rows = [], 0
        sha = sha256_file(self._path)
        if self.stats_dir is not None:
            # The card counts the same things; done here, in parallel, while the rows are at hand.
            self._stats.shards.append(shard_info(self.folder, self._path))
            store_shard_stats(self.stats_dir, sha, self._stats)
        name = self._path.relative_to(self.folder).as_posix()
        self.written.append(ShardResult(name, self._rows, sha, self._path.stat().st_size))
        self._writer = self._groups = None
        release_memory()


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
    so the Hub's storage deduplicates them); no dictionary encoding (see DICTIONARY)."""
    params = inspect.signature(pq.ParquetWriter.__init__).parameters
    options: dict = {"compression": "zstd", "compression_level": 3, "store_schema": True, "use_dictionary": DICTIONARY}
    if "write_page_index" in params:
        options["write_page_index"] = True
    if "use_content_defined_chunking" in params:
        options["use_content_defined_chunking"] = CDC
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
