"""The file table: one bookkeeping row per raw file, whatever became of it.

Each row holds the file's path, size, mtime and SHA-256 and what the map made of it: an
article (its id, partition, published and modified times and language: what deduplication and
the input listings need, and what hygiene removed from it) or a reject (its reason and detail).
An entry that is not a readable regular file has its listing code as its size (see `listing`).
It is kept in path
order, spilled and cached as Arrow IPC, and read a batch at a time by the outputs (report.json,
manifest.json): at a million inputs it is never held as Python objects.
"""

from __future__ import annotations

import bisect

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.hygiene import Cleaned
from dataset_tools.build.partition import month_keys
from dataset_tools.records import Article, Reject

ARTICLE, REJECTED = "article", "rejected"  # the `kind` of a row (duplicates are found later, see `dedup`)

FILES_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sha256", pa.string()),
        ("kind", pa.string()),  # ARTICLE | REJECTED
        ("id", pa.string()),
        ("part", pa.int32()),  # the article's partition (see `partition`), null for a reject
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("modified_at", pa.timestamp("us", tz="UTC")),
        ("language", pa.string()),
        ("language_source", pa.string()),
        ("fallbacks", pa.list_(pa.string())),  # the reader's codes for fields it had to guess (see `readers.FALLBACKS`)
        ("reason", pa.string()),
        ("detail", pa.string()),
        # What hygiene removed from the article (see `hygiene.Cleaned`); 0, false, null otherwise.
        ("control_characters", pa.int32()),
        ("url_userinfo", pa.bool_()),
        ("secret_parameters", pa.list_(pa.string())),
    ]
)

ARTICLE_COLUMNS = ("id", "published_at", "modified_at", "language", "language_source", "fallbacks")  # null for a reject


def new_columns() -> dict[str, list]:
    """Empty FILES_SCHEMA columns but `part`, to `account` rows into (see `to_batch`)."""
    return {name: [] for name in FILES_SCHEMA.names if name != "part"}


def to_batch(files: dict[str, list]) -> pa.RecordBatch:
    """The columns `account` filled, as a FILES_SCHEMA record batch: each article's partition
    is its month (`partition.month_keys`)."""
    published = pa.array(files["published_at"], FILES_SCHEMA.field("published_at").type)
    columns = {**files, "published_at": published, "part": month_keys(published)}
    return pa.RecordBatch.from_pydict({name: columns[name] for name in FILES_SCHEMA.names}, schema=FILES_SCHEMA)


def account(files: dict[str, list], outcomes: list[tuple[Article | Reject, str, int, int, Cleaned | None]]) -> None:
    """Append one bookkeeping row per (record, path, size, mtime_ns, cleaned) to the columns `files`."""
    for record, path, size, mtime, cleaned in outcomes:
        files["path"].append(path)
        files["size"].append(size)
        # A file that could not be read is read again by the next build: making it readable
        # (chmod) leaves its size and mtime as they were.
        files["mtime_ns"].append(-1 if size >= 0 and isinstance(record, Reject) and record.reason == "unreadable" else mtime)
        files["sha256"].append(record.source_sha256)
        files["control_characters"].append(cleaned.control_characters if cleaned else 0)
        files["url_userinfo"].append(cleaned.url_userinfo if cleaned else False)
        files["secret_parameters"].append(list(cleaned.secret_parameters) if cleaned and cleaned.secret_parameters else None)
        if isinstance(record, Article):
            files["kind"].append(ARTICLE)
            files["id"].append(record.id)
            files["published_at"].append(record.published_at)
            files["modified_at"].append(record.modified_at)
            files["language"].append(record.language)
            files["language_source"].append(record.language_source)
            files["fallbacks"].append(record.fallbacks)
            files["reason"].append(None)
            files["detail"].append(None)
        else:
            files["kind"].append(REJECTED)
            for name in ARTICLE_COLUMNS:
                files[name].append(None)
            files["reason"].append(record.reason)
            files["detail"].append(record.detail)


def reject_row(files: dict[str, list], row: int, reason: str, detail: str) -> None:
    """Turn bookkeeping row `row`, an article, into a reject."""
    files["kind"][row] = REJECTED
    for name in ARTICLE_COLUMNS:
        files[name][row] = None
    files["control_characters"][row], files["url_userinfo"][row] = 0, False
    files["reason"][row] = reason
    files["detail"][row] = detail


def replace_rows(old: pa.Table, stale: pa.ChunkedArray | pa.Array, new: pa.Table, few: int = 4096) -> pa.Table:
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
