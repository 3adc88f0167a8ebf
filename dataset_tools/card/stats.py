"""Statistics of a built folder, read from the Parquet shards column-wise in record batches.

Memory is bounded by one batch and by the number of distinct values counted (outlets,
languages, sections, months, body lengths), never by the number of rows: the `body` column is
never loaded whole, only its per-batch lengths are counted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from itertools import chain
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools.fileio import sha256_file
from dataset_tools.layout import data_files

BATCH_ROWS = 8192
QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def card_cache_folder(cache_root: Path) -> Path:
    """The build cache's folder for what the card reuses (shard statistics, the first row, the
    plot), named by a digest of the code that makes it (this module and `plot`): a tool whose
    counting or drawing changed never reuses what another version cached, whatever its version
    number says. When this code's folder is first made, the others (and files of the older flat
    layout) are removed."""
    digest = hashlib.sha256()
    for module in ("stats.py", "plot.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    parent = Path(cache_root) / "card"
    folder = parent / digest.hexdigest()[:16]
    if not folder.is_dir() and parent.is_dir():
        for stale in parent.iterdir():
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
    return folder


@dataclass
class ShardInfo:
    """One Parquet shard: its path relative to the folder, rows, bytes on disk and uncompressed."""

    path: str
    rows: int
    file_bytes: int
    data_bytes: int


@dataclass
class DatasetStats:
    """Counts over the rows of a built folder."""

    shards: list[ShardInfo] = field(default_factory=list)
    rows: int = 0
    domains: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    sections: Counter = field(default_factory=Counter)
    months: Counter = field(default_factory=Counter)
    coverage: dict[str, int] = field(default_factory=dict)
    body_lengths: Counter = field(default_factory=Counter)
    word_counts: Counter = field(default_factory=Counter)
    first_published: str | None = None
    last_published: str | None = None

    @property
    def num_bytes(self) -> int:
        """Uncompressed size of the split's data (sum of the row groups' sizes)."""
        return sum(s.data_bytes for s in self.shards)

    @property
    def download_size(self) -> int:
        """Bytes of the Parquet files."""
        return sum(s.file_bytes for s in self.shards)

    def body_length_quantiles(self) -> dict[float, int]:
        return quantiles(self.body_lengths)

    def word_count_quantiles(self) -> dict[float, int]:
        return quantiles(self.word_counts)


# Field coverage: the share of rows where the optional field holds something.
COVERAGE = {
    "description": "has a description",
    "tags": "has tags",
    "image_url": "has an image",
    "keywords": "has keywords",
    "section": "has a section",
    "modified_at": "has a modified time",
}


def shard_info(folder: Path, path: Path, meta: pq.FileMetaData | None = None) -> ShardInfo:
    """Rows and sizes of one shard, from its Parquet footer only."""
    meta = meta or pq.ParquetFile(path).metadata
    return ShardInfo(
        path=path.relative_to(folder).as_posix(),
        rows=meta.num_rows,
        file_bytes=path.stat().st_size,
        data_bytes=sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
    )


def collect_stats(folder: Path, *, cache: Path | None = None, hashes: dict[str, str] | None = None) -> DatasetStats:
    """Count what the card reports over every shard of `folder`, batch by batch.

    With `cache`, each shard's counts are kept there under the shard's SHA-256 (taken from
    `hashes`, {relative path: sha256}, when the caller knows them), so an incremental build
    re-reads only the shards it rewrote (the build counts the shards it writes as it writes
    them, see `count_batch`). Counts of shards no longer present are pruned.
    """
    parts: list[tuple[str, dict]] = []  # per shard, its counts as `_stats_to_json` gives them
    used: set[str] = set()
    for path in data_files(folder):
        rel = path.relative_to(folder).as_posix()
        if cache is None:
            parts.append((rel, _stats_to_json(shard_stats(folder, path))))
            continue
        key = (hashes or {}).get(rel) or sha256_file(path)
        stored = Path(cache) / f"stats-{key}.json"
        used.add(stored.name)
        if stored.is_file():
            parts.append((rel, orjson.loads(stored.read_bytes())))
        else:
            part = shard_stats(folder, path)
            store_shard_stats(Path(cache), key, part)
            parts.append((rel, _stats_to_json(part)))
    if cache is not None and Path(cache).is_dir():
        for stale in Path(cache).glob("stats-*.json"):
            if stale.name not in used:
                stale.unlink(missing_ok=True)
    return _total(parts)


def shard_stats(folder: Path, path: Path) -> DatasetStats:
    """The counts of one shard, read back from its Parquet file."""
    parquet = pq.ParquetFile(path)
    stats = DatasetStats(coverage={name: 0 for name in COVERAGE})
    columns = ["domain", "language", "section", "published_at", "body", "word_count", *COVERAGE]
    columns = list(dict.fromkeys(c for c in columns if c in parquet.schema_arrow.names))
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        count_batch(stats, batch)
    stats.shards.append(shard_info(folder, path, parquet.metadata))
    return stats


def count_batch(stats: DatasetStats, batch: pa.RecordBatch | pa.Table) -> None:
    """Add one batch of rows to `stats` (the build counts each shard's rows as it writes them)."""
    stats.rows += batch.num_rows
    # A column missing from a broken build is counted as absent, not a crash.
    have = set(batch.schema.names)
    for counter, name in (
        (stats.domains, "domain"),
        (stats.languages, "language"),
        (stats.sections, "section"),
        (stats.word_counts, "word_count"),
    ):
        if name in have:
            _count(counter, batch.column(name))
    if "published_at" in have:
        # Counted as year * 100 + month and named after: strftime on every row costs 3x more.
        published = batch.column("published_at")
        months: Counter = Counter()
        _count(months, pc.add(pc.multiply(pc.year(published), 100), pc.month(published)))
        stats.months.update({f"{key // 100:04d}-{key % 100:02d}": count for key, count in months.items()})
    if "body" in have:
        _count(stats.body_lengths, pc.utf8_length(batch.column("body")))
    for name in COVERAGE:
        if name in have:
            stats.coverage[name] = stats.coverage.get(name, 0) + _present(batch.column(name))
    if batch.num_rows and "published_at" in have:
        bounds = pc.min_max(batch.column("published_at"))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None:
            # One format throughout, so text order is time order.
            stats.first_published = _min(stats.first_published, low.strftime("%Y-%m-%dT%H:%M:%SZ"))
            stats.last_published = _max(stats.last_published, high.strftime("%Y-%m-%dT%H:%M:%SZ"))


def store_shard_stats(cache: Path, sha256: str, stats: DatasetStats) -> None:
    """Keep one shard's counts in the card cache under the shard's SHA-256."""
    Path(cache).mkdir(parents=True, exist_ok=True)
    target = Path(cache) / f"stats-{sha256}.json"
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(_stats_to_json(stats)))
    os.replace(tmp, target)


_COUNTERS = ("domains", "languages", "sections", "months", "body_lengths", "word_counts")
_INT_KEYS = ("body_lengths", "word_counts")


def _total(parts: list[tuple[str, dict]]) -> DatasetStats:
    """The counts of the shards (relative path, counts as `_stats_to_json` gives them), summed.
    A shard counts thousands of distinct body lengths: those and the word counts are summed with
    numpy (adding Counters a key at a time took most of an incremental build's card step)."""
    total = DatasetStats(coverage={name: 0 for name in COVERAGE})
    for rel, data in parts:
        total.shards.append(ShardInfo(path=rel, **data["shard"]))
        total.rows += data["rows"]
        for name, count in data["coverage"].items():
            total.coverage[name] = total.coverage.get(name, 0) + count
        # The timestamps are formatted the same way, so text order is time order.
        total.first_published = _min(total.first_published, data["first_published"]) if data["first_published"] else total.first_published
        total.last_published = _max(total.last_published, data["last_published"]) if data["last_published"] else total.last_published
    for name in _COUNTERS:
        counter = getattr(total, name)
        pairs = [data[name] for _, data in parts if data[name]]
        if name in _INT_KEYS and pairs:
            both = np.concatenate([np.fromiter(chain.from_iterable(p), np.int64, 2 * len(p)).reshape(-1, 2) for p in pairs])
            keys, where = np.unique(both[:, 0], return_inverse=True)
            sums = np.zeros(len(keys), np.int64)
            np.add.at(sums, where, both[:, 1])
            counter.update(dict(zip(keys.tolist(), sums.tolist())))
        else:
            summed: dict = {}  # in order of first appearance, as adding the shards' Counters in turn gives
            for part in pairs:
                for key, count in part:
                    summed[key] = summed.get(key, 0) + count
            counter.update(summed)
    return total


def _stats_to_json(stats: DatasetStats) -> dict:
    info = stats.shards[0]
    return {
        "shard": {"rows": info.rows, "file_bytes": info.file_bytes, "data_bytes": info.data_bytes},
        "rows": stats.rows,
        "coverage": stats.coverage,
        "first_published": stats.first_published,
        "last_published": stats.last_published,
        **{name: sorted(getattr(stats, name).items()) for name in _COUNTERS},
    }


def _count(counter: Counter, column: pa.Array) -> None:
    counts = pc.value_counts(column)
    for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
        if value is not None:
            counter[value] += count


def _present(column: pa.Array) -> int:
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return pc.sum(pc.greater(pc.fill_null(pc.list_value_length(column), 0), 0)).as_py() or 0
    return len(column) - column.null_count


def _min(a, b):
    return b if a is None else min(a, b)


def _max(a, b):
    return b if a is None else max(a, b)


def quantiles(counts: Counter, points: tuple[float, ...] = QUANTILES) -> dict[float, int]:
    """Exact quantiles (nearest rank, lower) of the values counted in `counts`."""
    total = sum(counts.values())
    if not total:
        return {}
    values = sorted(counts)
    out: dict[float, int] = {}
    for point in points:
        rank = min(total - 1, int(point * (total - 1)))
        seen = 0
        for value in values:
            seen += counts[value]
            if seen > rank:
                out[point] = value
                break
    return out


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket for a row count."""
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
        (10_000_000_000, "1B<n<10B"),
        (100_000_000_000, "10B<n<100B"),
        (1_000_000_000_000, "100B<n<1T"),
    ]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "n>1T"


def first_row(folder: Path, *, cache: Path | None = None, hashes: dict[str, str] | None = None) -> dict | None:
    """The first row of the first non-empty shard. Reading it decompresses the shard's first row
    group (30 ms); with `cache` and the shard's SHA-256 in `hashes` ({relative path: sha256}),
    it is kept there and read from there while that shard's bytes stay the same."""
    for path in data_files(folder):
        key = (hashes or {}).get(path.relative_to(folder).as_posix()) if cache is not None else None
        stored = Path(cache) / f"first-row-{key}.arrow" if key else None
        if stored is not None and stored.is_file():
            with pa.memory_map(str(stored)) as source:
                table = pa.ipc.open_file(source).read_all()
            return table.to_pylist()[0] if table.num_rows else None
        row = None
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1):
            if batch.num_rows:
                row = batch.slice(0, 1)
                break
        if stored is not None and row is not None:
            _store_first_row(Path(cache), stored, row)
        if row is not None:
            return row.to_pylist()[0]
    return None


def _store_first_row(cache: Path, stored: Path, row: pa.RecordBatch) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob("first-row-*.arrow"):  # one shard is first at a time
        stale.unlink(missing_ok=True)
    tmp = stored.with_name(stored.name + f".{os.getpid()}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, row.schema) as writer:
        writer.write_batch(row)
    os.replace(tmp, stored)
