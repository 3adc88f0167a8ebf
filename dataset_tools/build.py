"""raw/ -> records -> dedup -> Parquet shards + report + manifest + card, atomically.

The build runs in two stages so that memory is bounded by a shard, not by the corpus:

1. map: worker processes read and parse chunks of raw files, check each row against the
   schema, and turn the articles into Arrow record batches split by bucket (a hash of the
   row id). The main process appends each batch to its bucket's spill file.
2. reduce: each bucket is one output shard. A task reads its spill, resolves duplicates and
   superseded versions of the same URL (they share the id, hence the bucket), sorts the rows
   by (published_at, id) and writes the Parquet shard.

Everything is written into a staging folder beside the target and swapped in at the end: an
interrupted or failed build leaves the previous output untouched. Nothing in the output
depends on the clock, the machine, absolute paths or worker scheduling, so two builds of the
same input are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import __version__
from dataset_tools.config import Settings
from dataset_tools.errors import BuildFailed, InputNotFound
from dataset_tools.readers import PARSER_VERSION, parse_article
from dataset_tools.records import ROW_FIELDS, Article, Reject
from dataset_tools.schema import TableSchema, check_batch, load_table_schema

DATA_DIR = "data"
SPLIT = "train"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
# Row groups stay far below the Hub dataset viewer's limit on uncompressed row-group size.
ROW_GROUP_BYTES = 32 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 20_000
CHUNK_FILES = 256

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class InputFile:
    """A raw file: its path relative to the raw folder ('/'-separated) and its size in bytes."""

    path: str
    size: int


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
    report: dict = field(repr=False)

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
        }


def list_inputs(raw: Path) -> list[InputFile]:
    """Every regular file under `raw` (recursively, hidden files included), sorted by path.

    Raises:
        InputNotFound: `raw` does not exist or is not a folder.
    """
    raw = Path(raw)
    if not raw.is_dir():
        raise InputNotFound(f"raw folder {raw} does not exist", hint="Pass --raw DIR, or create raw/ with the collected files.")
    found: list[InputFile] = []
    stack = [raw]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    rel = Path(entry.path).relative_to(raw).as_posix()
                    found.append(InputFile(rel, entry.stat().st_size))
    found.sort(key=lambda item: item.path)
    return found


def read_input(raw: Path, item: InputFile, max_bytes: int) -> Article | Reject:
    """Read one raw file and parse it; the size limit is checked before reading into memory."""
    if item.size > max_bytes:
        sha = _sha256_file(raw / item.path)
        return Reject(item.path, sha, "too-large", f"file is {item.size} bytes, over the limit of {max_bytes} bytes", item.size)
    try:
        data = (raw / item.path).read_bytes()
    except OSError as exc:
        return Reject(item.path, "", "unreadable", f"cannot read file: {exc.strerror or exc}", item.size)
    return parse_article(data, item.path)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bucket_of(article_id: str, buckets: int) -> int:
    """The shard an id belongs to: uniform (ids are hash prefixes) and stable across builds."""
    return int(article_id[:8], 16) % buckets


def shard_count(inputs: int, shard_rows: int) -> int:
    return max(1, math.ceil(inputs / max(1, shard_rows)))


def shard_name(index: int, count: int) -> str:
    return f"{DATA_DIR}/{SPLIT}-{index:05d}-of-{count:05d}.parquet"


# -- stage 1: map ---------------------------------------------------------------------------


@dataclass(slots=True)
class _ChunkResult:
    batches: dict[int, pa.RecordBatch]
    rejects: list[Reject]
    parsed: list[tuple[str, str, str, str]]  # (path, id, language, language_source) per article
    sizes: list[tuple[str, int, str]]  # (path, size, sha256) per input


def _map_chunk(raw: str, items: list[InputFile], max_bytes: int, schema_path: str, buckets: int) -> _ChunkResult:
    schema = _schema_cached(schema_path)
    articles: list[Article] = []
    rejects: list[Reject] = []
    sizes: list[tuple[str, int, str]] = []
    for item in items:
        record = read_input(Path(raw), item, max_bytes)
        sizes.append((item.path, item.size, record.source_sha256))
        (articles if isinstance(record, Article) else rejects).append(record)
    batch = articles_to_batch(articles, schema)
    if articles:
        bad: dict[int, list[str]] = {}
        for violation in check_batch(batch, schema):
            bad.setdefault(violation.row, []).append(violation.message)
        if bad:
            for row, messages in bad.items():
                article = articles[row]
                rejects.append(
                    Reject(article.source_file, article.source_sha256, "schema-violation", "; ".join(messages))
                )
            keep = [i for i in range(len(articles)) if i not in bad]
            articles = [articles[i] for i in keep]
            batch = batch.take(pa.array(keep, pa.int64()))
    parsed = [(a.source_file, a.id, a.language, a.language_source) for a in articles]
    by_bucket: dict[int, pa.RecordBatch] = {}
    if articles:
        bucket_ids = pa.array([bucket_of(a.id, buckets) for a in articles], pa.int32())
        for bucket in sorted(set(bucket_ids.to_pylist())):
            by_bucket[bucket] = batch.filter(pc.equal(bucket_ids, bucket))
    return _ChunkResult(by_bucket, rejects, parsed, sizes)


_SCHEMAS: dict[str, TableSchema] = {}


def _schema_cached(path: str) -> TableSchema:
    # Loaded once per worker process, not once per chunk.
    if path not in _SCHEMAS:
        _SCHEMAS[path] = load_table_schema(Path(path))
    return _SCHEMAS[path]


def articles_to_batch(articles: list[Article], schema: TableSchema) -> pa.RecordBatch:
    """Articles as one record batch with the schema's exact Arrow types (column lists, not dicts)."""
    columns = {name: [] for name in ROW_FIELDS}
    for article in articles:
        for name in ROW_FIELDS:
            value = getattr(article, name)
            columns[name].append(list(value) if isinstance(value, tuple) else value)
    arrow = schema.arrow_schema
    arrays = [pa.array(columns[f.name], type=f.type) for f in arrow]
    # Validity of required fields is checked by check_batch; build the batch nullable-tolerant.
    relaxed = pa.schema([f.with_nullable(True) for f in arrow], metadata=arrow.metadata)
    return pa.RecordBatch.from_arrays(arrays, schema=relaxed)


# -- stage 2: reduce ------------------------------------------------------------------------


@dataclass(slots=True)
class _ShardResult:
    name: str
    rows: int
    sha256: str
    bytes: int
    losers: list[tuple[str, str, str, str]]  # (path, outcome, winner-or-original path, id)


def _reduce_bucket(spill: str | None, target: str, name: str, schema_path: str) -> _ShardResult:
    schema = _schema_cached(schema_path)
    if spill and os.path.exists(spill):
        with pa.memory_map(spill) as source:
            table = pa.ipc.open_stream(source).read_all()
    else:
        table = schema.arrow_schema.empty_table()
    table, losers = resolve_duplicates(table)
    table = table.sort_by([("published_at", "ascending"), ("id", "ascending")])
    table = table.cast(schema.arrow_schema)
    write_parquet(table, Path(target))
    return _ShardResult(name, table.num_rows, _sha256_file(Path(target)), os.path.getsize(target), losers)


def resolve_duplicates(table: pa.Table) -> tuple[pa.Table, list[tuple[str, str, str, str]]]:
    """Keep one row per id. Byte-identical files are duplicates of the first such file;
    otherwise the version with the later modified time (failing that, published time; failing
    that, the later file) supersedes the others.

    Returns:
        the deduplicated table and (path, "duplicate" | "superseded", other path, id) per loser.
    """
    if table.num_rows == 0:
        return table, []
    counts = pc.value_counts(table.column("id"))
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return table, []
    mask = pc.is_in(table.column("id"), repeated)
    groups: dict[str, list[tuple[int, str, str, object]]] = {}
    subset = table.filter(mask).select(["id", "source_file", "source_sha256", "published_at", "modified_at"])
    index = pc.indices_nonzero(mask).to_pylist()
    for row, (id_, path, sha, published, modified) in zip(
        index,
        zip(*(subset.column(c).to_pylist() for c in subset.column_names)),
    ):
        groups.setdefault(id_, []).append((row, path, sha, modified or published))
    drop: set[int] = set()
    losers: list[tuple[str, str, str, str]] = []
    for id_, members in groups.items():
        members.sort(key=lambda m: m[1])
        originals: dict[str, tuple[int, str, str, object]] = {}
        for member in members:
            first = originals.setdefault(member[2], member)
            if first is not member:
                drop.add(member[0])
                losers.append((member[1], "duplicate", first[1], id_))
        versions = sorted(originals.values(), key=lambda m: (m[3], m[1]))
        winner = versions[-1]
        for member in versions[:-1]:
            drop.add(member[0])
            losers.append((member[1], "superseded", winner[1], id_))
    keep = [i for i in range(table.num_rows) if i not in drop]
    return table.take(pa.array(keep, pa.int64())), losers


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
    """Write one shard with row groups bounded in bytes and rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, **_parquet_options()) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
            return
        for start, stop in _row_group_bounds(table):
            writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)


def _row_group_bounds(table: pa.Table) -> Iterator[tuple[int, int]]:
    sizes = pc.add(pc.binary_length(table.column("body")), 1024).to_numpy(zero_copy_only=False)
    start, acc = 0, 0
    for i, size in enumerate(sizes):
        if i > start and (acc + size > ROW_GROUP_BYTES or i - start >= ROW_GROUP_MAX_ROWS):
            yield start, i
            start, acc = i, 0
        acc += int(size)
    yield start, len(sizes)


# -- the whole build -----------------------------------------------------------------------


def build_dataset(
    settings: Settings,
    raw: Path | None = None,
    out: Path | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the dataset folder from the raw files.

    Args:
        settings: the project's settings (schema path, version, card metadata, limits).
        raw: the raw folder (default: the settings' `raw`).
        out: the output folder (default: the settings' `out`); replaced atomically.
        workers: parser processes (default: all cores; 1 parses in this process).
        progress: called as progress(stage, done, total) while the build runs.

    Returns:
        The build's counts and files.

    Raises:
        InputNotFound: the raw folder does not exist.
        BuildFailed: the output could not be written; the previous output is intact.
    """
    raw = Path(raw or settings.raw).resolve()
    out = Path(out or settings.out).resolve()
    schema = load_table_schema(settings.schema)
    version = settings.version
    inputs = list_inputs(raw)
    notify = progress or (lambda stage, done, total: None)

    _remove_stale_staging(out)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        result = _build_into(staging, raw, inputs, schema, settings, version, workers, notify)
        _swap_in(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise BuildFailed(f"could not write the dataset to {out}: {exc}", hint="Check free disk space and permissions; the previous output is unchanged.") from exc
        raise
    result.out = out
    return result


def _build_into(
    staging: Path,
    raw: Path,
    inputs: list[InputFile],
    schema: TableSchema,
    settings: Settings,
    version: str,
    workers: int | None,
    notify: Progress,
) -> BuildResult:
    buckets = shard_count(len(inputs), settings.shard_rows)
    spill_dir = staging / ".spill"
    spill_dir.mkdir()
    chunks = [inputs[i : i + CHUNK_FILES] for i in range(0, len(inputs), CHUNK_FILES)]
    workers = max(1, workers or os.cpu_count() or 1)
    if len(chunks) <= 1:
        workers = 1

    rejects: list[Reject] = []
    parsed: list[tuple[str, str, str, str]] = []
    input_rows: list[tuple[str, int, str]] = []
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    sinks: list = []
    executor: Executor | None = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        done = 0
        notify("parse", 0, len(inputs))
        for result in _run_map(executor, chunks, raw, settings.max_file_bytes, str(schema.path), buckets):
            for bucket, batch in result.batches.items():
                if bucket not in writers:
                    sink = pa.OSFile(str(spill_dir / f"{bucket:05d}.arrow"), "wb")
                    sinks.append(sink)
                    writers[bucket] = pa.ipc.new_stream(sink, batch.schema)
                writers[bucket].write_batch(batch)
            rejects.extend(result.rejects)
            parsed.extend(result.parsed)
            input_rows.extend(result.sizes)
            done += len(result.sizes)
            notify("parse", done, len(inputs))
        for writer in writers.values():
            writer.close()
        for sink in sinks:
            sink.close()

        notify("write", 0, buckets)
        tasks = [
            (
                str(spill_dir / f"{b:05d}.arrow") if b in writers else None,
                str(staging / shard_name(b, buckets)),
                shard_name(b, buckets),
                str(schema.path),
            )
            for b in range(buckets)
        ]
        if executor is not None and buckets > 1:
            shard_results = []
            for i, res in enumerate(executor.map(_reduce_bucket, *zip(*tasks))):
                shard_results.append(res)
                notify("write", i + 1, buckets)
        else:
            shard_results = []
            for i, task in enumerate(tasks):
                shard_results.append(_reduce_bucket(*task))
                notify("write", i + 1, buckets)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    shutil.rmtree(spill_dir)

    report = make_report(inputs, rejects, parsed, shard_results, version)
    _write_json(staging / REPORT_FILE, report)

    from dataset_tools.card import write_card_files

    write_card_files(staging, settings, schema, version)
    shards = [{"path": r.name, "rows": r.rows, "sha256": r.sha256, "bytes": r.bytes} for r in shard_results]
    manifest = make_manifest(staging, inputs, input_rows, shards, schema, version)
    _write_json(staging / MANIFEST_FILE, manifest)
    counts = report["counts"]
    return BuildResult(
        out=staging,
        version=version,
        inputs=counts["inputs"],
        rows=counts["rows"],
        duplicates=counts["duplicates"],
        superseded=counts["superseded"],
        rejected=counts["rejected"],
        rejects_by_reason=report["rejects_by_reason"],
        shards=shards,
        output_bytes=sum(p.stat().st_size for p in staging.rglob("*") if p.is_file()),
        report=report,
    )


def _run_map(executor: Executor | None, chunks, raw: Path, max_bytes: int, schema_path: str, buckets: int) -> Iterable[_ChunkResult]:
    if executor is None:
        for chunk in chunks:
            yield _map_chunk(str(raw), chunk, max_bytes, schema_path, buckets)
        return
    # Bounded look-ahead: a few chunks in flight per worker keeps memory flat.
    from collections import deque

    pending: deque = deque()
    iterator = iter(chunks)
    limit = 4 * getattr(executor, "_max_workers", 2)
    for chunk in iterator:
        pending.append(executor.submit(_map_chunk, str(raw), chunk, max_bytes, schema_path, buckets))
        if len(pending) >= limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def make_report(
    inputs: list[InputFile],
    rejects: list[Reject],
    parsed: list[tuple[str, str, str, str]],
    shards: list[_ShardResult],
    version: str,
) -> dict:
    """report.json: counts, rejects by reason, language sources, and one outcome per input."""
    outcome: dict[str, dict] = {}
    for path, id_, language, source in parsed:
        outcome[path] = {"path": path, "outcome": "row", "id": id_, "language": language, "language_source": source}
    for shard in shards:
        for path, kind, other, id_ in shard.losers:
            entry = {"path": path, "outcome": kind, "id": id_}
            entry["of" if kind == "duplicate" else "by"] = other
            outcome[path] = entry
    for reject in rejects:
        outcome[reject.source_file] = {
            "path": reject.source_file,
            "outcome": "rejected",
            "reason": reject.reason,
            "detail": reject.detail,
        }
    files = [outcome[item.path] for item in inputs]
    kinds = Counter(entry["outcome"] for entry in files)
    languages = Counter(entry["language_source"] for entry in files if entry["outcome"] == "row")
    return {
        "dataset_version": version,
        "parser_version": PARSER_VERSION,
        "counts": {
            "inputs": len(inputs),
            "rows": kinds["row"],
            "duplicates": kinds["duplicate"],
            "superseded": kinds["superseded"],
            "rejected": kinds["rejected"],
        },
        "rejects_by_reason": dict(sorted(Counter(r.reason for r in rejects).items())),
        "language_sources": {key: languages[key] for key in ("declared", "detected", "unknown")},
        "files": files,
    }


def make_manifest(
    folder: Path,
    inputs: list[InputFile],
    input_rows: list[tuple[str, int, str]],
    shards: list[dict],
    schema: TableSchema,
    version: str,
) -> dict:
    """manifest.json: what went in (path, size, SHA-256) and what came out (SHA-256, rows)."""
    by_path = {path: (size, sha) for path, size, sha in input_rows}
    others = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in {s["path"] for s in shards} | {MANIFEST_FILE}
    )
    return {
        "tool": "dataset-tools",
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "dataset_version": version,
        "schema": {"path": f"schemas/{schema.path.name}", "sha256": schema.sha256},
        "inputs": [{"path": i.path, "size": i.size, "sha256": by_path[i.path][1]} for i in inputs],
        "data_files": shards,
        "files": [
            {"path": rel, "sha256": _sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
            for rel in others
        ],
    }


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


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
        if pid.isdigit() and not _alive(int(pid)):
            if candidate.name.startswith(f".{out.name}.old-") and not out.exists():
                os.rename(candidate, out)  # killed between the two renames: restore
            else:
                shutil.rmtree(candidate, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
