"""Merging a partition's sorted runs into partition order, a slice at a time, memory bounded.

In: a partition's runs (see `spill`): this build's map batches, cached map batches, and files
a reduce wrote (a rewritten partition, a group merged on disk), each sorted by
`partition.SORT_KEYS`. Out: `Merged` slices of the partition in that order, each at most
SORT_SLICE rows and about `slice_bytes`.

A `Runs` holds every row's sort keys and size, and the rows themselves either in memory (map
batches: up to GROUP_BYTES of them at a time) or on disk, in small record batches read back a
slice at a time. Map batches beyond GROUP_BYTES are merged a group at a time into a run on
disk, and a file a reduce wrote is read where it lies, so a reduce task holds a group of map
batches, the keys, and a slice, whatever the size of the month.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.partition import SORT_KEYS, sort_order
from dataset_tools.build.spill import ALL_BATCHES, PartitionJob, job_batches, spill_schema

# A partition is taken in order a slice at a time: at most SORT_SLICE rows and SLICE_BYTES, or
# SPILLED_SLICE_BYTES when runs are read from disk. Shards' row groups do not depend on slices.
SORT_SLICE = 1024
SLICE_BYTES = 16 * 1024 * 1024
SPILLED_SLICE_BYTES = 2 * 1024 * 1024
GROUP_BYTES = 48 * 1024 * 1024  # map batches held in memory at most (by `row_sizes`) before they are merged onto disk
GROUP_RUNS = 64  # ... and at most this many of them
RUN_BATCH_ROWS = 64  # rows per record batch of a run a reduce writes (what a slice reads of it)
KEYS = [name for name, _ in SORT_KEYS]


@dataclass(slots=True)
class Merged:
    table: pa.Table  # rows in partition order (ties in the order of the runs, then of the rows)
    rows: np.ndarray  # each row's index in the runs put end to end


class Runs:
    """A partition's runs: per run, its rows' keys and sizes, and where its rows are."""

    def __init__(self, schema: pa.Schema, folder: Path | None = None, prefix: str = "") -> None:
        self.schema = schema
        self.folder, self.prefix = folder, prefix
        self._memory: list[pa.RecordBatch | None] = []  # per run: its rows, or None for a run on disk
        self._readers: list[pa.ipc.RecordBatchFileReader | None] = []
        self._starts: list[np.ndarray | None] = []  # per run on disk: the first row of each record batch
        self._keys: list[pa.Table] = []
        self._sizes: list[np.ndarray] = []
        self._stale: list[pa.Array | None] = []  # per run: paths whose rows it must not yield
        self._written: list[Path] = []  # the group runs this object wrote (deleted by `close`)
        self._maps: list[pa.MemoryMappedFile] = []  # files whose keys are read where they lie

    # -- building

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """A run held in memory."""
        if batch.num_rows:
            self._add(batch, None, None, batch.select(KEYS), row_sizes(batch), None)

    def add_file(self, path: Path, stale: list[str] | None = None) -> None:
        """A run in a file a reduce wrote (small record batches), read where it lies: its keys and
        sizes through a memory map (only those columns' pages are touched), its rows a slice at a
        time. Rows of the `stale` paths are left out of the merge."""
        source = pa.memory_map(str(path))
        self._maps.append(source)
        mapped = pa.ipc.open_file(source)
        counts = [mapped.get_batch(i).num_rows for i in range(mapped.num_record_batches)]
        if not sum(counts):
            return
        whole = mapped.read_all()
        stale_rows = None
        if stale:
            stale_rows = pc.is_in(whole.column("source_file"), pa.array(stale, pa.string())).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        self._add(None, pa.ipc.open_file(pa.OSFile(str(path))), starts, whole.select(KEYS).combine_chunks(), row_sizes(whole), stale_rows)

    def add_group(self, batches: list[pa.RecordBatch]) -> None:
        """Merge map batches (each a run) into one run on disk, in small record batches."""
        group = Runs(self.schema)
        for batch in batches:
            group.add_batch(batch)
        path = Path(self.folder) / f"{self.prefix}-{len(self._written)}.arrow"
        self._written.append(path)
        counts, keys, sizes = [], [], []
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, self.schema) as writer:
            for merged in merged_slices(group):
                for batch in merged.table.to_batches(max_chunksize=RUN_BATCH_ROWS):
                    writer.write_batch(batch)
                    counts.append(batch.num_rows)
                keys.append(merged.table.select(KEYS))
                sizes.append(row_sizes(merged.table))
        if counts:
            starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
            self._add(None, pa.ipc.open_file(pa.OSFile(str(path))), starts, pa.concat_tables(keys).combine_chunks(), np.concatenate(sizes), None)

    def _add(self, batch, reader, starts, keys, sizes, stale) -> None:
        self._memory.append(batch)
        self._readers.append(reader)
        self._starts.append(starts)
        self._keys.append(keys if isinstance(keys, pa.Table) else pa.Table.from_batches([keys]))
        self._sizes.append(sizes)
        self._stale.append(stale)

    # -- what `merged_slices` reads

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(sizes) for sizes in self._sizes], np.int64)

    def keys(self) -> pa.Table:
        return pa.concat_tables(self._keys).combine_chunks() if self._keys else pa.table({name: [] for name in KEYS})

    def sizes(self) -> np.ndarray:
        return np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)

    def stale(self) -> np.ndarray | None:
        """Which rows (the runs end to end) must not be yielded; None when none."""
        if not any(s is not None for s in self._stale):
            return None
        return np.concatenate([s if s is not None else np.zeros(len(z), bool) for s, z in zip(self._stale, self._sizes)])

    @property
    def slice_bytes(self) -> int:
        return SLICE_BYTES if all(batch is not None for batch in self._memory) else SPILLED_SLICE_BYTES

    def fetch(self, run: int, first: int, count: int) -> pa.Table:
        batch = self._memory[run]
        if batch is not None:
            return pa.Table.from_batches([batch.slice(first, count)], schema=self.schema)
        starts, reader = self._starts[run], self._readers[run]
        begin = int(np.searchsorted(starts, first, side="right")) - 1
        end = int(np.searchsorted(starts, first + count, side="left"))
        batches = [reader.get_batch(i) for i in range(begin, end)]
        return pa.Table.from_batches(batches, schema=self.schema).slice(first - int(starts[begin]), count)

    def close(self) -> None:
        self._memory, self._readers, self._keys = [], [], []
        for source in self._maps:
            source.close()
        for path in self._written:
            path.unlink(missing_ok=True)


def row_sizes(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Each row's approximate bytes (its body, plus 1 KiB for the rest), as slices count them."""
    lengths = pc.fill_null(pc.binary_length(table.column("body")), 0)
    return pc.add(lengths, 1024).to_numpy(zero_copy_only=False).astype(np.int64)


def merged_slices(runs: Runs | pa.Table) -> Iterator[Merged]:
    """The rows of the runs in partition order, a slice of at most SORT_SLICE rows and about
    `runs.slice_bytes` at a time (a table's record batches are its runs), stale rows left out.
    Every run must be in partition order (the map tasks and the reduce write them so): a slice
    of the merged order then takes a contiguous range of every run, fetched from the run
    without copying it whole (Arrow's take on a many-chunked string column would concatenate
    the column first)."""
    if isinstance(runs, pa.Table):
        table, runs = runs, Runs(runs.schema)
        for batch in table.to_batches():
            runs.add_batch(batch)
    lengths = runs.lengths
    if not len(lengths) or not lengths.sum():
        return
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    order = sort_order(runs.keys()).astype(np.int64)  # stable: ties keep run order
    stale = runs.stale()
    if stale is not None:
        order = order[~stale[order]]
    # Rows already in order (one run: a partition rewritten by an earlier build) are handed over
    # as slices of their runs, without a take's copy.
    in_order = bool((order[1:] > order[:-1]).all())
    sizes = runs.sizes()[order]
    for start, stop in bounds(sizes, SORT_SLICE, runs.slice_bytes):
        rows = order[start:stop]
        ascending = np.sort(rows)
        # A slice takes rows of each run that are contiguous in the run but for stale rows:
        # the stretch from its first to its last row is fetched, and the rows picked from it.
        cuts = np.searchsorted(ascending, offsets)
        taken = np.nonzero(cuts[1:] > cuts[:-1])[0]  # the runs this slice takes rows from
        first = ascending[cuts[taken]] - offsets[taken]  # where in its run each run's part begins
        last = ascending[cuts[taken + 1] - 1] - offsets[taken]
        spans = (last - first + 1).tolist()
        parts = [runs.fetch(r, f, n) for r, f, n in zip(taken.tolist(), first.tolist(), spans)]
        # Row g of run r sits at (g - offsets[r] - first[r]) + (where run r's part begins in the parts).
        begins = np.zeros(len(lengths), np.int64)
        begins[taken] = np.concatenate([[0], np.cumsum(spans)[:-1]])
        shift = np.zeros(len(lengths), np.int64)
        shift[taken] = begins[taken] - first - offsets[taken]
        positions = rows + shift[np.searchsorted(offsets, rows, side="right") - 1]
        piece = pa.concat_tables(parts)
        if not (in_order and len(positions) == piece.num_rows):
            piece = piece.take(pa.array(positions, pa.int64()))
        yield Merged(piece, rows)


def partition_runs(job: PartitionJob, arrow: pa.Schema, root: Path) -> Runs:
    """The runs of one partition's job: files a reduce wrote are read where they lie; map
    batches (cached ones without the rows of stale files, then this build's) are held in memory
    up to GROUP_BYTES and GROUP_RUNS, and each group beyond is merged onto disk first."""
    runs = Runs(spill_schema(arrow), root / "chunks", f"merge-{os.getpid()}-{job.part}")
    readers: dict[str, pa.ipc.RecordBatchFileReader] = {}
    pending: list[pa.RecordBatch] = []
    held = 0
    try:
        for position, (name, index) in enumerate(job.refs):
            if index == ALL_BATCHES:
                runs.add_file(root / name, job.drop if position < job.cached else None)
                continue
            for batch in job_batches(job, root, readers, position, position + 1):
                pending.append(batch)
                held += int(row_sizes(batch).sum())
            if held > GROUP_BYTES or len(pending) >= GROUP_RUNS:
                runs.add_group(pending)
                pending, held = [], 0
                readers.clear()
        for batch in pending:
            runs.add_batch(batch)
    except BaseException:
        runs.close()
        raise
    return runs


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
