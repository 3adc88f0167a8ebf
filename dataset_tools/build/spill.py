"""The map -> reduce file contract: parsed rows on disk, by bucket, each batch a sorted run.

A map task writes its rows to one chunk file in the cache (`chunks/<generation>-<task>.arrow`,
Arrow IPC): one record batch per bucket it has rows for, each sorted by id (a "run"), with
`spill_schema` (every field nullable, no metadata). A reduce task finds a bucket's rows through
`Ref`s (chunk file, batch index), reads only those batches, and merges the runs. A bucket that
a reduce rewrote (stale rows dropped, or too many small runs) is one file of its own
(`buckets/<generation>-<bucket>.arrow`), referred to whole (`ALL_BATCHES`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.neardup import COLUMN as NEAR_DUPLICATE_COLUMN
from dataset_tools.build.partition import BUCKETS

Ref = tuple[str, int]  # (IPC file relative to the cache folder, record batch index or ALL_BATCHES)
ALL_BATCHES = -1  # a ref to every record batch of its file (a bucket the reduce rewrote)
REDUCE_COLUMNS = (NEAR_DUPLICATE_COLUMN,)  # filled by the shard reduce (see neardup_stage)


def spill_schema(arrow: pa.Schema) -> pa.Schema:
    """The schema of rows between the map and the reduce: every field nullable (check_batch
    must see the nulls of required fields to report them) and no schema metadata (the shards
    get it back when the reduce casts to the table schema). Without the metadata, each of the
    hundreds of cached chunk files a reduce task keeps open costs next to nothing. Without the
    columns the reduce fills (`REDUCE_COLUMNS`), which no single file can know."""
    return pa.schema([f.with_nullable(True) for f in arrow if f.name not in REDUCE_COLUMNS])


def write_chunk(table: pa.Table, buckets: list[int], target: Path) -> dict[int, int]:
    """Write `table` (sorted by bucket, then id; `buckets` is each row's bucket) to the chunk
    file `target`, one record batch per bucket, via a temporary name. Returns bucket -> the
    index of its record batch."""
    batches: dict[int, int] = {}
    tmp = target.with_name(target.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        start = 0
        for i in range(1, len(buckets) + 1):
            if i == len(buckets) or buckets[i] != buckets[start]:
                batches[buckets[start]] = len(batches)
                writer.write_table(table.slice(start, i - start))
                start = i
    os.replace(tmp, target)
    return batches


class DeltaRefs:
    """Where this build's map tasks put each bucket's rows: per chunk file, the index of the
    record batch of every bucket (-1: none), as one small int16 row per file."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.rows: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None

    def add(self, chunk: str | None, batches: dict[int, int]) -> None:
        if chunk is None or not batches:
            return
        row = np.full(BUCKETS, -1, np.int16)
        row[list(batches)] = list(batches.values())
        self.chunks.append(chunk)
        self.rows.append(row)
        self._matrix = None

    @property
    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.stack(self.rows) if self.rows else np.full((0, BUCKETS), -1, np.int16)
        return self._matrix

    def buckets(self) -> set[int]:
        return {int(b) for b in np.nonzero((self.matrix >= 0).any(axis=0))[0]}

    def count(self, bucket: int) -> int:
        return int((self.matrix[:, bucket] >= 0).sum())

    def refs(self, bucket: int) -> list[Ref]:
        column = self.matrix[:, bucket]
        return [(self.chunks[i], int(column[i])) for i in np.nonzero(column >= 0)[0]]


@dataclass(slots=True)
class BucketJob:
    """One bucket for a reduce task: where its rows are, which are stale, where to rewrite it."""

    bucket: int
    refs: list[Ref]  # where the bucket's rows are: cached ones, then this build's
    cached: int  # how many of `refs` are cached (the rest were parsed by this build)
    drop: list[str]  # paths whose cached rows are stale
    new: str | None  # write the merged rows here (relative to the cache); None: refs stay valid
    rows: int = 0  # the bucket's articles, about (what decides whether it is merged in memory)


def job_batches(
    job: BucketJob,
    root: Path,
    readers: dict[str, pa.ipc.RecordBatchFileReader],
    start: int,
    stop: int,
) -> list[pa.RecordBatch]:
    """The record batches of job.refs[start:stop], those of cached refs (before job.cached)
    without the stale files' rows, read batch by batch (not memory-mapped: only this bucket's
    rows enter memory); `readers` keeps each file open for the next call."""
    stale = pa.array(job.drop, pa.string()) if job.drop else None
    batches = []
    for position in range(start, stop):
        name, index = job.refs[position]
        if name not in readers:
            readers[name] = pa.ipc.open_file(pa.OSFile(str(root / name)))
        reader = readers[name]
        for i in range(reader.num_record_batches) if index == ALL_BATCHES else (index,):
            batch = reader.get_batch(i)
            if stale is not None and position < job.cached:
                batch = batch.filter(pc.invert(pc.is_in(batch.column("source_file"), stale)))
            batches.append(batch)
    return batches
