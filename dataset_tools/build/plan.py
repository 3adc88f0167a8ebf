"""The plan: what this build must read and which partitions it must write, from the listing
and the cache.

In: the listing (path, size, mtime of every raw file) and the cache's state of the last build.
Out, before the parse stage: `FilesToRead` (the files whose size or mtime changed, those gone,
and the map tasks' bounds, written to a to-do file). Out, after it: the new file table, and a
`WritePlan`: the partitions (months) to write, each a `PartitionJob` with the paths that lose
to another file; the files of the other months (shards and input listings) are linked from the
previous output as they are.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools import __version__
from dataset_tools.build import neardup
from dataset_tools.build.cache import BuildCache, CacheState
from dataset_tools.build.filetable import ARTICLE, replace_rows
from dataset_tools.build.partition import partition_counts
from dataset_tools.build.spill import ALL_BATCHES, DeltaRefs, PartitionJob, Ref
from dataset_tools.config import Settings
from dataset_tools.fileio import read_ipc
from dataset_tools.layout import DATA_DIR
from dataset_tools.inputs import RawSource
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.schema import TableSchema

# Files per map task: at most CHUNK_FILES, fewer towards the end of the map (see task_bounds).
# Each task leaves one sorted run per bucket: larger tasks make fewer, longer runs for the reduce
# to read and merge (a run costs about as much to read for 8 rows as for 30).
CHUNK_FILES = 8192
TAIL_FILES = 512  # the smallest task, except for a small corpus
CHUNK_BYTES = 256 * 1024 * 1024  # raw bytes per map task, at most
MAX_REFS = 64  # a partition spread over more spill files than this is compacted into one


def cache_key(source: RawSource, schema: TableSchema, settings: Settings) -> dict:
    """What the cached rows are valid for: another reader, schema, limit or raw folder starts afresh."""
    return {
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "schema_sha256": schema.sha256,
        "pyarrow": pa.__version__,
        "raw": source.describe(),
        "max_file_bytes": settings.max_file_bytes,
        "partitions": "month",
        "near_duplicates": neardup.config_key(settings.near_duplicates, settings.near_duplicate_threshold),
    }


@dataclass
class FilesToRead:
    """The files the parse stage reads: `todo` (path, size, mtime_ns, old_sha: the SHA-256 the
    cache knows, or null) in path order, and the cached paths no longer listed."""

    todo: pa.Table
    removed: pa.ChunkedArray
    same_paths: bool  # the listing has exactly the paths of the last build


def files_to_read(listing: pa.Table, old_files: pa.Table | None) -> FilesToRead:
    """New files, and those whose size or mtime changed since the last build (`old_files`, its
    file table, or None); and which cached files are gone."""
    removed = listing.column("path").slice(0, 0)
    if old_files is None:
        return FilesToRead(listing.append_column("old_sha", pa.nulls(listing.num_rows, pa.string())), removed, False)
    if listing.num_rows == old_files.num_rows and listing.column("path").equals(old_files.column("path")):
        # The same files as last time (the usual rebuild): both tables are in path order, so
        # their rows pair up without a join.
        changed = pc.invert(
            pc.and_(pc.equal(listing.column("size"), old_files.column("size")), pc.equal(listing.column("mtime_ns"), old_files.column("mtime_ns")))
        )
        return FilesToRead(listing.filter(changed).append_column("old_sha", old_files.column("sha256").filter(changed)), removed, True)
    joined = listing.join(
        old_files.select(["path", "size", "mtime_ns", "sha256"]).rename_columns(["path", "old_size", "old_mtime", "old_sha"]),
        "path",
        join_type="left outer",
    ).sort_by("path")
    same_stat = pc.and_(
        pc.fill_null(pc.equal(joined.column("size"), joined.column("old_size")), False),
        pc.equal(joined.column("mtime_ns"), joined.column("old_mtime")),
    )
    todo = joined.filter(pc.invert(pc.fill_null(same_stat, False))).select(["path", "size", "mtime_ns", "old_sha"])
    removed = old_files.filter(pc.invert(pc.is_in(old_files.column("path"), listing.column("path")))).column("path")
    return FilesToRead(todo, removed, False)


def write_tasks(todo: pa.Table, path: Path, workers: int) -> int:
    """Write the files to read to `path`, one record batch per map task (see `task_bounds`): the
    tasks are made from it as the workers take them, so the listing (tens of bytes per input)
    is not held while they run. Returns the number of tasks."""
    bounds = task_bounds(todo.column("size"), workers, CHUNK_FILES, CHUNK_BYTES)
    todo = todo.select(["path", "size", "mtime_ns", "old_sha"]).combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, todo.schema) as writer:
        for start, stop in bounds:
            writer.write_batch(todo.slice(start, stop - start).to_batches()[0])
    return len(bounds)


def task_bounds(sizes: pa.ChunkedArray, workers: int, files: int, max_bytes: int) -> list[tuple[int, int]]:
    """(start, stop) of each map task over the files to read, in order.

    A task takes at most `files` files and at most `max_bytes` of them (one file over it makes a
    task of its own), so that a task's text column stays far below Arrow's 2 GiB limit for one
    string array. Tasks shrink towards the end (guided scheduling): each takes at most a
    1/(2 * workers) share of the files left, and at least TAIL_FILES (or a 1/(4 * workers) share
    of all files, for a small corpus), so that most files go in large tasks while the last
    tasks are short and the workers finish together.
    """
    bounds = []
    if len(sizes) == 0:
        return bounds
    ends = np.cumsum(sizes.to_numpy())
    least = max(16, min(TAIL_FILES, math.ceil(len(ends) / (4 * workers))))
    start = 0
    while start < len(ends):
        before = ends[start - 1] if start else 0
        by_bytes = int(np.searchsorted(ends, before + max_bytes, side="right"))
        share = max(least, math.ceil((len(ends) - start) / (2 * workers)))
        stop = min(start + min(files, share), max(by_bytes, start + 1))
        bounds.append((start, stop))
        start = stop
    return bounds


@dataclass
class FileTableUpdate:
    """The new file table (None on a first build: the parse stage's spill is the table), the
    cached articles that are stale (path, partition) and their ids, and the articles per
    partition."""

    files: pa.Table | None
    stale: list[tuple[str, int]]
    part_rows: dict[int, int]
    stale_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))


def update_file_table(
    old_files: pa.Table | None, reading: FilesToRead, delta_path: Path, todo_path: Path, unchanged: list[str], delta_counts: dict[int, int]
) -> FileTableUpdate:
    """The last build's file table (`old_files`, None on a first build) with the rows of the
    files read replaced by what the parse stage made of them (`delta_path`, its spill), the
    rows of files gone removed, and the mtime of files whose bytes were `unchanged` refreshed."""
    if old_files is None:
        return FileTableUpdate(None, [], delta_counts)
    delta = read_ipc(delta_path)
    gone = pa.concat_arrays([reading.removed.combine_chunks().cast(pa.string()), delta.column("path").combine_chunks().cast(pa.string())])
    stale = pc.is_in(old_files.column("path"), gone)
    stale_rows = old_files.filter(pc.and_(stale, pc.equal(old_files.column("kind"), ARTICLE)))
    stale_pairs = list(zip(stale_rows.column("path").to_pylist(), stale_rows.column("part").to_pylist()))
    if unchanged:
        # Their new mtime is in the to-do list (a file whose bytes were read was on it).
        todo = read_ipc(todo_path)
        refreshed = todo.filter(pc.is_in(todo.column("path"), pa.array(unchanged, pa.string())))
        mtimes = dict(zip(refreshed.column("path").to_pylist(), refreshed.column("mtime_ns").to_pylist()))
        column = [mtimes.get(p, m) for p, m in zip(old_files.column("path").to_pylist(), old_files.column("mtime_ns").to_pylist())]
        old_files = old_files.set_column(old_files.schema.get_field_index("mtime_ns"), "mtime_ns", pa.array(column, pa.int64()))
    files = replace_rows(old_files, stale, delta)
    return FileTableUpdate(files, stale_pairs, partition_counts(files), stale_rows.column("id").combine_chunks())


@dataclass
class PartitionWrite:
    """A partition to write: its job, and the paths of its files that lose to another."""

    job: PartitionJob
    losers: list[str]


@dataclass
class WritePlan:
    """The partitions to write; the previous output's files kept as they are (linked into the
    staging folder: shards and input listings); and each partition's refs once the partitions
    are written (for the cache)."""

    writes: list[PartitionWrite]
    kept: list[dict]
    kept_listings: list[dict]
    parts: dict[int, list[Ref]] = field(default_factory=dict)

    @property
    def parts_written(self) -> set[int]:
        return {write.job.part for write in self.writes}

    @property
    def rewritten(self) -> set[str]:
        """The partition files the reduce rewrites (relative to the cache)."""
        return {write.job.new for write in self.writes if write.job.new}


def plan_writes(
    previous: CacheState | None,
    update: FileTableUpdate,
    new_refs: DeltaRefs,
    losers: pa.Table,
    old_losers: pa.Table | None,
    shard_rows: int,
    generation: int,
    out: Path,
    staging: Path,
    relinked: set[int] = frozenset(),
) -> WritePlan:
    """Which partitions to write: those with rows parsed by this build or stale rows, those
    where a file now loses (or no longer loses) to another, those where a row's near-duplicate
    link changed (`relinked`), and those whose files in the previous output are not intact.
    Per partition, its cached refs without the stale rows plus this build's; a partition with stale rows or spread over more than MAX_REFS files is
    rewritten in the cache. The files of the partitions kept are hard-linked into `staging` here."""
    drop_by_part: dict[int, list[str]] = {}
    for path, part in update.stale:
        drop_by_part.setdefault(part, []).append(path)
    lost_by_part: dict[int, list[str]] = {}
    for path, part in zip(losers.column("path").to_pylist(), losers.column("part").to_pylist()):
        lost_by_part.setdefault(part, []).append(path)
    dirty = set(drop_by_part) | new_refs.partitions() | _losers_changed(old_losers, losers) | set(relinked)

    record = previous.shards if previous else {}
    usable = record.get("out") == str(out) and record.get("shard_rows") == shard_rows
    old_items: dict[int, list[dict]] = {}
    for item in record.get("items", []) + record.get("listings", []) if usable else []:
        old_items.setdefault(item["part"], []).append(item)

    refs: dict[int, list[Ref]] = {p: [tuple(r) for r in refs] for p, refs in (previous.parts if previous else {}).items()}
    plan = WritePlan([], [], [], refs)
    for part in sorted(set(update.part_rows) | dirty):
        if not update.part_rows.get(part):
            refs.pop(part, None)  # no file of this month is left
            continue
        if part not in dirty and usable and _link_all(out, staging, old_items.get(part, [])):
            for item in old_items.get(part, []):
                (plan.kept if item["name"].startswith(DATA_DIR + "/") else plan.kept_listings).append(item)
            continue
        cached = refs.get(part, [])
        drop = drop_by_part.get(part, [])
        this_build = new_refs.refs(part)
        new = None
        if drop or len(cached) + len(this_build) > MAX_REFS:
            # Stale rows to drop, or rows spread over too many files: rewrite the partition.
            new = f"parts/{generation}-{part}.arrow"
        plan.writes.append(PartitionWrite(PartitionJob(part, cached + this_build, len(cached), drop, new, update.part_rows[part]), lost_by_part.get(part, [])))
        refs[part] = [(new, ALL_BATCHES)] if new else cached + this_build
    return plan


def _losers_changed(old: pa.Table | None, losers: pa.Table) -> set[int]:
    """The partitions of the files whose loss changed: they lose now and did not, lost and do
    not, or lose otherwise (`old`: the last build's losers, None on a first build)."""
    if old is None:
        return set(losers.column("part").to_pylist())
    both = pa.concat_tables([old, losers])
    # A file's outcome and the file it lost to are in its partition's input listing.
    keys = pc.binary_join_element_wise(both.column("path"), both.column("outcome"), both.column("other"), "\x00")
    counts = pc.value_counts(keys)
    once = pc.filter(counts.field("values"), pc.equal(counts.field("counts"), 1))
    return set(both.filter(pc.is_in(keys, once)).column("part").to_pylist())


def kept_partition_refs(plan: WritePlan, cache: BuildCache) -> dict[int, list[Ref]]:
    """The refs the cache keeps per partition: a partition without rows has none; a partition
    this build rewrote must have its file (the other refs were checked when they were made)."""
    rewritten = plan.rewritten
    return {p: refs for p, refs in plan.parts.items() if refs and all(n not in rewritten or cache.path(n).exists() for n, _ in refs)}


def _link_all(previous: Path, staging: Path, items: list[dict]) -> bool:
    """Hard-link a kept partition's files of the previous output into the staging folder, if
    every one is still exactly what the last build wrote (same inode, size and mtime); checked
    for all before any is linked, so that a partition is kept whole or written whole."""
    for item in items:
        try:
            stat = (previous / item["name"]).stat()
        except FileNotFoundError:
            return False
        if (stat.st_ino, stat.st_size, stat.st_mtime_ns) != (item.get("inode"), item.get("bytes"), item.get("mtime_ns")):
            return False
    for item in items:
        target = staging / item["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(previous / item["name"], target)
        except OSError:
            shutil.copy2(previous / item["name"], target)
    return True


def record_outputs(out: Path, record: dict) -> dict:
    """The cache's record of the files written, with each file's inode and mtime once it is in
    place (what `_link_all` checks next time)."""
    def stamped(items: list[dict]) -> list[dict]:
        out_items = []
        for item in items:
            stat = (out / item["name"]).stat()
            out_items.append({**item, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns})
        return out_items

    return {**record, "items": stamped(record["items"]), "listings": stamped(record.get("listings", []))}
