"""Merging a bucket's sorted runs into id order, a slice at a time, with memory bounded.

In: a bucket's runs (record batches, each sorted by id; see `spill`). Out: `Merged` slices of
the bucket in id order, each at most SORT_SLICE rows and about `slice_bytes`. Small buckets are
merged in memory (`TableRuns`); a bucket spread over more than GROUP_RUNS runs with more than
SPILL_ROWS rows (a cold build of a large corpus: one small run per map task) is first merged a
group of runs at a time into larger runs on disk (`SpilledRuns`), so a reduce task holds a
group of runs or a slice, whatever the corpus size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.spill import BucketJob, job_batches, spill_schema

# A bucket being written is taken in id order a slice at a time: at most SORT_SLICE rows and
# SLICE_BYTES, or SPILLED_SLICE_BYTES for a bucket merged on disk (a bucket grows with the
# corpus; what a spilled bucket's merge holds does not). Row groups do not depend on slices.
SORT_SLICE = 1024
SLICE_BYTES = 16 * 1024 * 1024  # a bucket in memory: its runs are held anyway, and a take per run per slice costs
SPILLED_SLICE_BYTES = 2 * 1024 * 1024
# A bucket of more than SPILL_ROWS rows (about 10 MB) in more than GROUP_RUNS runs is merged a
# group of runs at a time into larger runs on disk, which the final merge reads a batch at a
# time (see SpilledRuns); a smaller one is merged in memory, which is faster.
SPILL_ROWS = 2048
GROUP_RUNS = 64
RUN_BATCH_ROWS = 64  # rows per record batch of such a merged run


@dataclass(slots=True)
class Merged:
    table: pa.Table  # rows in id order (ties in the order of the runs, then of the rows)
    rows: list[int]  # each row's index in the bucket (its runs end to end, as `meta` has them)


class TableRuns:
    """A bucket's runs held in memory: the record batches of `table`, each sorted by id."""

    def __init__(self, table: pa.Table) -> None:
        self.schema = table.schema
        self.batches = [batch for batch in table.to_batches() if batch.num_rows]
        self.lengths = np.array([batch.num_rows for batch in self.batches], np.int64)
        self.meta = pa.Table.from_batches(self.batches, schema=table.schema)  # every column; rows numbered as merged
        self.ids = self.meta.column("id")
        self.sizes = row_sizes(self.meta)

    @property
    def slice_bytes(self) -> int:
        return SLICE_BYTES

    def fetch(self, run: int, first: int, count: int) -> pa.Table:
        return pa.Table.from_batches([self.batches[run].slice(first, count)], schema=self.schema)

    def close(self) -> None:
        self.batches = []


class SpilledRuns:
    """A bucket of more than SPILL_ROWS rows in more than GROUP_RUNS runs (a cold build of a
    large corpus: one small run per map task, and a bucket that grows with the corpus), merged
    without holding it: its runs are merged GROUP_RUNS at a time into larger sorted runs,
    written to files in record batches of RUN_BATCH_ROWS rows; the final merge keeps only each
    row's id, size and the columns that decide duplicates, and reads the rows back a slice at
    a time. A reduce task then holds a group of runs or a slice, whatever the corpus size."""

    META = ("id", "source_file", "source_sha256", "published_at", "modified_at")

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema) -> None:
        self.folder, self.prefix, self.schema = folder, prefix, schema
        self.paths: list[Path] = []
        self.starts: list[np.ndarray] = []  # per run: the first row of each of its record batches
        self.readers: list[pa.ipc.RecordBatchFileReader] = []
        self._meta: list[pa.Table] = []
        self._sizes: list[np.ndarray] = []

    def add_group(self, group: pa.Table) -> None:
        """Merge one group of runs (the record batches of `group`) into a run on disk."""
        path = self.folder / f"{self.prefix}-{len(self.paths)}.arrow"
        self.paths.append(path)
        counts: list[int] = []
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, self.schema) as writer:
            for merged in merged_slices(TableRuns(group)):
                for batch in merged.table.to_batches(max_chunksize=RUN_BATCH_ROWS):
                    writer.write_batch(batch)
                    counts.append(batch.num_rows)
                self._meta.append(merged.table.select(list(self.META)))
                self._sizes.append(row_sizes(merged.table))
        self.starts.append(np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]))
        self.readers.append(pa.ipc.open_file(pa.OSFile(str(path))))

    def finish(self) -> SpilledRuns:
        self.lengths = np.array([starts[-1] for starts in self.starts], np.int64)
        meta_schema = pa.schema([self.schema.field(name) for name in self.META])
        self.meta = pa.Table.from_batches(
            [batch for table in self._meta for batch in table.to_batches()], schema=meta_schema
        ).combine_chunks()
        self._meta = []
        self.ids = self.meta.column("id")
        self.sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
        return self

    @property
    def slice_bytes(self) -> int:
        return SPILLED_SLICE_BYTES

    def fetch(self, run: int, first: int, count: int) -> pa.Table:
        starts, reader = self.starts[run], self.readers[run]
        begin = int(np.searchsorted(starts, first, side="right")) - 1
        end = int(np.searchsorted(starts, first + count, side="left"))
        batches = [reader.get_batch(i) for i in range(begin, end)]
        return pa.Table.from_batches(batches, schema=self.schema).slice(first - int(starts[begin]), count)

    def close(self) -> None:
        self.readers = []
        for path in self.paths:
            path.unlink(missing_ok=True)


def row_sizes(table: pa.Table) -> np.ndarray:
    """Each row's approximate bytes (its body, plus 1 KiB for the rest), as slices count them."""
    lengths = pc.fill_null(pc.binary_length(table.column("body")), 0)
    return pc.add(lengths, 1024).to_numpy(zero_copy_only=False).astype(np.int64)


def merged_slices(runs: pa.Table | TableRuns | SpilledRuns) -> Iterator[Merged]:
    """The rows of a bucket's runs in id order, a slice of at most SORT_SLICE rows and about
    `runs.slice_bytes` at a time. Every run must be sorted by id (the map tasks and the bucket
    rewrites write them so; a table's record batches are its runs): a slice of the merged order
    then takes a contiguous range of every run, fetched from the run without copying it whole
    (Arrow's take on a many-chunked string column would concatenate the column first)."""
    if isinstance(runs, pa.Table):
        runs = TableRuns(runs)
    if not len(runs.lengths) or not runs.lengths.sum():
        return
    offsets = np.concatenate([[0], np.cumsum(runs.lengths)])
    order = pc.sort_indices(runs.ids).to_numpy().astype(np.int64)  # stable: ties keep run order
    # Rows already in order (one run: a bucket rewritten by an earlier build) are handed over as
    # slices of their runs, without a take's copy.
    in_order = bool((order[1:] > order[:-1]).all())
    sizes = runs.sizes[order]
    for start, stop in bounds(sizes, SORT_SLICE, runs.slice_bytes):
        rows = order[start:stop]
        ascending = np.sort(rows)
        # Where each run's rows begin and end in `ascending` (they are contiguous in the run).
        cuts = np.searchsorted(ascending, offsets)
        taken = np.nonzero(cuts[1:] > cuts[:-1])[0]  # the runs this slice takes rows from
        lo = cuts[taken]
        first = ascending[lo] - offsets[taken]  # where in its run each run's part begins
        parts = [runs.fetch(r, f, n) for r, f, n in zip(taken.tolist(), first.tolist(), (cuts[taken + 1] - lo).tolist())]
        # Row g of run r sits at g - offsets[r] - first[r] + lo[r] in the concatenated parts.
        shift = np.zeros(len(runs.lengths), np.int64)
        shift[taken] = lo - first - offsets[taken]
        positions = rows + shift[np.searchsorted(offsets, rows, side="right") - 1]
        piece = pa.concat_tables(parts)
        if not in_order:
            piece = piece.take(pa.array(positions, pa.int64()))
        yield Merged(piece, rows.tolist())


def _spills(job: BucketJob) -> bool:
    return len(job.refs) > GROUP_RUNS and job.rows > SPILL_ROWS


def bucket_runs(jobs: list[BucketJob], arrow: pa.Schema, root: Path) -> Iterator[tuple[BucketJob, TableRuns | SpilledRuns]]:
    """Each job's bucket as runs sorted by id, cached rows of stale files left out, in job
    order: in memory, or merged in groups onto disk (`SpilledRuns`) when there are more than
    GROUP_RUNS refs and SPILL_ROWS rows.

    The buckets to spill are merged group-major first (group g of every such bucket, then
    g + 1), and only the current group's chunk files are open: a cold build's buckets each have
    a run in every chunk file, and a reader holds its file's footer (about 13 KB), so holding
    one per chunk file for the whole task grew with the corpus (6 MB a worker at a million
    articles). The smaller buckets' chunk files stay open from one bucket to the next."""
    relaxed = spill_schema(arrow)
    readers: dict[str, pa.ipc.RecordBatchFileReader] = {}

    def rows(job: BucketJob, start: int, stop: int) -> pa.Table:
        # Read batch by batch (not memory-mapped): only this bucket's rows enter memory.
        return pa.Table.from_batches(job_batches(job, root, readers, start, stop), schema=relaxed)

    spilled = {job.bucket: SpilledRuns(root / "chunks", f"merge-{os.getpid()}-{job.bucket:03d}", relaxed) for job in jobs if _spills(job)}
    try:
        if spilled:
            large = [job for job in jobs if job.bucket in spilled]
            for start in range(0, max(len(job.refs) for job in large), GROUP_RUNS):
                for job in large:
                    if start < len(job.refs):
                        spilled[job.bucket].add_group(rows(job, start, min(start + GROUP_RUNS, len(job.refs))))
                readers.clear()
        for job in jobs:
            if job.bucket in spilled:
                yield job, spilled.pop(job.bucket).finish()
            else:
                yield job, TableRuns(rows(job, 0, len(job.refs)))
    finally:
        for runs in spilled.values():
            runs.close()


def bounds(sizes: np.ndarray, max_rows: int, max_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive runs of rows of at most `max_rows` rows and `max_bytes`
    (by `sizes`, each row's approximate bytes), each holding at least one row."""
    values = sizes.tolist()
    start, acc = 0, 0
    for i, size in enumerate(values):
        if i > start and (acc + size > max_bytes or i - start >= max_rows):
            yield start, i
            start, acc = i, 0
        acc += size
    if values:
        yield start, len(values)
