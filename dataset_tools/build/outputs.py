"""The build's bookkeeping: what became of every input, and the SHA-256 of every file.

In: the file table (a batch at a time, see `filetable`), the losers (see `dedup`), the files
written. Out:
- report.json: the counts, rejects by reason, language sources (a `ReportSummary`, see
  `dataset_tools.report`), then one line per rejected input with its reason;
- the input listings `inputs/YYYY/MM.parquet` (see `layout`): one row per input whose article
  fell in that month, in path order: its size, SHA-256 and outcome (row, duplicate, superseded,
  with the file it lost to), the fields its reader guessed, and what hygiene removed from it.
  They are partitioned like the data, so a release that adds articles to the newest month
  rewrites that month's listing only;
- manifest.json: the versions, and every file of the folder with its SHA-256 and size.
Nothing is held whole: a million inputs take a few batches of memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import __version__
from dataset_tools.build.filetable import ARTICLE, REJECTED
from dataset_tools.build.reduce import parquet_options
from dataset_tools.fileio import json_lines, sha256_file, write_json, write_json_listing_lines
from dataset_tools.layout import MANIFEST_FILE, inputs_name
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.records import Outcome
from dataset_tools.report import CLEANED_COUNTS, LANGUAGE_SOURCES, ReportSummary
from dataset_tools.schema import TableSchema

FileBatches = Callable[[], Iterable[pa.RecordBatch]]  # the file table, batch by batch, in path order
REJECT_KEYS = ("path", "reason", "detail", "size", "sha256")  # of each line of report.json's `rejected`
LISTING_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("sha256", pa.string()),
        ("outcome", pa.string()),  # row | duplicate | superseded | near-duplicate
        ("id", pa.string()),
        ("other", pa.string()),  # the file a duplicate or a near-duplicate is a copy of, or that supersedes it
        ("language", pa.string()),
        ("language_source", pa.string()),
        ("fallbacks", pa.list_(pa.string())),  # the fields the reader had to guess (see `readers.FALLBACKS`)
        # What hygiene removed from the row (see `hygiene.Cleaned`): counts and names, never values.
        ("control_characters", pa.int32()),
        ("url_userinfo", pa.bool_()),
        ("secret_parameters", pa.list_(pa.string())),
    ]
)
LISTING_GROUP_ROWS = 4096  # rows per row group of a listing, whatever the batches they arrive in


def write_report(path: Path, files: FileBatches, losers: pa.Table, version: str, near_duplicates: dict | None = None) -> tuple[ReportSummary, dict]:
    """Write report.json (the summary, with the near-duplicates' section when they are not
    off, then one line per rejected input: its path, reason, detail, size (null for an entry
    that is no file) and SHA-256 (empty where it was not read whole)); return its summary and
    the file's {"sha256", "bytes"}.

    `files()` yields the file table (FILES_SCHEMA, in path order) batch by batch; it is read
    twice, once to count and once to write the lines, and never held whole. `losers`
    (LOSERS_SCHEMA) names every duplicate, superseded version and dropped near-duplicate.
    """
    lost = dict(zip(losers.column("path").to_pylist(), losers.column("outcome").to_pylist()))
    lost_paths = pa.array(list(lost), pa.string())
    summary = _count(files, lost, lost_paths, version)
    summary.near_duplicate_links = near_duplicates

    def lines() -> Iterator[pa.Array]:
        for part in files():
            rejects = part.filter(pc.equal(part.column("kind"), REJECTED))
            if not rejects.num_rows:
                continue
            # An entry that is no regular file has a code for its size in the file table: no size here.
            sizes = pc.if_else(pc.less(rejects.column("size"), 0), pa.scalar(None, pa.int64()), rejects.column("size"))
            columns = [("path", rejects.column("path")), ("reason", rejects.column("reason")), ("detail", rejects.column("detail")),
                       ("size", sizes), ("sha256", rejects.column("sha256"))]

            def slow(indices: list[int], columns: list = columns) -> list[bytes]:
                picked = pa.array(indices, pa.int64())
                values = zip(*(values.take(picked).to_pylist() for _, values in columns))
                return [orjson.dumps(dict(zip(REJECT_KEYS, row))) for row in values]

            yield json_lines(columns, slow, verbatim=frozenset({"sha256"}))

    return summary, write_json_listing_lines(path, summary.to_json(), "rejected", lines())


def write_listings(folder: Path, files: FileBatches, losers: pa.Table, parts: set[int]) -> dict[str, dict]:
    """Write the input listings of the partitions `parts` (see the module's docstring) into
    the build folder; returns each written file's {"sha256", "bytes"} by relative path."""
    lost = pa.table({"path": losers.column("path"), "lost_outcome": losers.column("outcome"), "other": losers.column("other")}).combine_chunks()
    writers: dict[int, _Listing] = {}
    wanted = pa.array(sorted(parts), pa.int32())
    for batch in files():
        articles = batch.filter(pc.and_(pc.equal(batch.column("kind"), ARTICLE), pc.is_in(batch.column("part"), wanted)))
        if not articles.num_rows:
            continue
        rows = _listing_rows(pa.Table.from_batches([articles]), lost)
        for part in pc.unique(rows.column("part")).to_pylist():
            if part not in writers:
                writers[part] = _Listing(folder, part)
            writers[part].append(rows.filter(pc.equal(rows.column("part"), part)).drop_columns(["part"]))
    return {writer.name: writer.close() for writer in writers.values()}


def _listing_rows(articles: pa.Table, lost: pa.Table) -> pa.Table:
    """Listing rows (LISTING_SCHEMA and `part`) of a batch of the file table's articles, in its order."""
    where = pc.index_in(articles.column("path"), value_set=lost.column("path"))  # null: not a loser
    outcome = pc.fill_null(pc.take(lost.column("lost_outcome"), where), Outcome.ROW.value)
    columns = {"outcome": outcome, "other": pc.take(lost.column("other"), where)}
    return pa.table(
        [columns[name] if name in columns else articles.column(name) for name in LISTING_SCHEMA.names] + [articles.column("part")],
        schema=LISTING_SCHEMA.append(pa.field("part", pa.int32())),
    )


class _Listing:
    """One partition's listing, written in row groups of LISTING_GROUP_ROWS rows."""

    def __init__(self, folder: Path, part: int) -> None:
        self.name = inputs_name(part)
        self.path = folder / self.name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.path, LISTING_SCHEMA, **parquet_options())
        self.pending: list[pa.Table] = []
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        while self.rows >= LISTING_GROUP_ROWS:
            self._flush(LISTING_GROUP_ROWS)

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self.pending).combine_chunks()
        self.writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self.pending, self.rows = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> dict:
        if self.rows:
            self._flush(self.rows)
        self.writer.close()
        return {"sha256": sha256_file(self.path), "bytes": self.path.stat().st_size}


def _count(files: FileBatches, lost: dict[str, str], lost_paths: pa.Array, version: str) -> ReportSummary:
    reasons: Counter = Counter()
    sources: Counter = Counter()
    guesses: Counter = Counter()
    cleaned: Counter = Counter()
    inputs = rows = rejected = guessed = 0
    for part in files():
        kind = part.column("kind")
        is_rejected = pc.equal(kind, REJECTED)
        reasons.update(_value_counts(pc.filter(part.column("reason"), is_rejected)))
        is_row = pc.and_(pc.equal(kind, ARTICLE), pc.invert(pc.is_in(part.column("path"), lost_paths)))
        sources.update(_value_counts(pc.filter(part.column("language_source"), is_row)))
        row_guesses = pc.filter(part.column("fallbacks"), is_row)
        guesses.update(_value_counts(pc.list_flatten(row_guesses)))
        guessed += pc.sum(pc.greater(pc.fill_null(pc.list_value_length(row_guesses), 0), 0)).as_py() or 0
        inputs += part.num_rows
        rows += pc.sum(is_row).as_py() or 0
        rejected += pc.sum(is_rejected).as_py() or 0
        was_cleaned = pc.and_(is_row, _was_cleaned(part))
        if pc.any(was_cleaned).as_py():  # (rows hygiene changed are few: most batches have none)
            rows_cleaned = part.filter(was_cleaned)
            characters = rows_cleaned.column("control_characters")
            cleaned["rows"] += rows_cleaned.num_rows
            cleaned["control_characters"] += pc.sum(characters).as_py() or 0
            cleaned["rows_with_control_characters"] += pc.sum(pc.greater(characters, 0)).as_py() or 0
            cleaned["rows_with_url_userinfo"] += pc.sum(rows_cleaned.column("url_userinfo")).as_py() or 0
            cleaned["rows_with_secret_parameters"] += pc.sum(pc.is_valid(rows_cleaned.column("secret_parameters"))).as_py() or 0
    outcomes = Counter(lost.values())
    return ReportSummary(
        dataset_version=version,
        parser_version=PARSER_VERSION,
        inputs=inputs,
        rows=rows,
        duplicates=outcomes[Outcome.DUPLICATE.value],
        superseded=outcomes[Outcome.SUPERSEDED.value],
        rejected=rejected,
        near_duplicates=outcomes[Outcome.NEAR_DUPLICATE.value],
        rejects_by_reason=dict(sorted(reasons.items())),
        language_sources={key: sources[key] for key in LANGUAGE_SOURCES},
        fallback_rows=guessed,
        fallbacks=dict(sorted(guesses.items())),
        cleaned={key: cleaned[key] for key in CLEANED_COUNTS},
    )


CLEANED = ("control_characters", "url_userinfo", "secret_parameters")  # the file table's hygiene columns


def _was_cleaned(part: pa.RecordBatch) -> pa.Array:
    """Which rows of the file table hygiene changed."""
    return pc.or_(pc.or_(pc.greater(part.column("control_characters"), 0), part.column("url_userinfo")), pc.is_valid(part.column("secret_parameters")))


def _value_counts(values: pa.ChunkedArray | pa.Array) -> Counter:
    counts = pc.value_counts(values)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))


def write_manifest(
    path: Path,
    folder: Path,
    shards: list[dict],
    schema: TableSchema,
    version: str,
    *,
    digests: dict[str, dict] | None = None,
    dataset: dict[str, str] | None = None,
) -> None:
    """Write manifest.json: versions, the dataset it is (`dataset`: its name and the Hub repo
    its card names, which publish checks), the shards (SHA-256, rows, bytes), then every other
    file of the folder (SHA-256, bytes). `digests` holds the {"sha256", "bytes"} of files taken
    as they were written (the others are read and hashed here)."""
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
        **({"dataset": dict(dataset)} if dataset else {}),
        "schema": {"path": f"schemas/{schema.path.name}", "sha256": schema.sha256},
        "data_files": shards,
        "files": [{"path": rel, **(digests.get(rel) or {"sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size})} for rel in others],
    }
    write_json(path, head)
