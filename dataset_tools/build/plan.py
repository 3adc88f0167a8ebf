"""The plan: what this build must read and which shards it must write, from the listing and
the cache.

In: the listing (path, size, mtime of every raw file) and the cache's state of the last build.
Out, before the parse stage: `FilesToRead` (the files whose size or mtime changed, those gone,
and the map tasks' bounds, written to a to-do file). Out, after it: the new file table, and a
`WritePlan` (per shard to write, its `BucketJob`s; the unchanged shards of the previous output,
linked into the new one as they are).
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
from dataset_tools.build.partition import BUCKETS, Shard, bucket_counts, plan_shards
from dataset_tools.build.spill import ALL_BATCHES, BucketJob, DeltaRefs, Ref
from dataset_tools.config import Settings
from dataset_tools.fileio import read_ipc
from dataset_tools.inputs import RawSource
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.schema import TableSchema

# Files per map task: at most CHUNK_FILES, fewer towards the end of the map (see task_bounds).
# Each task leaves one sorted run per bucket: larger tasks make fewer, longer runs for the reduce
# to read and merge (a run costs about as much to read for 8 rows as for 30).
CHUNK_FILES = 8192
TAIL_FILES = 512  # the smallest task, except for a small corpus
CHUNK_BYTES = 256 * 1024 * 1024  # raw bytes per map task, at most
MAX_REFS = 64  # a bucket spread over more spill files than this is compacted into one


def cache_key(source: RawSource, schema: TableSchema, settings: Settings) -> dict:
    """What the cached rows are valid for: another reader, schema, limit or raw folder starts afresh."""
    return {
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "schema_sha256": schema.sha256,
        "pyarrow": pa.__version__,
        "raw": source.describe(),
        "max_file_bytes": settings.max_file_bytes,
        "buckets": BUCKETS,
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
    cached articles that are stale (path, bucket), and the articles per bucket."""

    files: pa.Table | None
    stale: list[tuple[str, int]]
    bucket_rows: np.ndarray


def update_file_table(
    old_files: pa.Table | None, reading: FilesToRead, delta_path: Path, todo_path: Path, unchanged: list[str], delta_counts: np.ndarray
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
    stale_pairs = list(zip(stale_rows.column("path").to_pylist(), stale_rows.column("bucket").to_pylist()))
    if unchanged:
        # Their new mtime is in the to-do list (a file whose bytes were read was on it).
        todo = read_ipc(todo_path)
        refreshed = todo.filter(pc.is_in(todo.column("path"), pa.array(unchanged, pa.string())))
        mtimes = dict(zip(refreshed.column("path").to_pylist(), refreshed.column("mtime_ns").to_pylist()))
        column = [mtimes.get(p, m) for p, m in zip(old_files.column("path").to_pylist(), old_files.column("mtime_ns").to_pylist())]
        old_files = old_files.set_column(old_files.schema.get_field_index("mtime_ns"), "mtime_ns", pa.array(column, pa.int64()))
    files = replace_rows(old_files, stale, delta)
    return FileTableUpdate(files, stale_pairs, bucket_counts(files))


@dataclass
class ShardWrite:
    """A shard to write, and its buckets' jobs."""

    shard: Shard
    jobs: list[BucketJob]


@dataclass
class WritePlan:
    """The shards to write, the previous output's shards kept as they are (linked into the
    staging folder), and each bucket's refs once the shards are written (for the cache)."""

    writes: list[ShardWrite]
    kept: list[dict]
    shard_count: int
    buckets: dict[int, list[Ref]] = field(default_factory=dict)

    @property
    def buckets_written(self) -> set[int]:
        return {job.bucket for write in self.writes for job in write.jobs}

    @property
    def rewritten(self) -> set[str]:
        """The bucket files the reduce rewrites (relative to the cache)."""
        return {job.new for write in self.writes for job in write.jobs if job.new}


def plan_writes(
    previous: CacheState | None,
    update: FileTableUpdate,
    new_refs: DeltaRefs,
    shard_rows: int,
    generation: int,
    out: Path,
    staging: Path,
    relinked: set[int] = frozenset(),
) -> WritePlan:
    """Which shards to write (those with a bucket whose rows changed, or whose rows' near-
    duplicate links changed (`relinked`), or that cannot be kept) and how: per bucket, its
    cached refs without the stale rows plus this build's; a bucket with stale rows or spread
    over more than MAX_REFS files is rewritten in the cache. The shards kept are hard-linked
    into `staging` here."""
    drop_by_bucket: dict[int, list[str]] = {}
    for path, bucket in update.stale:
        drop_by_bucket.setdefault(bucket, []).append(path)
    changed_buckets = set(drop_by_bucket) | new_refs.buckets() | set(relinked)

    shards = plan_shards(update.bucket_rows, shard_rows)
    old_shards = previous.shards if previous else {}
    reusable = {}
    if old_shards.get("out") == str(out) and old_shards.get("count") == len(shards):
        reusable = {item["name"]: item for item in old_shards.get("items", [])}

    buckets: dict[int, list[Ref]] = {b: [tuple(r) for r in refs] for b, refs in (previous.buckets if previous else {}).items()}
    plan = WritePlan([], [], len(shards), buckets)
    for shard in shards:
        dirty = any(b in changed_buckets for b in shard.buckets)
        old = reusable.get(shard.name)
        if not dirty and old and _link_intact(out / shard.name, staging / shard.name, old):
            plan.kept.append(old)
            continue
        jobs = []
        for b in shard.buckets:
            cached = buckets.get(b, [])
            drop = drop_by_bucket.get(b, [])
            this_build = new_refs.refs(b)
            new = None
            if drop or len(cached) + len(this_build) > MAX_REFS:
                # Stale rows to drop, or rows spread over too many files: rewrite the bucket.
                new = f"buckets/{generation}-{b:03d}.arrow"
            jobs.append(BucketJob(b, cached + this_build, len(cached), drop, new, int(update.bucket_rows[b])))
            buckets[b] = [(new, ALL_BATCHES)] if new else cached + this_build
        plan.writes.append(ShardWrite(shard, jobs))
    return plan


def kept_bucket_refs(plan: WritePlan, cache: BuildCache) -> dict[int, list[Ref]]:
    """The refs the cache keeps per bucket: a bucket without rows has none; a bucket this build
    rewrote must have its file (the other refs were checked when they were made)."""
    rewritten = plan.rewritten
    return {b: refs for b, refs in plan.buckets.items() if refs and all(n not in rewritten or cache.path(n).exists() for n, _ in refs)}


def _link_intact(previous: Path, target: Path, item: dict) -> bool:
    """Hard-link an unchanged shard of the previous output into the staging folder, if that
    file is still exactly what the last build wrote (same inode, size and mtime)."""
    try:
        stat = previous.stat()
    except FileNotFoundError:
        return False
    if (stat.st_ino, stat.st_size, stat.st_mtime_ns) != (item.get("inode"), item.get("bytes"), item.get("mtime_ns")):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(previous, target)
    except OSError:
        shutil.copy2(previous, target)
    return True


def record_shards(out: Path, shards: dict) -> dict:
    """The cache's record of the shards written, with each file's inode and mtime once it is in
    place (what `_link_intact` checks next time)."""
    items = []
    for item in shards["items"]:
        stat = (out / item["name"]).stat()
        items.append({**item, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns})
    return {**shards, "items": items}
