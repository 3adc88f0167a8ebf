"""Near-duplicates: the index kept in the build cache, so a rebuild links only what changed.

It holds, under `neardup/` in the cache (`NearDupState` names the current files):
- `rows`: the map tasks' signature rows files (see `neardup`), one per task, small ones merged
  now and then; a row there is valid while the file table still has its (path, SHA-256);
- `bands`: per band bucket, the runs of band entries (see `neardup_bands`);
- `nodes`: one row per row of the dataset (the winner of its id, as `dedup` decides): id as
  uint64 (sorted), published_at, domain, source_file, and where its shingles are;
- `edges`: the confirmed pairs (a, b), ids as uint64, a < b;
- `links`: every member of a component of the edges: id, near_duplicate_of (null for an
  original), the original's source_file, and the component (its smallest id).

In: the rows files and the file table. Out: tables, read and written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.dedup import KEY_COLUMNS, duplicate_rows, repeated_numbers
from dataset_tools.build.ids import id_numbers
from dataset_tools.build.spill import Ref
from dataset_tools.fileio import write_ipc

SMALL_ROWS_FILE = 4096  # a rows file of fewer rows is small: MAX_SMALL_FILES of them are merged
MAX_SMALL_FILES = 32

NODES_SCHEMA = pa.schema(
    [
        ("id", pa.uint64()),
        ("published_at", pa.int64()),
        ("domain", pa.string()),
        ("source_file", pa.string()),
        ("file", pa.string()),
        ("row", pa.int64()),
        ("versions", pa.int32()),  # how many valid rows the id has (a rebuild reads the others only if > 1)
    ]
)
EDGES_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
LINKS_SCHEMA = pa.schema(
    [("id", pa.string()), ("near_duplicate_of", pa.string()), ("original_source_file", pa.string()), ("component", pa.uint64())]
)


@dataclass
class NearDupState:
    """The index's files (relative to the cache folder)."""

    rows: list[str] = field(default_factory=list)
    row_counts: list[int] = field(default_factory=list)
    bands: dict[int, list[Ref]] = field(default_factory=dict)
    nodes: str | None = None
    edges: str | None = None
    links: str | None = None

    def to_json(self) -> dict:
        return {
            "rows": [[name, count] for name, count in zip(self.rows, self.row_counts)],
            "bands": {str(k): [list(ref) for ref in v] for k, v in sorted(self.bands.items())},
            "nodes": self.nodes,
            "edges": self.edges,
            "links": self.links,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> NearDupState:
        if not data:
            return cls()
        return cls(
            rows=[name for name, _ in data["rows"]],
            row_counts=[count for _, count in data["rows"]],
            bands={int(k): [tuple(ref) for ref in v] for k, v in data["bands"].items()},
            nodes=data["nodes"],
            edges=data["edges"],
            links=data["links"],
        )

    def files(self) -> set[str]:
        """Every file the state refers to."""
        names = {*self.rows, *(name for refs in self.bands.values() for name, _ in refs)}
        return names | {n for n in (self.nodes, self.edges, self.links) if n}


def read_table(root: Path, name: str | None, schema: pa.Schema) -> pa.Table:
    """A cached table (memory-mapped), or an empty one of `schema` when `name` is None."""
    if not name:
        return schema.empty_table()
    with pa.memory_map(str(root / name)) as source:
        return pa.ipc.open_file(source).read_all()


def write_table(root: Path, name: str, table: pa.Table) -> str:
    write_ipc(root / name, table.combine_chunks())
    return name


_VERSION_COLUMNS = ["id", "source_file", "source_sha256", "published_at", "modified_at", "domain"]  # of a rows file
_ROW_FIELDS = [
    pa.field("id", pa.string()),
    pa.field("source_file", pa.string()),
    pa.field("source_sha256", pa.string()),
    pa.field("published_at", pa.timestamp("us", tz="UTC")),
    pa.field("modified_at", pa.timestamp("us", tz="UTC")),
    pa.field("domain", pa.string()),
    pa.field("file", pa.string()),
    pa.field("row", pa.int64()),
]


def row_versions(root: Path, files: list[str], ids: np.ndarray | None = None) -> pa.Table:
    """The rows (id, source file and SHA-256, dates, domain, and where each is: `file`, `row`) of the rows `files`,
    all of them or those whose id (as uint64) is in the sorted `ids`."""
    parts = []
    for name in files:
        with pa.memory_map(str(root / name)) as source:
            table = pa.ipc.open_file(source).read_all().select(_VERSION_COLUMNS)
        rows = np.arange(table.num_rows, dtype=np.int64)
        if ids is not None:
            numbers = id_numbers(table.column("id"))
            keep = _member(numbers, ids)
            table, rows = table.filter(pa.array(keep)), rows[keep]
        parts.append(table.append_column("file", pa.array([name] * table.num_rows, pa.string())).append_column("row", pa.array(rows)))
    if not parts:
        return pa.schema(_ROW_FIELDS).empty_table()
    return pa.concat_tables(parts).combine_chunks()


def rows_at(root: Path, where: pa.Table) -> pa.Table:
    """The rows (as `row_versions` gives them) at the (`file`, `row`) of each row of `where`."""
    parts = []
    for name in sorted(set(where.column("file").to_pylist())):
        rows = where.filter(pc.equal(where.column("file"), name)).column("row")
        with pa.memory_map(str(root / name)) as source:
            table = pa.ipc.open_file(source).read_all().select(_VERSION_COLUMNS).take(rows)
        parts.append(table.append_column("file", pa.array([name] * table.num_rows, pa.string())).append_column("row", rows))
    return pa.concat_tables(parts).combine_chunks() if parts else pa.schema(_ROW_FIELDS).empty_table()


def valid_versions(versions: pa.Table, files: pa.Table | None) -> pa.Table:
    """The versions whose (source_file, source_sha256) is an article of the file table
    (`files`; None: all are, on a first build)."""
    if files is None or not versions.num_rows:
        return versions
    return versions.filter(pa.array(_valid_mask(versions, files)))


def winners(versions: pa.Table) -> pa.Table:
    """The version of each id that is its row (the rule of `dedup`), as NODES_SCHEMA rows;
    `versions` must hold every valid version of its ids."""
    if not versions.num_rows:
        return NODES_SCHEMA.empty_table()
    # One version per file (a file read again with the same bytes is the same version).
    files = versions.column("source_file").combine_chunks().dictionary_encode()
    if len(files.dictionary) < versions.num_rows:
        _, first = np.unique(files.indices.to_numpy(), return_index=True)
        versions = versions.take(pa.array(np.sort(first)))
    del files
    numbers = id_numbers(versions.column("id"))
    _, inverse, counts = np.unique(numbers, return_inverse=True, return_counts=True)
    version_counts = counts[inverse].astype(np.int32)
    repeated = repeated_numbers(numbers.copy())
    if len(repeated):
        # Only the versions of ids that repeat go through `dedup`'s rule (in Python).
        several = versions.filter(pa.array(_member(numbers, repeated)))
        lost = duplicate_rows(_as_file_rows(several)).column("path")
        keep = pc.invert(pc.is_in(versions.column("source_file"), value_set=lost)).to_numpy(zero_copy_only=False)
        versions, numbers, version_counts = versions.filter(pa.array(keep)), numbers[keep], version_counts[keep]
    return pa.table(
        {
            "id": numbers,
            "published_at": versions.column("published_at").cast(pa.int64()),
            "domain": versions.column("domain"),
            "source_file": versions.column("source_file"),
            "file": versions.column("file"),
            "row": versions.column("row"),
            "versions": version_counts,
        },
        schema=NODES_SCHEMA,
    )


def _as_file_rows(versions: pa.Table) -> pa.Table:
    """Versions as the file table's KEY_COLUMNS (what `dedup` decides by)."""
    columns = {
        "id": versions.column("id"),
        "path": versions.column("source_file"),
        "sha256": versions.column("source_sha256"),
        "published_at": versions.column("published_at"),
        "modified_at": versions.column("modified_at"),
        "part": pa.nulls(versions.num_rows, pa.int32()),
    }
    return pa.table([columns[name] for name in KEY_COLUMNS], names=KEY_COLUMNS)


def replace_nodes(nodes: pa.Table, touched: np.ndarray, fresh: pa.Table) -> pa.Table:
    """`nodes` without the `touched` ids (sorted uint64), with the `fresh` ones, sorted by id."""
    kept = nodes.filter(pa.array(~_member(nodes.column("id").to_numpy(), touched))) if nodes.num_rows else nodes
    fresh = fresh.cast(NODES_SCHEMA)
    fresh = fresh.take(pa.array(np.argsort(fresh.column("id").to_numpy(), kind="stable")))
    if not kept.num_rows or fresh.num_rows > 4096:
        table = pa.concat_tables([kept, fresh])
        return table.take(pa.array(np.argsort(table.column("id").to_numpy(), kind="stable"))).combine_chunks()
    # A few rows of a rebuild go between slices of the kept ones: no sort of every node.
    at = np.searchsorted(kept.column("id").to_numpy(), fresh.column("id").to_numpy()).tolist()
    pieces, start = [], 0
    for i, position in enumerate(at):
        pieces += [kept.slice(start, position - start), fresh.slice(i, 1)]
        start = position
    return pa.concat_tables([*pieces, kept.slice(start)]).combine_chunks()


def lookup(nodes: pa.Table, ids: np.ndarray) -> np.ndarray:
    """The row of each id (uint64) in `nodes` (sorted by id); -1 where it is not there."""
    keys = nodes.column("id").to_numpy()
    at = np.searchsorted(keys, ids)
    found = at < len(keys)
    found[found] = keys[at[found]] == ids[found]
    return np.where(found, at, -1)


def compact_rows(root: Path, state: NearDupState, nodes: pa.Table, files: pa.Table | None, name: str) -> tuple[NearDupState, pa.Table]:
    """When more than MAX_SMALL_FILES rows files are small, merge those into one file `name`
    (keeping only valid rows) and point the nodes that were in them at their new rows."""
    small = [n for n, c in zip(state.rows, state.row_counts) if c < SMALL_ROWS_FILE]
    if len(small) <= MAX_SMALL_FILES:
        return state, nodes
    tables = []
    for old in small:
        with pa.memory_map(str(root / old)) as source:
            tables.append(pa.ipc.open_file(source).read_all())
    merged = pa.concat_tables(tables)
    ok = _valid_mask(merged, files) if files is not None else np.ones(merged.num_rows, bool)  # one look-up, not one per file
    moved, at, start = {}, 0, 0
    for old, table in zip(small, tables):
        rows = np.flatnonzero(ok[start : start + table.num_rows])
        moved[old] = dict(zip(rows.tolist(), range(at, at + len(rows))))
        at, start = at + len(rows), start + table.num_rows
    write_ipc(root / name, merged.filter(pa.array(ok)))
    file_column = nodes.column("file").to_pylist()
    row_column = nodes.column("row").to_pylist()
    for i, (f, r) in enumerate(zip(file_column, row_column)):
        if f in moved:
            file_column[i], row_column[i] = name, moved[f][r]
    nodes = nodes.set_column(nodes.schema.get_field_index("file"), "file", pa.array(file_column, pa.string()))
    nodes = nodes.set_column(nodes.schema.get_field_index("row"), "row", pa.array(row_column, pa.int64()))
    keep = [(n, c) for n, c in zip(state.rows, state.row_counts) if n not in moved]
    state.rows, state.row_counts = [n for n, _ in keep] + [name], [c for _, c in keep] + [at]
    return state, nodes


def _valid_mask(versions: pa.Table, files: pa.Table) -> np.ndarray:
    """Whether each row's (source_file, source_sha256) is an article of the file table."""
    at = pc.index_in(versions.column("source_file"), value_set=files.column("path"))
    sha = files.column("sha256").take(pc.fill_null(at, 0))
    kind = files.column("kind").take(pc.fill_null(at, 0))
    ok = pc.and_(pc.is_valid(at), pc.and_(pc.equal(sha, versions.column("source_sha256")), pc.equal(kind, "article")))
    return pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each value is in `sorted_set` (a sorted array)."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values
