"""The build's bookkeeping files: report.json (what became of every input) and manifest.json
(versions, and the SHA-256 of every file that went in and came out).

In: the file table (a batch at a time, see `filetable`), the losers the reduce found (see
`dedup`), the shards written. Out: the two files, each a head followed by one line per input
(written column-wise, never held whole: a million inputs take a few batches of memory), and
the report's head as a `ReportSummary` (see `dataset_tools.report`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools import __version__
from dataset_tools.build.filetable import ARTICLE, REJECTED
from dataset_tools.fileio import json_lines, sha256_file, write_json_listing_lines
from dataset_tools.layout import MANIFEST_FILE
from dataset_tools.readers import PARSER_VERSION
from dataset_tools.records import Outcome
from dataset_tools.report import LANGUAGE_SOURCES, ReportSummary
from dataset_tools.schema import TableSchema

FileBatches = Callable[[], Iterable[pa.RecordBatch]]  # the file table, batch by batch, in path order


def write_report(path: Path, files: FileBatches, losers: pa.Table, version: str, near_duplicates: dict | None = None) -> tuple[ReportSummary, dict]:
    """Write report.json (counts, rejects by reason, language sources, the near-duplicates'
    summary when they are not off, then one outcome per input, a line each); return its summary
    and the file's {"sha256", "bytes"}.

    `files()` yields the file table (FILES_SCHEMA, in path order) batch by batch; it is read
    twice, once to count and once to write the lines, and never held whole. `losers`
    (LOSERS_SCHEMA) names every duplicate and superseded file and the file it lost to.
    """
    lost = {
        p: (outcome, other)
        for p, outcome, other in zip(
            losers.column("path").to_pylist(), losers.column("outcome").to_pylist(), losers.column("other").to_pylist()
        )
    }
    lost_paths = pa.array(list(lost), pa.string())
    summary = _count(files, lost, lost_paths, version)
    summary.near_duplicate_links = near_duplicates

    def entry(path_: str, kind: str, id_, language, language_source, reason, detail) -> dict:
        if kind == REJECTED:
            return {"path": path_, "outcome": Outcome.REJECTED.value, "reason": reason, "detail": detail}
        if path_ in lost:
            outcome, other = lost[path_]
            return {"path": path_, "outcome": outcome, "id": id_, ("by" if outcome == Outcome.SUPERSEDED else "of"): other}
        return {"path": path_, "outcome": Outcome.ROW.value, "id": id_, "language": language, "language_source": language_source}

    def lines() -> Iterator[pa.Array]:
        # Rows (nearly every input) are written column-wise; rejects, duplicates and superseded
        # versions, a few, entry by entry.
        columns = ["path", "kind", "id", "language", "language_source", "reason", "detail"]
        for part in files():
            other = pc.or_(pc.not_equal(part.column("kind"), ARTICLE), pc.is_in(part.column("path"), lost_paths))

            def slow(indices: list[int], part: pa.RecordBatch = part) -> list[bytes]:
                picked = part.take(pa.array(indices, pa.int64()))
                values = zip(*(picked.column(c).to_pylist() for c in columns))
                return [orjson.dumps(entry(*row)) for row in values]

            yield json_lines(
                [("path", part.column("path")), ("outcome", pa.scalar(Outcome.ROW.value)), ("id", part.column("id")),
                 ("language", part.column("language")), ("language_source", part.column("language_source"))],
                slow,
                other,
                verbatim=frozenset({"outcome", "id", "language", "language_source"}),  # hex ids, codes
            )

    return summary, write_json_listing_lines(path, summary.to_json(), "files", lines())


def _count(files: FileBatches, lost: dict[str, tuple[str, str]], lost_paths: pa.Array, version: str) -> ReportSummary:
    reasons: Counter = Counter()
    sources: Counter = Counter()
    inputs = rows = rejected = 0
    for part in files():
        kind = part.column("kind")
        is_rejected = pc.equal(kind, REJECTED)
        reasons.update(_value_counts(pc.filter(part.column("reason"), is_rejected)))
        is_row = pc.and_(pc.equal(kind, ARTICLE), pc.invert(pc.is_in(part.column("path"), lost_paths)))
        sources.update(_value_counts(pc.filter(part.column("language_source"), is_row)))
        inputs += part.num_rows
        rows += pc.sum(is_row).as_py() or 0
        rejected += pc.sum(is_rejected).as_py() or 0
    outcomes = Counter(outcome for outcome, _ in lost.values())
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
    )


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
    files: FileBatches | None = None,
    digests: dict[str, dict] | None = None,
) -> None:
    """Write manifest.json: versions, what came out (SHA-256, rows, bytes), then what went in
    (path, size, SHA-256 of every raw file, a line each, from `files()`). `digests` holds the
    {"sha256", "bytes"} of files of the folder taken as they were written (the others are
    read and hashed here)."""
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
    write_json_listing_lines(path, head, "inputs", manifest_input_lines(files or (lambda: iter(()))))


def manifest_input_lines(files: FileBatches) -> Iterator[pa.Array]:
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
