"""raw/ -> records -> dedup -> Parquet shards + report + manifest + card, atomically.

The build is two stages of tasks, run by an engine (this process, a local process pool, or a
dask cluster), so that the rows in memory are a few batches and a bucket, never the corpus:

1. map: tasks read and parse chunks of raw files, check every row against the schema, and
   write the rows to a chunk file in the cache, one Arrow record batch per bucket (256
   buckets, by the first byte of the row id). They return one bookkeeping row per file and
   where each bucket's batch is; the rows never pass through the main process.
2. reduce: one task per output shard (a contiguous range of buckets). For each bucket it reads
   that bucket's batches (cached ones and new ones), resolves duplicates and superseded
   versions of the same URL (they share the id, hence the bucket), sorts by id, appends to the
   shard's Parquet file and counts the card's statistics. Rows are therefore sorted by id
   across the whole dataset.

Each map task also returns one bookkeeping row per input file (path, size, mtime, SHA-256,
outcome). The main process appends them to a spill file as they arrive and keeps only row
counts per bucket while the workers run; the file table is read back after the workers have
exited, and report.json, manifest.json and the cache's file table are written from it.

Incremental: the cache (see cache.py) remembers every file's size, mtime and SHA-256 and where
every bucket's parsed rows are. A rebuild re-reads only files whose size or mtime changed, re-parses only
those whose bytes changed, rewrites only the shards whose buckets changed, and reuses the
unchanged shard files of the previous output (hard links, when they are intact).

Everything is written into a staging folder beside the target and swapped in at the end: an
interrupted or failed build leaves the previous output untouched. Nothing in the output depends
on the clock, the machine, absolute paths, the engine or worker scheduling, so two builds of the
same input, clean or incremental, are byte-identical.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib
import math
import operator
import os
import shutil
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import __version__
from dataset_tools.fileio import join_json_listing, json_lines, sha256_file, write_json_listing_items, write_json_listing_lines
from dataset_tools.cache import BuildCache, CacheState, process_alive, table_batches
from dataset_tools.config import Settings, default_cache_dir
from dataset_tools.early import FOLDERS_FILE
from dataset_tools.engines import make_engine
from dataset_tools.errors import BuildFailed
from dataset_tools.inputs import RawSource, source_for
from dataset_tools.metadata.plot import Painter
from dataset_tools.readers import PARSER_VERSION, parse_article
from dataset_tools.records import Article, Reject
from dataset_tools.schema import TableSchema, check_batch, load_table_schema

DATA_DIR = "data"
SPLIT = "train"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
BUCKETS = 256
# Row groups stay far below the Hub dataset viewer's limit on uncompressed row-group size.
ROW_GROUP_BYTES = 16 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 20_000
# Files per map task: at most CHUNK_FILES, fewer towards the end of the map (see _task_bounds).
# Each task leaves one sorted run per bucket: larger tasks make fewer, longer runs for the reduce
# to read and merge (a run costs about as much to read for 8 rows as for 30).
CHUNK_FILES = 8192
TAIL_FILES = 512  # the smallest task, except for a small corpus
CHUNK_BYTES = 256 * 1024 * 1024  # raw bytes per map task, at most
# A bucket being written is taken in id order a slice at a time: at most SORT_SLICE rows and
# SLICE_BYTES, or SPILLED_SLICE_BYTES for a bucket merged on disk (a bucket grows with the
# corpus; what a spilled bucket's merge holds does not). Row groups do not depend on slices.
SORT_SLICE = 1024
SLICE_BYTES = 16 * 1024 * 1024  # a bucket in memory: its runs are held anyway, and a take per run per slice costs
SPILLED_SLICE_BYTES = 2 * 1024 * 1024
BATCH_FILES = 512  # a map task turns its parsed articles into a record batch this often
MAX_REFS = 64  # a bucket spread over more spill files than this is compacted into one
# A bucket of more than SPILL_ROWS rows (about 10 MB) in more than GROUP_RUNS runs is merged a
# group of runs at a time into larger runs on disk, which the final merge reads a batch at a
# time (see _SpilledRuns); a smaller one is merged in memory, which is faster.
SPILL_ROWS = 2048
GROUP_RUNS = 64
RUN_BATCH_ROWS = 64  # rows per record batch of such a merged run
PAINTER_ROWS = 10_000  # a build of this many rows or more draws the card's plot in a process of its own
STATS_ROWS = 4096  # a shard's rows are counted for the card this many at a time (at least)
INLINE_FILES = 64  # below this many files to read, a process pool costs more than it saves

Progress = Callable[[str, int, int], None]

FILES_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sha256", pa.string()),
        ("kind", pa.string()),  # article | rejected
        ("id", pa.string()),
        ("bucket", pa.int16()),
        ("language", pa.string()),
        ("language_source", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)
LOSERS_SCHEMA = pa.schema(
    [("path", pa.string()), ("outcome", pa.string()), ("other", pa.string()), ("id", pa.string()), ("bucket", pa.int16())]
)


@dataclass
class BuildResult:
    """What a build did: where it wrote, and the counts that report.json holds."""

    out: Path
    version: str
    inputs: int
    rows: int
    duplicates: int
    superseded: int
    rejected: int
    rejects_by_reason: dict[str, int]
    shards: list[dict]
    output_bytes: int
    parsed: int = 0
    shards_written: int = 0
    language_sources: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds per stage, in order

    def summary(self) -> dict:
        """The machine-readable summary the CLI prints with --json."""
        return {
            "out": str(self.out),
            "version": self.version,
            "inputs": self.inputs,
            "rows": self.rows,
            "duplicates": self.duplicates,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "rejects_by_reason": self.rejects_by_reason,
            "shards": len(self.shards),
            "output_bytes": self.output_bytes,
            "parsed": self.parsed,
            "shards_written": self.shards_written,
            "seconds": self.seconds,
        }


class Stopwatch:
    """Wall-clock seconds per build stage (`lap(name)` closes the stage that just ended)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.last, 3)
        self.last = now

    def result(self) -> dict[str, float]:
        return {**self.laps, "total": round(time.perf_counter() - self.start, 3)}


def bucket_of(article_id: str) -> int:
    """The bucket of a row id: its first byte. Ids are hash prefixes, so buckets are even."""
    return int(article_id[:2], 16)


def shard_count(inputs: int, shard_rows: int) -> int:
    return min(BUCKETS, max(1, math.ceil(inputs / max(1, shard_rows))))


def shard_buckets(index: int, count: int) -> range:
    """The contiguous bucket range of shard `index` of `count`."""
    return range(index * BUCKETS // count, (index + 1) * BUCKETS // count)


def _choose_shard_count(bucket_rows: np.ndarray, shard_rows: int) -> int:
    """Shards for articles spread over the buckets as `bucket_rows` counts them: about
    `shard_rows` rows each, and never an empty one (a Parquet shard without rows breaks
    `datasets.load_dataset`), which only matters when there are few rows per bucket."""
    count = shard_count(int(bucket_rows.sum()), shard_rows)
    while count > 1 and not all(bucket_rows[shard_buckets(i, count).start : shard_buckets(i, count).stop].any() for i in range(count)):
        count -= 1
    return count


def _bucket_counts(files: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Articles per bucket in a file table."""
    buckets = pc.drop_null(files.column("bucket")).to_numpy(zero_copy_only=False)
    return np.bincount(buckets.astype(np.int64), minlength=BUCKETS)


def _ipc_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, read one at a time (not memory-mapped)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def _read_ipc(path: Path) -> pa.Table:
    """An Arrow IPC file read into memory (not memory-mapped), its batches combined."""
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all().combine_chunks()


def shard_name(index: int, count: int) -> str:
    return f"{DATA_DIR}/{SPLIT}-{index:05d}-of-{count:05d}.parquet"


# -- stage 1: map ---------------------------------------------------------------------------


def read_input(source: RawSource, path: str, size: int, max_bytes: int) -> tuple[Article | Reject, bytes | None]:
    """Read one raw file and parse it; the size limit is checked before reading into memory."""
    if size > max_bytes:
        sha = _sha256_stream(source, path)
        return Reject(path, sha, "too-large", f"file is {size} bytes, over the limit of {max_bytes} bytes", size), None
    try:
        data = source.read(path, size)
    except OSError as exc:
        return Reject(path, "", "unreadable", f"cannot read file: {exc.strerror or exc}", size), None
    return parse_article(data, path), data


def _sha256_stream(source: RawSource, path: str) -> str:
    digest = hashlib.sha256()
    if source.is_local:
        with open(source.local_root / path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    import fsspec

    with fsspec.open(f"{source.root}/{path}", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class _MapResult:
    files: pa.RecordBatch
    chunk: str | None  # the IPC file (relative to the cache) holding this task's rows
    batches: dict[int, int]  # bucket -> index of the record batch holding its rows in `chunk`
    unchanged: list[str]  # paths whose bytes equal the cached version (only their mtime changed)


def _map_chunk(
    source: RawSource,
    paths: list[str],
    sizes: list[int],
    mtimes: list[int],
    known_sha: list[str | None],
    max_bytes: int,
    schema_path: str,
    cache_root: str,
    chunk_name: str,
) -> _MapResult:
    schema = _schema_cached(schema_path)
    files: dict[str, list] = {name: [] for name in FILES_SCHEMA.names}
    unchanged: list[str] = []
    parts: list[pa.RecordBatch] = []
    pending: list[tuple[Article | Reject, str, int, int]] = []
    article_rows: list[int] = []  # the `files` row of each article in `parts`, in order

    def flush() -> None:
        # Every BATCH_FILES files, the parsed articles become one record batch and are freed:
        # a task holds Arrow buffers, not thousands of Python objects.
        first = len(files["path"])
        articles = [(first + i, record) for i, (record, *_) in enumerate(pending) if isinstance(record, Article)]
        if articles:
            parts.append(articles_to_batch([a for _, a in articles], schema))
            article_rows.extend(row for row, _ in articles)
        _account(files, pending)
        pending.clear()

    for path, size, mtime, previous in zip(paths, sizes, mtimes, known_sha):
        if previous is not None and size <= max_bytes:
            try:
                data = source.read(path, size)
            except OSError:
                data = None
            if data is not None and hashlib.sha256(data).hexdigest() == previous:
                unchanged.append(path)
                continue
            record = parse_article(data, path) if data is not None else read_input(source, path, size, max_bytes)[0]
        else:
            record, _ = read_input(source, path, size, max_bytes)
        pending.append((record, path, size, mtime))
        if len(pending) >= BATCH_FILES:
            flush()
    flush()

    # The rows go to disk here, in the worker, one record batch per bucket: the main process
    # only learns where each bucket's rows are and never handles the rows, and a shard's task
    # later reads just the batches of its own buckets.
    batches: dict[int, int] = {}
    chunk = None
    table = pa.Table.from_batches(parts, schema=spill_schema(schema.arrow_schema))
    del parts[:]
    if table.num_rows:
        # The schema's checks, over the task's rows at once (each check's cost is mostly per
        # call), every violation listed: a row that breaks the schema is a reject, never a row.
        violations: dict[int, list[str]] = {}
        for violation in check_batch(table, schema, limit_per_check=None):
            violations.setdefault(violation.row, []).append(violation.message)
        if violations:
            for row, messages in violations.items():
                _reject_row(files, article_rows[row], "schema-violation", "; ".join(messages))
            keep = np.ones(table.num_rows, dtype=bool)
            keep[list(violations)] = False
            table = table.filter(pa.array(keep))
    if table.num_rows:
        buckets = pa.array([bucket_of(id_) for id_ in table.column("id").to_pylist()], pa.int16())
        # By bucket, and by id within a bucket: every batch in the cache is a sorted run, which
        # the reduce merges a slice at a time (stable: rows of one id stay in path order).
        keys = pa.table({"bucket": buckets, "id": table.column("id")})
        order = pc.sort_indices(keys, [("bucket", "ascending"), ("id", "ascending")])
        table = table.take(order).combine_chunks()
        sorted_buckets = buckets.take(order).to_pylist()
        target = Path(cache_root) / chunk_name
        tmp = target.with_name(target.name + ".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            start = 0
            for i in range(1, len(sorted_buckets) + 1):
                if i == len(sorted_buckets) or sorted_buckets[i] != sorted_buckets[start]:
                    batches[sorted_buckets[start]] = len(batches)
                    writer.write_table(table.slice(start, i - start))
                    start = i
        os.replace(tmp, target)
        chunk = chunk_name
        del table
    result = _MapResult(pa.RecordBatch.from_pydict(files, schema=FILES_SCHEMA), chunk, batches, unchanged)
    release_memory()
    return result


def _account(files: dict[str, list], outcomes: list[tuple[Article | Reject, str, int, int]]) -> None:
    """One bookkeeping row per file (FILES_SCHEMA columns): its stat, hash and outcome."""
    for record, path, size, mtime in outcomes:
        files["path"].append(path)
        files["size"].append(size)
        files["mtime_ns"].append(mtime)
        files["sha256"].append(record.source_sha256)
        if isinstance(record, Article):
            files["kind"].append("article")
            files["id"].append(record.id)
            files["bucket"].append(bucket_of(record.id))
            files["language"].append(record.language)
            files["language_source"].append(record.language_source)
            files["reason"].append(None)
            files["detail"].append(None)
        else:
            files["kind"].append("rejected")
            files["id"].append(None)
            files["bucket"].append(None)
            files["language"].append(None)
            files["language_source"].append(None)
            files["reason"].append(record.reason)
            files["detail"].append(record.detail)


def _reject_row(files: dict[str, list], row: int, reason: str, detail: str) -> None:
    """Turn bookkeeping row `row`, an article, into a reject."""
    files["kind"][row] = "rejected"
    for name in ("id", "bucket", "language", "language_source"):
        files[name][row] = None
    files["reason"][row] = reason
    files["detail"][row] = detail


_SCHEMAS: dict[str, TableSchema] = {}


def _schema_cached(path: str) -> TableSchema:
    # Loaded once per worker process, not once per task.
    if path not in _SCHEMAS:
        _SCHEMAS[path] = load_table_schema(Path(path), frictionless=False)
    return _SCHEMAS[path]


def articles_to_batch(articles: list[Article], schema: TableSchema) -> pa.RecordBatch:
    """Articles as one record batch with the schema's exact Arrow types (column lists, not dicts)."""
    arrow = schema.arrow_schema
    # One attrgetter call per article and a transpose, both in C: half the time of a list of
    # getattr calls per column. pa.array takes the tuples of list fields as they are.
    columns = zip(*map(operator.attrgetter(*arrow.names), articles)) if articles else ([] for _ in arrow)
    arrays = [pa.array(column, type=item.type) for column, item in zip(columns, arrow)]
    return pa.RecordBatch.from_arrays(arrays, schema=spill_schema(arrow))


def spill_schema(arrow: pa.Schema) -> pa.Schema:
    """The schema of rows between the map and the reduce: every field nullable (check_batch
    must see the nulls of required fields to report them) and no schema metadata (the shards
    get it back when the reduce casts to the table schema). Without the metadata, each of the
    hundreds of cached chunk files a reduce task keeps open costs next to nothing."""
    return pa.schema([f.with_nullable(True) for f in arrow])


# -- stage 2: reduce ------------------------------------------------------------------------


Ref = tuple[str, int]  # (IPC file relative to the cache folder, record batch index or ALL_BATCHES)
ALL_BATCHES = -1  # a ref to every record batch of its file (a bucket the reduce rewrote)


class _DeltaRefs:
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
class _BucketJob:
    bucket: int
    refs: list[Ref]  # where the bucket's rows are: cached ones, then this build's
    cached: int  # how many of `refs` are cached (the rest were parsed by this build)
    drop: list[str]  # paths whose cached rows are stale
    new: str | None  # write the merged rows here (relative to the cache); None: refs stay valid
    rows: int = 0  # the bucket's articles, about (what decides whether it is merged in memory)


@dataclass(slots=True)
class _ShardResult:
    name: str
    rows: int
    sha256: str
    bytes: int
    losers: pa.Table


def _reduce_shard(jobs: list[_BucketJob], cache_root: str, target: str, name: str, schema_path: str, stats_dir: str | None) -> _ShardResult:
    from dataset_tools.metadata.stats import COVERAGE, DatasetStats, count_batch, shard_info, store_shard_stats

    schema = _schema_cached(schema_path)
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
    with pq.ParquetWriter(path, arrow, **_parquet_options()) as writer:
        groups = _RowGroups(writer)
        for job, runs in _shard_runs(jobs, arrow, Path(cache_root)):
            drop, lost = duplicate_rows(runs.meta, job.bucket)
            losers.append(lost)
            compact = sink = None
            if job.new is not None:
                # The rewritten bucket: written as it merges, so it is one sorted run, in slices.
                sink = pa.OSFile(str(Path(cache_root) / (job.new + ".tmp")), "wb")
                compact = pa.ipc.new_file(sink, runs.schema)
            # The bucket's rows in id order, merged from its sorted runs a slice at a time: memory
            # holds the runs once at most, and never a sorted (or concatenated) copy of the bucket.
            for merged in _merged_slices(runs):
                if compact is not None:
                    compact.write_table(merged.table)  # every row (losers too), in id order
                part = merged.table
                if drop:
                    keep = [i for i, row in enumerate(merged.rows) if row not in drop]
                    if len(keep) < part.num_rows:
                        part = part.take(pa.array(keep, pa.int64()))
                if not part.num_rows:
                    continue
                part = part.cast(arrow)
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
    lost_all = pa.concat_tables(losers) if losers else pa.Table.from_batches([], schema=LOSERS_SCHEMA)
    result = _ShardResult(name, rows, sha, path.stat().st_size, lost_all)
    release_memory()
    return result


def shard_losers(jobs: list[_BucketJob], cache_root: str) -> pa.Table:
    """The rows `_reduce_shard(jobs, ...)` will find to be duplicates or superseded versions,
    found from the id and provenance columns alone (the cache files memory-mapped, so the
    other columns are not read): with them, report.json can be written while the shard is."""
    root = Path(cache_root)
    readers: dict[str, pa.ipc.RecordBatchFileReader] = {}
    found = []
    for job in jobs:
        batches = _job_batches(job, root, readers, 0, len(job.refs), mapped=True, columns=_LOSER_COLUMNS)
        if batches:
            found.append(duplicate_rows(pa.Table.from_batches(batches), job.bucket)[1])
    return pa.concat_tables(found) if found else pa.Table.from_batches([], schema=LOSERS_SCHEMA)


_LOSER_COLUMNS = ["id", "source_file", "source_sha256", "published_at", "modified_at"]  # what duplicate_rows reads


def _job_batches(
    job: _BucketJob,
    root: Path,
    readers: dict[str, pa.ipc.RecordBatchFileReader],
    start: int,
    stop: int,
    *,
    mapped: bool = False,
    columns: list[str] | None = None,
) -> list[pa.RecordBatch]:
    """The record batches of job.refs[start:stop], those of cached refs (before job.cached)
    without the stale files' rows; `readers` keeps each file open for the next call."""
    stale = pa.array(job.drop, pa.string()) if job.drop else None
    batches = []
    for position in range(start, stop):
        name, index = job.refs[position]
        if name not in readers:
            readers[name] = pa.ipc.open_file(pa.memory_map(str(root / name)) if mapped else pa.OSFile(str(root / name)))
        reader = readers[name]
        for i in range(reader.num_record_batches) if index == ALL_BATCHES else (index,):
            batch = reader.get_batch(i)
            if columns is not None:
                batch = batch.select(columns)
            if stale is not None and position < job.cached:
                batch = batch.filter(pc.invert(pc.is_in(batch.column("source_file"), stale)))
            batches.append(batch)
    return batches


@dataclass(slots=True)
class _Merged:
    table: pa.Table  # rows in id order (ties in the order of the runs, then of the rows)
    rows: list[int]  # each row's index in the bucket (its runs end to end, as `meta` has them)


class _TableRuns:
    """A bucket's runs held in memory: the record batches of `table`, each sorted by id."""

    def __init__(self, table: pa.Table) -> None:
        self.schema = table.schema
        self.batches = [batch for batch in table.to_batches() if batch.num_rows]
        self.lengths = np.array([batch.num_rows for batch in self.batches], np.int64)
        self.meta = pa.Table.from_batches(self.batches, schema=table.schema)  # every column; rows numbered as merged
        self.ids = self.meta.column("id")
        self.sizes = _row_sizes(self.meta)

    @property
    def slice_bytes(self) -> int:
        return SLICE_BYTES

    def fetch(self, run: int, first: int, count: int) -> pa.Table:
        return pa.Table.from_batches([self.batches[run].slice(first, count)], schema=self.schema)

    def close(self) -> None:
        self.batches = []


class _SpilledRuns:
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
            for merged in _merged_slices(_TableRuns(group)):
                for batch in merged.table.to_batches(max_chunksize=RUN_BATCH_ROWS):
                    writer.write_batch(batch)
                    counts.append(batch.num_rows)
                self._meta.append(merged.table.select(list(self.META)))
                self._sizes.append(_row_sizes(merged.table))
        self.starts.append(np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]))
        self.readers.append(pa.ipc.open_file(pa.OSFile(str(path))))

    def finish(self) -> _SpilledRuns:
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


def _row_sizes(table: pa.Table) -> np.ndarray:
    """Each row's approximate bytes (its body, plus 1 KiB for the rest), as slices count them."""
    lengths = pc.fill_null(pc.binary_length(table.column("body")), 0)
    return pc.add(lengths, 1024).to_numpy(zero_copy_only=False).astype(np.int64)


def _merged_slices(runs: pa.Table | _TableRuns | _SpilledRuns) -> Iterator[_Merged]:
    """The rows of a bucket's runs in id order, a slice of at most SORT_SLICE rows and about
    `runs.slice_bytes` at a time. Every run must be sorted by id (the map tasks and the bucket
    rewrites write them so; a table's record batches are its runs): a slice of the merged order
    then takes a contiguous range of every run, fetched from the run without copying it whole
    (Arrow's take on a many-chunked string column would concatenate the column first)."""
    if isinstance(runs, pa.Table):
        runs = _TableRuns(runs)
    if not len(runs.lengths) or not runs.lengths.sum():
        return
    offsets = np.concatenate([[0], np.cumsum(runs.lengths)])
    order = pc.sort_indices(runs.ids).to_numpy().astype(np.int64)  # stable: ties keep run order
    # Rows already in order (one run: a bucket rewritten by an earlier build) are handed over as
    # slices of their runs, without a take's copy.
    in_order = bool((order[1:] > order[:-1]).all())
    sizes = runs.sizes[order]
    for start, stop in _bounds(sizes, SORT_SLICE, runs.slice_bytes):
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
        yield _Merged(piece, rows.tolist())


def _spills(job: _BucketJob) -> bool:
    return len(job.refs) > GROUP_RUNS and job.rows > SPILL_ROWS


def _shard_runs(jobs: list[_BucketJob], arrow: pa.Schema, root: Path) -> Iterator[tuple[_BucketJob, _TableRuns | _SpilledRuns]]:
    """Each job's bucket as runs sorted by id, cached rows of stale files left out, in job
    order: in memory, or merged in groups onto disk (`_SpilledRuns`) when there are more than
    GROUP_RUNS refs and SPILL_ROWS rows.

    The buckets to spill are merged group-major first (group g of every such bucket, then
    g + 1), and only the current group's chunk files are open: a cold build's buckets each have
    a run in every chunk file, and a reader holds its file's footer (about 13 KB), so holding
    one per chunk file for the whole task grew with the corpus (6 MB a worker at a million
    articles). The smaller buckets' chunk files stay open from one bucket to the next."""
    relaxed = spill_schema(arrow)
    readers: dict[str, pa.ipc.RecordBatchFileReader] = {}

    def rows(job: _BucketJob, start: int, stop: int) -> pa.Table:
        # Read batch by batch (not memory-mapped): only this bucket's rows enter memory.
        return pa.Table.from_batches(_job_batches(job, root, readers, start, stop), schema=relaxed)

    spilled = {job.bucket: _SpilledRuns(root / "chunks", f"merge-{os.getpid()}-{job.bucket:03d}", relaxed) for job in jobs if _spills(job)}
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
                yield job, _TableRuns(rows(job, 0, len(job.refs)))
    finally:
        for runs in spilled.values():
            runs.close()


class _RowGroups:
    """Rows appended in order, written in row groups of at most ROW_GROUP_MAX_ROWS rows and
    ROW_GROUP_BYTES (by `_row_sizes`; a larger row is a group of its own), packed row by row:
    the groups, and so the file's bytes, do not depend on how the rows arrive."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.parts: list[pa.Table] = []
        self.bytes = self.rows = 0

    def append(self, table: pa.Table) -> None:
        ends = np.cumsum(_row_sizes(table))  # the bytes of rows [0, i] of `table`
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


def duplicate_rows(table: pa.Table, bucket: int = 0) -> tuple[set[int], pa.Table]:
    """Which rows lose to another row of the same id. Byte-identical files are duplicates of the
    first such file (in path order); otherwise the version with the later modified time
    (failing that, the later published time; failing that, the later file) supersedes the others.

    Returns:
        the indices of the rows to drop, and a LOSERS_SCHEMA table: (path, "duplicate" |
        "superseded", the original or winning path, id, bucket) per dropped row.
    """
    empty = pa.Table.from_batches([], schema=LOSERS_SCHEMA)
    if table.num_rows == 0:
        return set(), empty
    counts = pc.value_counts(table.column("id"))
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return set(), empty
    mask = pc.is_in(table.column("id"), repeated)
    subset = table.filter(mask).select(["id", "source_file", "source_sha256", "published_at", "modified_at"])
    index = pc.indices_nonzero(mask).to_pylist()
    groups: dict[str, list[tuple[int, str, str, object]]] = {}
    for row, (id_, path, sha, published, modified) in zip(
        index, zip(*(subset.column(c).to_pylist() for c in subset.column_names))
    ):
        groups.setdefault(id_, []).append((row, path, sha, modified or published))
    drop: set[int] = set()
    lost: dict[str, list] = {name: [] for name in LOSERS_SCHEMA.names}

    def lose(path: str, outcome: str, other: str, id_: str) -> None:
        for key, value in zip(LOSERS_SCHEMA.names, (path, outcome, other, id_, bucket)):
            lost[key].append(value)

    for id_, members in groups.items():
        members.sort(key=lambda m: m[1])
        originals: dict[str, tuple[int, str, str, object]] = {}
        for member in members:
            first = originals.setdefault(member[2], member)
            if first is not member:
                drop.add(member[0])
                lose(member[1], "duplicate", first[1], id_)
        versions = sorted(originals.values(), key=lambda m: (m[3], m[1]))
        winner = versions[-1]
        for member in versions[:-1]:
            drop.add(member[0])
            lose(member[1], "superseded", winner[1], id_)
    return drop, pa.table(lost, schema=LOSERS_SCHEMA)


def _parquet_options() -> dict:
    """Writer options: zstd always; content-defined chunking and the page index where the
    installed pyarrow has them (CDC keeps unchanged data in identical pages across versions,
    so the Hub's storage deduplicates them)."""
    import inspect

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
    with pq.ParquetWriter(path, table.schema, **_parquet_options()) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
            return
        groups = _RowGroups(writer)
        groups.append(table)
        groups.close()


def _bounds(sizes: np.ndarray, max_rows: int, max_bytes: int) -> Iterator[tuple[int, int]]:
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


def build_dataset(
    settings: Settings,
    raw: Path | str | None = None,
    out: Path | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
) -> BuildResult:
    """Build the dataset folder from the raw files.

    Args:
        settings: the project's settings (schema path, version, card metadata, limits).
        raw: the raw folder or an fsspec URL (default: the settings' `raw`).
        out: the output folder (default: the settings' `out`); replaced atomically.
        workers: worker processes (default: all cores; 1 runs everything in this process).
        progress: called as progress(stage, done, total) while the build runs.
        cache_dir: the incremental-build cache (default: `.dataset-tools-cache/` in the project).
        use_cache: False builds from scratch and leaves no cache behind.
        engine: "local" (a process pool) or "dask" (a dask.distributed cluster).
        scheduler: the dask scheduler address (default: a LocalCluster of `workers` processes).

    Returns:
        The build's counts and files.

    Raises:
        InputNotFound: the raw folder does not exist.
        BuildFailed: the output could not be written; the previous output is intact.
    """
    source = source_for(raw if raw is not None else settings.raw)
    out = Path(out or settings.out).resolve()
    schema = load_table_schema(settings.schema, frictionless=False)
    version = settings.version
    notify = progress or (lambda stage, done, total: None)
    watch = Stopwatch()
    cache_folder = Path(cache_dir or default_cache_dir(settings)).resolve() if use_cache else None
    engines: list = []  # the engine, once started

    def meanwhile(listed: Callable[[], bool]) -> None:
        # A dask cluster takes a second or two to start its workers: it starts while the raw
        # folder is listed (a local pool is started when the first tasks are handed out). The
        # card's imports fill what is left of the wait.
        if engine != "local":
            engines.append(make_engine(engine, workers=workers, scheduler=scheduler))
        _import_card_modules(stop=listed)

    try:
        listing = source.list(folders_file=str(cache_folder / FOLDERS_FILE) if cache_folder else None, meanwhile=meanwhile)
        watch.lap("list")

        _remove_stale_staging(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
        scratch = None
        if not use_cache:
            # A throw-away cache beside the output (same file system), removed whatever happens.
            scratch = out.parent / f".{out.name}.cache-{os.getpid()}"
            shutil.rmtree(scratch, ignore_errors=True)
        cache = BuildCache(cache_folder or scratch)
        try:
            if engine == "local" and listing.num_rows <= INLINE_FILES:
                workers = 1
            runner = engines[0] if engines else make_engine(engine, workers=workers, scheduler=scheduler)
            engines[:] = [runner]
            if engine == "local" and runner.workers > 1:
                # Forked workers then share what the parent loaded instead of loading a copy each.
                from dataset_tools.readers.common import warm_up

                warm_up()
                schema.arrow_schema
                # pyarrow imports pandas the first time it converts Python objects (every map
                # task does): import it once here, before the fork, rather than in each worker.
                pa.array([0])
            watch.lap("start")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            try:
                # Handed over in a box, so that _build_into can drop the listing once it has
                # served (a few tens of bytes per input, for the rest of the build).
                box, listing = [listing], None
                result, state = _build_into(staging, out, source, box, schema, settings, version, cache, runner, notify, watch)
                _swap_in(staging, out)
            except BaseException as exc:
                shutil.rmtree(staging, ignore_errors=True)
                if isinstance(exc, OSError):
                    raise BuildFailed(
                        f"could not write the dataset to {out}: {exc}",
                        hint="Check free disk space and permissions; the previous output is unchanged.",
                    ) from exc
                raise
            if scratch is None:
                state.shards = _record_shards(out, state.shards)
                cache.commit(state)
            watch.lap("finish")
        finally:
            for runner in engines:
                runner.close()  # before the cache goes: a task cut short may still be writing to it
            cache.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        for runner in engines:
            runner.close()  # when the build failed before its cache was opened (closing twice is safe)
    result.out = out
    result.seconds = watch.result()
    return result


def _import_card_modules(stop: Callable[[], bool] = lambda: False) -> None:
    """Import what the card step uses (jinja2 and huggingface_hub's card data class take about
    0.1 s of a core), a module at a time until `stop()`: while the raw folder is listed (with
    its folders file, a rebuild's listing may well be done first), then what is left while a
    one-shard build's shard is written by another thread (Parquet encoding lets go of the GIL).
    An incremental build is short enough that this shows."""
    for name in ("jinja2", "huggingface_hub.repocard_data", "dataset_tools.card"):
        if stop():
            return
        importlib.import_module(name)


def _cache_key(source: RawSource, schema: TableSchema, settings: Settings) -> dict:
    return {
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "schema_sha256": schema.sha256,
        "pyarrow": pa.__version__,
        "raw": source.describe(),
        "max_file_bytes": settings.max_file_bytes,
        "buckets": BUCKETS,
    }


def _build_into(
    staging: Path,
    out: Path,
    source: RawSource,
    listing_box: list[pa.Table],
    schema: TableSchema,
    settings: Settings,
    version: str,
    cache: BuildCache,
    runner,
    notify: Progress,
    watch: Stopwatch,
) -> tuple[BuildResult, CacheState]:
    listing = listing_box.pop()
    key = _cache_key(source, schema, settings)
    previous = cache.load(key)
    generation = (previous.generation + 1) if previous else 1
    old_files = cache.read_table(previous.files) if previous else pa.Table.from_batches([], schema=FILES_SCHEMA)

    # Which files need reading: new ones, and those whose size or mtime changed; and which
    # cached files are gone (none when the listing has the same paths, the usual rebuild).
    removed = listing.column("path").slice(0, 0)
    same_paths = False  # the same files as the last build (whose contents may have changed)
    if previous is None:
        todo = listing.append_column("old_sha", pa.nulls(listing.num_rows, pa.string()))
    elif listing.num_rows == old_files.num_rows and listing.column("path").equals(old_files.column("path")):
        # The same files as last time (the usual rebuild): both tables are in path order, so
        # their rows pair up without a join.
        same_paths = True
        changed = pc.invert(
            pc.and_(pc.equal(listing.column("size"), old_files.column("size")), pc.equal(listing.column("mtime_ns"), old_files.column("mtime_ns")))
        )
        todo = listing.filter(changed).append_column("old_sha", old_files.column("sha256").filter(changed))
    else:
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
        del joined, same_stat
        removed = old_files.filter(pc.invert(pc.is_in(old_files.column("path"), listing.column("path")))).column("path")
    total = todo.num_rows
    bounds = _task_bounds(todo.column("size"), runner.workers, CHUNK_FILES, CHUNK_BYTES)
    # What to read goes to a file, one record batch per map task, and the tasks are made from it
    # as the workers take them: the listing (tens of bytes per input) is not held while they run.
    todo_path = cache.work / "todo.arrow"
    todo = todo.select(["path", "size", "mtime_ns", "old_sha"]).combine_chunks()
    with pa.OSFile(str(todo_path), "wb") as sink, pa.ipc.new_file(sink, todo.schema) as writer:
        for start, stop in bounds:
            writer.write_batch(todo.slice(start, stop - start).to_batches()[0])
    del listing, todo
    release_memory()

    watch.lap("plan")
    # -- map: read and parse what changed; workers spill the rows into chunk files by bucket
    # Each task's bookkeeping (one row per file) goes to a spill file as it arrives: the main
    # process holds per-bucket row counts while the workers run, not a row per input.
    unchanged_bytes: list[str] = []
    new_refs = _DeltaRefs()
    delta_counts = np.zeros(BUCKETS, np.int64)
    parsed = 0
    (cache.folder / "chunks").mkdir(exist_ok=True)
    notify("parse", 0, total)
    tasks = (
        (
            source,
            *(batch.column(i).to_pylist() for i in range(4)),  # paths, sizes, mtimes, cached SHA-256
            settings.max_file_bytes,
            str(schema.path),
            str(cache.folder),
            f"chunks/{generation}-{number:07d}.arrow",
        )
        for number, batch in enumerate(_ipc_batches(todo_path))
    )
    if len(bounds) <= 1:
        tasks = list(tasks)  # one task (an incremental build's few files) runs in this process
    done = 0
    spill_path = cache.work / "files-delta.arrow"
    with pa.OSFile(str(spill_path), "wb") as sink, pa.ipc.new_file(sink, FILES_SCHEMA) as spill:
        for result in runner.map_ordered(_map_chunk, tasks):
            new_refs.add(result.chunk, result.batches)
            spill.write_batch(result.files)
            delta_counts += _bucket_counts(result.files)
            parsed += result.files.num_rows
            unchanged_bytes.extend(result.unchanged)
            done += result.files.num_rows + len(result.unchanged)
            notify("parse", done, total)
    del tasks
    release_memory()
    watch.lap("parse")

    if previous is None:
        # Nothing cached: the new file table is the spill (in path order, as the tasks were),
        # read back once the workers are gone.
        files = None
        stale_pairs: list[tuple[str, int]] = []
        bucket_rows = delta_counts
    else:
        # -- the new file table: unchanged entries (mtime refreshed where only it changed) + new ones
        delta = _read_ipc(spill_path)
        gone = pa.concat_arrays([removed.combine_chunks().cast(pa.string()), delta.column("path").combine_chunks().cast(pa.string())]) if (len(removed) or delta.num_rows) else pa.array([], pa.string())
        stale = pc.is_in(old_files.column("path"), gone)
        stale_rows = old_files.filter(pc.and_(stale, pc.equal(old_files.column("kind"), "article")))
        stale_pairs = list(zip(stale_rows.column("path").to_pylist(), stale_rows.column("bucket").to_pylist()))
        if unchanged_bytes:
            # Their new mtime is in the to-do list (a file whose bytes were read was on it).
            todo = _read_ipc(todo_path)
            refreshed = todo.filter(pc.is_in(todo.column("path"), pa.array(unchanged_bytes, pa.string())))
            del todo
            mtimes = dict(zip(refreshed.column("path").to_pylist(), refreshed.column("mtime_ns").to_pylist()))
            column = [mtimes.get(p, m) for p, m in zip(old_files.column("path").to_pylist(), old_files.column("mtime_ns").to_pylist())]
            old_files = old_files.set_column(old_files.schema.get_field_index("mtime_ns"), "mtime_ns", pa.array(column, pa.int64()))
        files = _replace_rows(old_files, stale, delta)
        del old_files, delta
        bucket_rows = _bucket_counts(files)

    # -- which buckets changed: those of stale cached rows, and those with new rows
    drop_by_bucket: dict[int, list[str]] = {}
    for path, bucket in stale_pairs:
        drop_by_bucket.setdefault(bucket, []).append(path)
    changed_buckets = set(drop_by_bucket) | new_refs.buckets()

    count = _choose_shard_count(bucket_rows, settings.shard_rows)
    old_shards = previous.shards if previous else {}
    reusable = {}
    if old_shards.get("out") == str(out) and old_shards.get("count") == count:
        reusable = {item["name"]: item for item in old_shards.get("items", [])}

    buckets: dict[int, list[Ref]] = {b: [tuple(r) for r in refs] for b, refs in (previous.buckets if previous else {}).items()}
    # Per shard to write, its buckets as (bucket, cached refs, stale paths, rewritten file);
    # the refs to this build's chunks are added as each task is handed out (at a million
    # inputs they are a hundred thousand, and only one task's share need exist at a time).
    plans: list[tuple[int, list[tuple[int, list[Ref], list[str], str | None]]]] = []
    reused: list[dict] = []
    for index in range(count):
        name = shard_name(index, count)
        members = shard_buckets(index, count)
        dirty = any(b in changed_buckets for b in members)
        old = reusable.get(name)
        if not dirty and old and _link_intact(out / name, staging / name, old):
            reused.append(old)
            continue
        plan = []
        for b in members:
            cached = buckets.get(b, [])
            drop = drop_by_bucket.get(b, [])
            new = None
            if drop or len(cached) + new_refs.count(b) > MAX_REFS:
                # Stale rows to drop, or rows spread over too many files: rewrite the bucket.
                new = f"buckets/{generation}-{b:03d}.arrow"
            plan.append((b, cached, drop, new))
            buckets[b] = [(new, ALL_BATCHES)] if new else cached + new_refs.refs(b)
        plans.append((index, plan))

    watch.lap("files")
    notify("write", 0, len(plans))
    results: list[_ShardResult] = []
    from dataset_tools.metadata.stats import card_cache_folder

    card_cache = card_cache_folder(cache.folder)
    reduce_tasks = (
        (
            [_BucketJob(b, cached + new_refs.refs(b), len(cached), drop, new, int(bucket_rows[b])) for b, cached, drop, new in plan],
            str(cache.folder),
            str(staging / shard_name(index, count)),
            shard_name(index, count),
            str(schema.path),
            str(card_cache),
        )
        for index, plan in plans
    )
    # Threads from here on: nothing forks after them (the workers are let go first, the card's
    # painter is started before the first thread), so no child can inherit a thread's locks
    # half-held.
    background = ThreadPoolExecutor(max_workers=2)
    # Work nothing waits for until the end (the file table's copy in the cache, manifest.json's
    # input lines) runs in threads of a lower priority: they take the cores left over, not those
    # of a one-shard build's shard and report.json, which the card waits for.
    leftover = ThreadPoolExecutor(max_workers=2, initializer=_lower_thread_priority)
    painter = None
    try:
        if len(plans) == 1:
            # One shard to write (an incremental build): written by a thread of this process
            # (Parquet encoding lets go of the GIL) while this one writes report.json, with the
            # shard's losers found up front from a few columns.
            runner.close()
            painter = _start_painter(same_paths, parsed, int(bucket_rows.sum()))
            task = next(reduce_tasks)
            writing = background.submit(_reduce_shard, *task)
            # Only the buckets whose rows changed can have other losers than the cache holds.
            changed = [job for job in task[0] if job.drop or len(job.refs) > job.cached]
            new_losers = [shard_losers(changed, task[1])]
            losers_found = {job.bucket for job in changed}

            def finish_writing() -> list[_ShardResult]:
                shard = writing.result()
                found = shard.losers.filter(pc.is_in(shard.losers.column("bucket"), pa.array(sorted(losers_found), pa.int16())))
                if not found.sort_by("path").equals(new_losers[0].sort_by("path")):
                    raise BuildFailed(
                        f"internal error: the losers of shard {shard.name} differ from those found before writing it",
                        hint="Delete the build cache (or pass --no-cache) and build again; please report this bug.",
                    )
                results.append(shard)
                notify("write", 1, 1)
                watch.lap("write")
                return results
        else:
            for i, shard in enumerate(runner.map_ordered(_reduce_shard, reduce_tasks)):
                results.append(shard)
                notify("write", i + 1, len(plans))
            # The workers' part is done: let them go (and their memory) before the report and the card.
            runner.close()
            painter = _start_painter(same_paths, parsed, int(bucket_rows.sum()))
            watch.lap("write")
            new_losers = [r.losers for r in results]
            losers_found = {b for _, plan in plans for b, *_ in plan}

            def finish_writing() -> list[_ShardResult]:
                return results

        # The new file table goes to the cache as a file. A cold build's is there already (its
        # spill, in path order), and everything after reads it a batch at a time: report.json and
        # manifest.json of a million inputs take a few batches of memory. A rebuild's is in
        # memory (patched there), and is read from there while a thread writes it.
        files_name = f"files-{generation}.arrow"
        file_table_written = None
        if files is None:
            os.replace(spill_path, cache.path(files_name))
            release_memory()

            def files() -> Iterator[pa.RecordBatch]:
                return _ipc_batches(cache.path(files_name))
        else:
            file_table = files
            file_table_written = leftover.submit(cache.write_table, files_name, file_table)

            def files() -> Iterator[pa.RecordBatch]:
                return table_batches(file_table)

        # manifest.json's list of inputs depends on the file table alone: a thread writes it to
        # a scratch file while the card is made (Arrow compute and file writes let go of the
        # GIL), and it is joined under the manifest's head at the end.
        inputs_part = staging / ".manifest-inputs.part"  # a dot file: not listed, removed below
        inputs_written = leftover.submit(write_json_listing_items, inputs_part, manifest_input_lines(files))
        digests: dict[str, dict] = {}  # of the files written besides the shards, for manifest.json
        summary, shards, losers, buckets = _report_and_card(
            staging, files, new_losers, losers_found, finish_writing, reused, plans, buckets, previous, cache, settings, schema, version, card_cache, watch, painter, digests
        )
        any_inputs = inputs_written.result()
        if file_table_written is not None:
            file_table_written.result()
    finally:
        background.shutdown(wait=True)
        leftover.shutdown(wait=True)
        if painter is not None:
            painter.close()
    write_manifest(staging / MANIFEST_FILE, staging, shards, schema, version, inputs=(inputs_part, any_inputs), digests=digests)
    inputs_part.unlink()
    watch.lap("manifest")

    state = CacheState(
        key=key,
        generation=generation,
        files=files_name,
        losers=cache.write_table(f"losers-{generation}.arrow", losers),
        buckets=buckets,
        shards={"out": str(out), "count": count, "items": [{"name": s["path"], **{k: s[k] for k in ("rows", "sha256", "bytes")}} for s in shards]},
    )
    counts = summary["counts"]
    result = BuildResult(
        out=staging,
        version=version,
        inputs=counts["inputs"],
        rows=counts["rows"],
        duplicates=counts["duplicates"],
        superseded=counts["superseded"],
        rejected=counts["rejected"],
        rejects_by_reason=summary["rejects_by_reason"],
        shards=shards,
        output_bytes=sum(p.stat().st_size for p in staging.rglob("*") if p.is_file() and not p.relative_to(staging).as_posix().startswith(".")),
        parsed=parsed,
        shards_written=len(results),
        language_sources=summary["language_sources"],
    )
    return result, state


def _report_and_card(
    staging: Path,
    files: Callable[[], Iterator[pa.RecordBatch]],
    new_losers: list[pa.Table],
    losers_found: set[int],
    finish_writing: Callable[[], list[_ShardResult]],
    reused: list[dict],
    plans: list,
    buckets: dict[int, list[Ref]],
    previous: CacheState | None,
    cache: BuildCache,
    settings: Settings,
    schema: TableSchema,
    version: str,
    card_cache: Path,
    watch: Stopwatch,
    painter: Painter | None,
    digests: dict[str, dict],
) -> tuple[dict, list[dict], pa.Table, dict[int, list[Ref]]]:
    """report.json and the card files; returns the report's summary, the shards, the losers
    (duplicates and superseded versions) and the buckets' refs to keep in the cache, and puts
    the {"sha256", "bytes"} of the files it wrote in `digests`, by relative path.
    `new_losers` are those found in the buckets `losers_found` (all the buckets of the shards
    this build writes, or only those whose rows changed), and `finish_writing()` returns the
    shards written (waiting for them if they are still being written: the report is written
    meanwhile, the card needs them)."""
    # Losers: the cached ones of the other buckets, plus those just found.
    old_losers = cache.read_table(previous.losers) if previous else pa.Table.from_batches([], schema=LOSERS_SCHEMA)
    if old_losers is not None and old_losers.num_rows:
        old_losers = old_losers.filter(pc.invert(pc.is_in(old_losers.column("bucket"), pa.array(sorted(losers_found), pa.int16()))))
    losers = pa.concat_tables([old_losers, *new_losers]).sort_by("path").combine_chunks()
    watch.lap("losers")
    summary, digests[REPORT_FILE] = write_report(staging / REPORT_FILE, files, losers, version)
    watch.lap("report")
    # While a one-shard build's shard is still being written: the card's imports, and the
    # statistics of the shards kept.
    _import_card_modules()
    from dataset_tools.metadata.stats import load_shard_stats

    loaded_stats = load_shard_stats(card_cache, [item["sha256"] for item in reused])
    watch.lap("card-prep")
    results = finish_writing()
    # A bucket without rows has no refs; a bucket this build rewrote must have its file (the
    # other refs were checked when they were made: a stat per ref would cost more than all this).
    rewritten_files = {new for _, plan in plans for _, _, _, new in plan if new}
    buckets = {b: refs for b, refs in buckets.items() if refs and all(n not in rewritten_files or cache.path(n).exists() for n, _ in refs)}
    shards = sorted(
        [{"path": r.name, "rows": r.rows, "sha256": r.sha256, "bytes": r.bytes} for r in results]
        + [{"path": item["name"], "rows": item["rows"], "sha256": item["sha256"], "bytes": item["bytes"]} for item in reused],
        key=lambda s: s["path"],
    )
    written = sum(s["rows"] for s in shards)
    if written != summary["counts"]["rows"]:
        # Every input must end as exactly one outcome: never publish data that disagrees with its report.
        raise BuildFailed(
            f"internal error: the shards hold {written} rows, the report counts {summary['counts']['rows']}",
            hint="Delete the build cache (or pass --no-cache) and build again; please report this bug.",
        )

    from dataset_tools.card import write_card_files

    write_card_files(
        staging,
        settings,
        schema,
        version,
        cache=card_cache,
        shard_hashes={s["path"]: s["sha256"] for s in shards},
        report=summary,
        painter=painter,
        digests=digests,
        loaded_stats=loaded_stats,
    )
    watch.lap("card")
    return summary, shards, losers, buckets


def _lower_thread_priority() -> None:
    """Give the calling thread a nice value of 10 (Linux schedules threads on their own; where
    a thread's priority cannot be set, it stays as it is)."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


def _start_painter(same_paths: bool, parsed: int, rows: int) -> Painter | None:
    """A process that draws the card's plot (see `Painter`), started when the plot likely
    changes: a first build, or articles added or removed (an edited article rarely changes
    month; if it does, the card draws the plot itself). Not for fewer than PAINTER_ROWS rows,
    whose shards are written too soon for its start-up to pay."""
    return Painter.start() if parsed and not same_paths and rows >= PAINTER_ROWS else None


def release_memory() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system, between the
    stages of a task or a build: a worker's next task, or the next stage, starts from what it
    holds, not from the peak of the last one."""
    pa.default_memory_pool().release_unused()


def _task_bounds(sizes: pa.ChunkedArray, workers: int, files: int, max_bytes: int) -> list[tuple[int, int]]:
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


def _replace_rows(old: pa.Table, stale: pa.ChunkedArray | pa.Array, new: pa.Table, few: int = 4096) -> pa.Table:
    """`old` without its `stale` rows, with the rows of `new` (whose paths are not among the
    rows kept), in path order; `old` and `new` are each in path order. When few rows change
    (a rebuild after an edit), the result is slices of the two tables put end to end: no copy
    and no sort of a table with a row per input."""
    stale_rows = np.nonzero(pc.fill_null(stale, False).to_numpy(zero_copy_only=False))[0]
    if len(stale_rows) + new.num_rows > few:
        files = pa.concat_tables([old.filter(pc.invert(stale)), new])
        return files if _sorted_by_path(files) else files.sort_by("path")
    paths = old.column("path")
    inserts = [bisect.bisect_left(_Column(paths), path) for path in new.column("path").to_pylist()]
    pieces: list[pa.Table] = []
    start = 0  # next row of `old` to keep
    # Events in row order of `old`: insert new row j before old row inserts[j]; skip a stale row.
    events = sorted([(at, 0, j) for j, at in enumerate(inserts)] + [(int(row), 1, -1) for row in stale_rows])
    for at, kind, j in events:
        if at > start:
            pieces.append(old.slice(start, at - start))
            start = at
        if kind == 0:
            pieces.append(new.slice(j, 1))
        else:
            start = at + 1
    pieces.append(old.slice(start))
    return pa.concat_tables(pieces)


class _Column:
    """A string column read one value at a time, for `bisect` (a few probes, not a list of
    every value)."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, index: int) -> str:
        return self.column[index].as_py()


def _sorted_by_path(table: pa.Table) -> bool:
    paths = table.column("path")
    if len(paths) < 2:
        return True
    return not pc.any(pc.less(paths.slice(1), paths.slice(0, len(paths) - 1))).as_py()


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


def _record_shards(out: Path, shards: dict) -> dict:
    items = []
    for item in shards["items"]:
        stat = (out / item["name"]).stat()
        items.append({**item, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns})
    return {**shards, "items": items}


def _value_counts(values: pa.ChunkedArray | pa.Array) -> Counter:
    counts = pc.value_counts(values)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))


def write_report(path: Path, files: Callable[[], Iterable[pa.RecordBatch]], losers: pa.Table, version: str) -> tuple[dict, dict]:
    """Write report.json (counts, rejects by reason, language sources, then one outcome per
    input, a line each); return its summary (everything but the per-file list) and the file's
    {"sha256", "bytes"}.

    `files()` yields the file table (FILES_SCHEMA, in path order) batch by batch; it is read
    twice, once to count and once to write the lines, and never held whole.
    """
    lost = {
        p: (outcome, other)
        for p, outcome, other in zip(
            losers.column("path").to_pylist(), losers.column("outcome").to_pylist(), losers.column("other").to_pylist()
        )
    }
    lost_paths = pa.array(list(lost), pa.string())
    reasons: Counter = Counter()
    sources: Counter = Counter()
    inputs = rows = rejected = 0
    for part in files():
        kind = part.column("kind")
        is_rejected = pc.equal(kind, "rejected")
        reasons.update(_value_counts(pc.filter(part.column("reason"), is_rejected)))
        is_row = pc.and_(pc.equal(kind, "article"), pc.invert(pc.is_in(part.column("path"), lost_paths)))
        sources.update(_value_counts(pc.filter(part.column("language_source"), is_row)))
        inputs += part.num_rows
        rows += pc.sum(is_row).as_py() or 0
        rejected += pc.sum(is_rejected).as_py() or 0
    outcomes = Counter(outcome for outcome, _ in lost.values())
    summary = {
        "dataset_version": version,
        "parser_version": PARSER_VERSION,
        "counts": {
            "inputs": inputs,
            "rows": rows,
            "duplicates": outcomes["duplicate"],
            "superseded": outcomes["superseded"],
            "rejected": rejected,
        },
        "rejects_by_reason": dict(sorted(reasons.items())),
        "language_sources": {key: sources[key] for key in ("declared", "detected", "unknown")},
    }

    def entry(path_: str, kind: str, id_, language, language_source, reason, detail) -> dict:
        if kind == "rejected":
            return {"path": path_, "outcome": "rejected", "reason": reason, "detail": detail}
        if path_ in lost:
            outcome, other = lost[path_]
            return {"path": path_, "outcome": outcome, "id": id_, ("of" if outcome == "duplicate" else "by"): other}
        return {"path": path_, "outcome": "row", "id": id_, "language": language, "language_source": language_source}

    def lines() -> Iterator[pa.Array]:
        # Rows (nearly every input) are written column-wise; rejects, duplicates and superseded
        # versions, a few, entry by entry.
        columns = ["path", "kind", "id", "language", "language_source", "reason", "detail"]
        for part in files():
            other = pc.or_(pc.not_equal(part.column("kind"), "article"), pc.is_in(part.column("path"), lost_paths))

            def slow(indices: list[int], part: pa.RecordBatch = part) -> list[bytes]:
                picked = part.take(pa.array(indices, pa.int64()))
                values = zip(*(picked.column(c).to_pylist() for c in columns))
                return [orjson.dumps(entry(*row)) for row in values]

            yield json_lines(
                [("path", part.column("path")), ("outcome", pa.scalar("row")), ("id", part.column("id")),
                 ("language", part.column("language")), ("language_source", part.column("language_source"))],
                slow,
                other,
                verbatim=frozenset({"outcome", "id", "language", "language_source"}),  # hex ids, codes
            )

    return summary, write_json_listing_lines(path, summary, "files", lines())


def write_manifest(
    path: Path,
    folder: Path,
    shards: list[dict],
    schema: TableSchema,
    version: str,
    *,
    files: Callable[[], Iterable[pa.RecordBatch]] | None = None,
    inputs: tuple[Path, bool] | None = None,
    digests: dict[str, dict] | None = None,
) -> None:
    """Write manifest.json: versions, what came out (SHA-256, rows, bytes), then what went in
    (path, size, SHA-256 of every raw file, a line each). The inputs come from `files()`, which
    yields the file table batch by batch, or ready-written: `inputs` is (the file
    `write_json_listing_items` wrote from `manifest_input_lines`, whether it has any item).
    `digests` holds the {"sha256", "bytes"} of files of the folder taken as they were written
    (the others are read and hashed here)."""
    digests = digests or {}
    data_paths = {s["path"] for s in shards}
    others = sorted(
        rel
        for rel in (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        if rel not in data_paths and rel != MANIFEST_FILE and not rel.startswith(".")
    )
    head = {
        "tool": "dataset-tools",
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "dataset_version": version,
        "schema": {"path": f"schemas/{schema.path.name}", "sha256": schema.sha256},
        "data_files": shards,
        "files": [{"path": rel, **(digests.get(rel) or {"sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size})} for rel in others],
    }
    if inputs is not None:
        join_json_listing(path, head, "inputs", *inputs)
    else:
        write_json_listing_lines(path, head, "inputs", manifest_input_lines(files or (lambda: iter(()))))


def manifest_input_lines(files: Callable[[], Iterable[pa.RecordBatch]]) -> Iterator[pa.Array]:
    """manifest.json's `inputs` lines, {"path", "size", "sha256"} per raw file, batch by batch."""
    for part in files():

        def slow(rows: list[int], part: pa.RecordBatch = part) -> list[bytes]:
            picked = part.take(pa.array(rows, pa.int64()))
            values = zip(*(picked.column(c).to_pylist() for c in ("path", "size", "sha256")))
            return [orjson.dumps({"path": p, "size": size, "sha256": sha}) for p, size, sha in values]

        yield json_lines(
            [("path", part.column("path")), ("size", part.column("size")), ("sha256", part.column("sha256"))],
            slow,
            verbatim=frozenset({"sha256"}),
        )


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` with `staging`. Between the two renames `out` is briefly absent, but it is
    never half-written: either the old folder or the complete new one is at `out`."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    if old.exists():
        shutil.rmtree(old)


def _remove_stale_staging(out: Path) -> None:
    """Clean up staging folders of builds that were killed (their process is gone)."""
    if not out.parent.exists():
        return
    for candidate in out.parent.glob(f".{out.name}.*-*"):
        pid = candidate.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            if candidate.name.startswith(f".{out.name}.old-") and not out.exists():
                os.rename(candidate, out)  # killed between the two renames: restore
            else:
                shutil.rmtree(candidate, ignore_errors=True)
