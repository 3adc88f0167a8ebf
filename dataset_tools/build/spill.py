"""The map -> reduce file contract: parsed rows on disk, by partition, each batch a sorted run.

A map task writes its rows to one chunk file in the cache (`chunks/<generation>-<task>.arrow`,
Arrow IPC): one record batch per partition (month) it has rows for, each in partition order
(`partition.SORT_KEYS`: a "run"), with `spill_schema` (every field nullable, no metadata). A
reduce task finds a partition's rows through `Ref`s (chunk file, batch index), reads only those
batches, and merges the runs. A partition that a reduce rewrote (stale rows dropped, or too
many small runs) is one file of its own (`parts/<generation>-<partition>.arrow`), referred to
whole (`ALL_BATCHES`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.layout import NEAR_DUPLICATE_COLUMN

Ref = tuple[str, int]  # (IPC file relative to the cache folder, record batch index or ALL_BATCHES)
ALL_BATCHES = -1  # a ref to every record batch of its file (a partition the reduce rewrote)
REDUCE_COLUMNS = (NEAR_DUPLICATE_COLUMN,)  # filled by the reduce (see neardup_stage)


def spill_schema(arrow: pa.Schema) -> pa.Schema:
    """The schema of rows between the map and the reduce: every field nullable (check_batch
    must see the nulls of required fields to report them) and no schema metadata (the shards
    get it back when the reduce casts to the table schema). Without the metadata, each of the
    hundreds of cached chunk files a reduce task keeps open costs next to nothing. Without the
    columns the reduce fills (`REDUCE_COLUMNS`), which no single file can know."""
    return pa.schema([f.with_nullable(True) for f in arrow if f.name not in REDUCE_COLUMNS])


def write_chunk(table: pa.Table, parts: list[int], target: Path) -> dict[int, int]:
    """Write `table` (sorted by partition, then in partition order; `parts` is each row's
    partition) to the chunk file `target`, one record batch per partition, via a temporary
    name. Returns partition -> the index of its record batch."""
    batches: dict[int, int] = {}
    tmp = target.with_name(target.name + ".tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            start = 0
            for i in range(1, len(parts) + 1):
                if i == len(parts) or parts[i] != parts[start]:
                    batches[parts[start]] = len(batches)
                    writer.write_table(table.slice(start, i - start))
                    start = i
    except BaseException:
        tmp.unlink(missing_ok=True)  # a disk full half-way: the half file goes at once
        raise
    os.replace(tmp, target)
    return batches


class DeltaRefs:
    """Where this build's map tasks put each partition's rows: partition -> refs, in task order."""

    def __init__(self) -> None:
        self._refs: dict[int, list[Ref]] = {}

    def add(self, chunk: str | None, batches: dict[int, int]) -> None:
        if chunk is None:
            return
        for part, index in batches.items():
            self._refs.setdefault(part, []).append((chunk, index))

    def partitions(self) -> set[int]:
        return set(self._refs)

    def refs(self, part: int) -> list[Ref]:
        return list(self._refs.get(part, ()))


@dataclass(slots=True)
class PartitionJob:
    """One partition for a reduce task: where its rows are, which are stale, where to rewrite it."""

    part: int
    refs: list[Ref]  # where the partition's rows are: cached ones, then this build's
    cached: int  # how many of `refs` are cached (the rest were parsed by this build)
    drop: list[str]  # paths whose cached rows are stale
    new: str | None  # write the merged rows here (relative to the cache); None: refs stay valid
    rows: int = 0  # the partition's articles, about (what decides whether it is merged in memory)


def job_batches(
    job: PartitionJob,
    root: Path,
    readers: dict[str, pa.ipc.RecordBatchFileReader],
    start: int,
    stop: int,
) -> list[pa.RecordBatch]:
    """The record batches of job.refs[start:stop], those of cached refs (before job.cached)
    without the stale files' rows, read batch by batch (not memory-mapped: only this partition's
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
