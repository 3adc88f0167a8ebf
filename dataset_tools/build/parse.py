"""The parse stage (the map): a task reads a chunk of raw files and spills their rows, by partition.

In: a task's files (path, size, mtime, the SHA-256 the cache knows or None). For each file:
read it (unless the listing found no readable regular file, or one over the size limit; never
more than the limit and one byte) -> the reader that claims it -> `Article | Reject` -> every
BATCH_FILES files, the articles become one Arrow record batch with the schema's exact types,
after hygiene (`hygiene.clean_articles`: control characters, URL user-info and secrets out).
Then the schema's row checks run over all the task's rows (a row that breaks one is a
`schema-violation` reject, never a row), and the rows go to one chunk file (see `spill`), a
run per partition. Out: a `MapResult`: one bookkeeping row per file (see `filetable`), where
each partition's rows are, and the paths whose bytes equal the cached version. The rows never pass through the main
process.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build import filetable
from dataset_tools.build.engines import release_memory
from dataset_tools.build.hygiene import Cleaned, clean_articles
from dataset_tools.build.neardup import SignatureFiles, write_signatures
from dataset_tools.build.partition import SORT_KEYS, month_keys
from dataset_tools.build.spill import spill_schema, write_chunk
from dataset_tools.errors import NotARegularFile
from dataset_tools.inputs import RawSource, entry_reject
from dataset_tools.readers import parse_file
from dataset_tools.records import Article, Reject
from dataset_tools.schema import TableSchema, check_batch, worker_table_schema

BATCH_FILES = 512  # a map task turns its parsed articles into a record batch this often


@dataclass(slots=True)
class MapResult:
    files: pa.RecordBatch  # one FILES_SCHEMA row per file read
    chunk: str | None  # the IPC file (relative to the cache) holding this task's rows
    batches: dict[int, int]  # partition -> index of the record batch holding its rows in `chunk`
    unchanged: list[str]  # paths whose bytes equal the cached version (only their mtime changed)
    near: SignatureFiles | None = None  # this task's near-duplicate signatures (see neardup)


HEAD_BYTES = 1 << 20  # of a file over the size limit, the bytes hashed to name it in its reject


def read_input(source: RawSource, path: str, size: int, max_bytes: int) -> tuple[Article | Reject, bytes | None]:
    """Read one raw file and parse it. `size` is the listing's: a code where the entry is no
    readable regular file (it is not opened), over `max_bytes` a file is not read; and the read
    stops one byte past `max_bytes` (a file that grew since the listing is rejected all the same)."""
    if size < 0:
        return Reject(path, "", *entry_reject(path, size)), None
    if size > max_bytes:
        return _too_large(source, path, f"file is {size} bytes, over the limit of {max_bytes} bytes", size), None
    try:
        data = source.read(path, max_bytes, size)
    except NotARegularFile as exc:
        return Reject(path, "", *entry_reject(path, exc.code)), None
    except OSError as exc:
        return Reject(path, "", "unreadable", f"cannot read file: {exc.strerror or exc}", size), None
    if len(data) > max_bytes:
        return _too_large(source, path, f"file grew past the limit of {max_bytes} bytes after it was listed ({size} bytes then)", size), None
    return parse_file(data, path), data


def _too_large(source: RawSource, path: str, problem: str, size: int) -> Reject:
    """The reject of a file over the size limit: it is neither read whole nor hashed (its
    SHA-256 is left empty); the SHA-256 of its first HEAD_BYTES, so labelled, names it."""
    try:
        head = source.read(path, HEAD_BYTES - 1)
    except OSError as exc:
        return Reject(path, "", "too-large", f"{problem}; not read (its first bytes cannot be read either: {exc.strerror or exc})", size)
    return Reject(path, "", "too-large", f"{problem}; not read (SHA-256 of its first {len(head)} bytes: {hashlib.sha256(head).hexdigest()})", size)


def map_chunk(
    source: RawSource,
    paths: list[str],
    sizes: list[int],
    mtimes: list[int],
    known_sha: list[str | None],
    max_bytes: int,
    schema_path: str,
    cache_root: str,
    chunk_name: str,
    near_threshold: float | None = None,
) -> MapResult:
    """One map task (see the module's docstring); its rows go to `cache_root/chunk_name`, and,
    with `near_threshold`, their near-duplicate signatures to side files (see `neardup`)."""
    schema = worker_table_schema(schema_path)
    files = filetable.new_columns()
    unchanged: list[str] = []
    parts: list[pa.RecordBatch] = []
    pending: list[tuple[Article | Reject, str, int, int, Cleaned | None]] = []
    article_rows: list[int] = []  # the `files` row of each article in `parts`, in order

    def flush() -> None:
        # Every BATCH_FILES files, the parsed articles become one record batch and are freed:
        # a task holds Arrow buffers, not thousands of Python objects.
        first = len(files["path"])
        articles = [(first + i, record) for i, (record, *_) in enumerate(pending) if isinstance(record, Article)]
        if articles:
            batch = articles_to_batch([a for _, a in articles], schema)
            changed = clean_articles([a for _, a in articles], batch)  # hygiene (the batch tells quickly that nothing is to clean)
            for position, (article, cleaned) in changed.items():
                row = articles[position][0]
                pending[row - first] = (article, *pending[row - first][1:4], cleaned)
                articles[position] = (row, article)
            parts.append(articles_to_batch([a for _, a in articles], schema) if changed else batch)
            article_rows.extend(row for row, _ in articles)
        filetable.account(files, pending)
        pending.clear()

    for path, size, mtime, previous in zip(paths, sizes, mtimes, known_sha):
        if previous and 0 <= size <= max_bytes:
            try:
                data = source.read(path, max_bytes, size)
            except OSError:
                data = None
            if data is not None and len(data) <= max_bytes and hashlib.sha256(data).hexdigest() == previous:
                unchanged.append(path)
                continue
            record = parse_file(data, path) if data is not None and len(data) <= max_bytes else read_input(source, path, size, max_bytes)[0]
        else:
            record, _ = read_input(source, path, size, max_bytes)
        pending.append((record, path, size, mtime, None))  # (what hygiene removes is known at the flush)
        if len(pending) >= BATCH_FILES:
            flush()
    flush()

    table = pa.Table.from_batches(parts, schema=spill_schema(schema.arrow_schema))
    del parts[:]
    table = _check_rows(table, schema, files, article_rows)
    batches: dict[int, int] = {}
    chunk = None
    near = None
    if near_threshold is not None:
        near = write_signatures(table, cache_root, Path(chunk_name).stem, near_threshold)
    if table.num_rows:
        # One chunk first, its chunks' pages handed back (the allocator keeps freed pages for
        # itself otherwise), then the take: `take` of a chunked table joins the chunks and then
        # takes, so that at its peak it held the table three times over.
        table = table.combine_chunks()
        pa.default_memory_pool().release_unused()
        months = month_keys(table.column("published_at"))
        # By partition, and in partition order within one: every batch in the cache is a sorted
        # run, which the reduce merges a slice at a time (stable: equal keys stay in path order).
        keys = table.select([name for name, _ in SORT_KEYS]).add_column(0, "part", months)
        order = pc.sort_indices(keys, [("part", "ascending"), *SORT_KEYS])
        table = table.take(order)
        batches = write_chunk(table, months.take(order).to_pylist(), Path(cache_root) / chunk_name)
        chunk = chunk_name
        del table
    result = MapResult(filetable.to_batch(files), chunk, batches, unchanged, near)
    release_memory()
    return result


def _check_rows(table: pa.Table, schema: TableSchema, files: dict[str, list], article_rows: list[int]) -> pa.Table:
    """The schema's checks, over the task's rows at once (each check's cost is mostly per
    call), every violation listed: a row that breaks the schema becomes a reject in `files` and
    leaves `table`."""
    if not table.num_rows:
        return table
    violations: dict[int, list[str]] = {}
    for violation in check_batch(table, schema, limit_per_check=None):
        violations.setdefault(violation.row, []).append(violation.message)
    if not violations:
        return table
    for row, messages in violations.items():
        filetable.reject_row(files, article_rows[row], "schema-violation", "; ".join(messages))
    keep = np.ones(table.num_rows, dtype=bool)
    keep[list(violations)] = False
    return table.filter(pa.array(keep))


def articles_to_batch(articles: list[Article], schema: TableSchema) -> pa.RecordBatch:
    """Articles as one record batch with the schema's exact Arrow types (column lists, not dicts)."""
    spilled = spill_schema(schema.arrow_schema)  # the columns an article has
    # One attrgetter call per article and a transpose, both in C: half the time of a list of
    # getattr calls per column. pa.array takes the tuples of list fields as they are.
    columns = zip(*map(operator.attrgetter(*spilled.names), articles)) if articles else ([] for _ in spilled)
    arrays = [pa.array(column, type=item.type) for column, item in zip(columns, spilled)]
    return pa.RecordBatch.from_arrays(arrays, schema=spilled)
