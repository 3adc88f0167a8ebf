"""Near-duplicates: the index kept in the build cache, so a rebuild links only what changed.

It holds, under `neardup/` in the cache (`NearDupState` names the current files):
- `rows`: the map tasks' signature rows files (see `neardup`), one per task, small ones merged
  now and then; a row there is valid while the file table still has its (path, SHA-256);
- `bands`: per band bucket, the runs of band entries (see `neardup_bands`);
- `nodes`: one row per row of the dataset (the winner of its id, as `dedup` decides): id as
  uint64 (sorted), published_at, domain, and where its row is in the rows files (`file`, `row`;
  its source file and shingles are read from there when needed): about 36 bytes a row;
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
from dataset_tools.build.ids import id_numbers, id_strings
from dataset_tools.build.spill import Ref
from dataset_tools.fileio import write_ipc

SMALL_ROWS_FILE = 4096  # a rows file of fewer rows is small: MAX_SMALL_FILES of them are merged
MAX_SMALL_FILES = 32

NAMES = pa.dictionary(pa.int32(), pa.string())  # a column of few distinct values (outlets, rows files): 4 bytes a row
NODES_SCHEMA = pa.schema(
    [
        ("id", pa.uint64()),
        ("published_at", pa.int64()),
        ("domain", NAMES),
        ("file", NAMES),
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


# A version is a row of a rows file: `row_versions` and `rows_at` give it as VERSION_FIELDS
# (the id as a number, where it is: `file`, `row`), plus WIDE_FIELDS when asked: what decides
# between versions of one id (`dedup`'s rule) and whether a cached one is still valid, needed
# only for the few ids with several versions and for cached rows (about 120 bytes a row that a
# first build of a million articles does not hold).
VERSION_FIELDS = [f for f in NODES_SCHEMA if f.name != "versions"]
WIDE_FIELDS = [
    pa.field("source_file", pa.string()),
    pa.field("source_sha256", pa.string()),
    pa.field("modified_at", pa.timestamp("us", tz="UTC")),
]


def row_versions(root: Path, files: list[str], ids: np.ndarray | None = None, wide: bool = False) -> pa.Table:
    """The versions in the rows `files`: all of them, or those whose id is in the sorted `ids`."""
    parts = []
    for name in files:
        with pa.memory_map(str(root / name)) as source:
            table = pa.ipc.open_file(source).read_all().select(_columns(wide))
        numbers = id_numbers(table.column("id"))
        rows = np.arange(table.num_rows, dtype=np.int64)
        if ids is not None:
            keep = _member(numbers, ids)
            table, numbers, rows = table.filter(pa.array(keep)), numbers[keep], rows[keep]
        parts.append(_versions(table, numbers, name, rows, wide))
    return _concat(parts, _version_schema(wide))


def rows_at(root: Path, where: pa.Table, wide: bool = False) -> pa.Table:
    """The versions at the (`file`, `row`) of each row of `where`."""
    parts = []
    for name, mask in file_masks(where.column("file")):  # (the order of `rows_at_order`)
        rows = where.column("row").filter(pa.array(mask)).to_numpy()
        with pa.memory_map(str(root / name)) as source:
            table = pa.ipc.open_file(source).read_all().select(_columns(wide)).take(pa.array(rows))
        parts.append(_versions(table, id_numbers(table.column("id")), name, rows, wide))
    return _concat(parts, _version_schema(wide))


def rows_at_order(files: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The order `rows_at` gives its rows in: the positions in `where` (whose `file` column is
    `files`), by file name, then as they were."""
    masks = [np.flatnonzero(mask) for _, mask in file_masks(files)]
    return np.concatenate(masks) if masks else np.zeros(0, np.int64)


def _versions(table: pa.Table, numbers: np.ndarray, name: str, rows: np.ndarray, wide: bool) -> pa.Table:
    columns = [
        pa.array(numbers, pa.uint64()),
        table.column("published_at").cast(pa.int64()).combine_chunks(),
        table.column("domain").combine_chunks().dictionary_encode(),
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(rows), np.int32)), pa.array([name], pa.string())),
        pa.array(rows, pa.int64()),
    ]
    if wide:
        columns += [table.column(f.name).combine_chunks().cast(f.type) for f in WIDE_FIELDS]
    return pa.table(columns, schema=_version_schema(wide))


def _columns(wide: bool) -> list[str]:
    """The columns of a rows file that make its versions (not the shingles)."""
    return ["id", "published_at", "domain"] + ([f.name for f in WIDE_FIELDS] if wide else [])


def _version_schema(wide: bool) -> pa.Schema:
    return pa.schema(VERSION_FIELDS + (WIDE_FIELDS if wide else []))


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """One table of one chunk per column (dictionaries unified)."""
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables).unify_dictionaries().combine_chunks()


def file_masks(column: pa.Array | pa.ChunkedArray):
    """(name, mask) for each distinct value of a dictionary column, in name order."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    indices = column.indices.to_numpy(zero_copy_only=False)
    names = column.dictionary.to_pylist()
    for name in sorted(set(names[i] for i in np.unique(indices).tolist())):
        codes = [i for i, n in enumerate(names) if n == name]
        yield name, np.isin(indices, codes)


def in_names(column: pa.Array | pa.ChunkedArray, names: list[str]) -> np.ndarray:
    """Whether each value of a dictionary column is one of `names`."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not len(column):
        return np.zeros(0, bool)
    hit = pc.is_in(column.dictionary, value_set=pa.array(names, pa.string())).to_numpy(zero_copy_only=False)
    return hit[column.indices.to_numpy(zero_copy_only=False)]


def valid_versions(versions: pa.Table, files: pa.Table | None) -> pa.Table:
    """The versions whose (source_file, source_sha256) is an article of the file table
    (`files`; None: all are, on a first build)."""
    if files is None or not versions.num_rows:
        return versions
    return versions.filter(pa.array(_valid_mask(versions, files)))


def winners(root: Path, versions: pa.Table) -> pa.Table:
    """The version of each id that is its row (the rule of `dedup`), as NODES_SCHEMA rows, in
    `versions`' order; `versions` (VERSION_FIELDS) must hold every valid version of its ids.
    Only the ids with several versions need more: their wide fields, read from the rows files."""
    numbers = versions.column("id").to_numpy()
    same_file = np.zeros(len(numbers), bool)  # a version whose file an earlier version has
    lost = np.zeros(len(numbers), bool)  # a version that loses to another of its id
    repeated = repeated_numbers(numbers.copy())
    if len(repeated):
        at = np.flatnonzero(_member(numbers, repeated))
        where = versions.take(pa.array(at))
        several = rows_at(root, where, wide=True)
        position = at[rows_at_order(where.column("file"))]  # of each row of `several` in `versions`
        order = np.argsort(position, kind="stable")
        several, position = several.take(pa.array(order)), position[order]
        # One version per file (a file read again with the same bytes is the same version).
        seen: set[str] = set()
        for i, path in enumerate(several.column("source_file").to_pylist()):
            same_file[position[i]] = path in seen
            seen.add(path)
        first = ~same_file[position]
        several, position = several.filter(pa.array(first)), position[first]
        losers = set(duplicate_rows(_as_file_rows(several)).column("path").to_pylist())
        lost[position] = [path in losers for path in several.column("source_file").to_pylist()]
    counts = np.ones(len(numbers), np.int32)
    if len(repeated):
        valid = ~same_file
        _, inverse, per_id = np.unique(numbers[valid], return_inverse=True, return_counts=True)
        counts[valid] = per_id[inverse]
    keep = ~(same_file | lost)
    if not keep.all():
        versions, counts = versions.filter(pa.array(keep)), counts[keep]
    return versions.append_column("versions", pa.array(counts, pa.int32())).cast(NODES_SCHEMA)


def _as_file_rows(versions: pa.Table) -> pa.Table:
    """Versions (with the wide fields) as the file table's KEY_COLUMNS (what `dedup` decides by)."""
    columns = {
        "id": pa.array(id_strings(versions.column("id").to_numpy()), pa.string()),
        "path": versions.column("source_file"),
        "sha256": versions.column("source_sha256"),
        "published_at": versions.column("published_at").cast(pa.timestamp("us", tz="UTC")),
        "modified_at": versions.column("modified_at"),
        "part": pa.nulls(versions.num_rows, pa.int32()),
    }
    return pa.table([columns[name] for name in KEY_COLUMNS], names=KEY_COLUMNS)


def replace_nodes(nodes: pa.Table, touched: np.ndarray, fresh: pa.Table) -> pa.Table:
    """`nodes` without the `touched` ids (sorted uint64), with the `fresh` ones, sorted by id."""
    kept = nodes.filter(pa.array(~_member(nodes.column("id").to_numpy(), touched))) if nodes.num_rows else nodes
    fresh = fresh.cast(NODES_SCHEMA)
    # One sort of every node, also for a few new rows: 0.03 s at 218,000 nodes, where slicing
    # the kept ones around each new row took 0.08 s (its 4,000 dictionary chunks unified).
    table = pa.concat_tables([kept, fresh]).unify_dictionaries().combine_chunks() if kept.num_rows else fresh
    return table.take(pa.array(np.argsort(table.column("id").to_numpy(), kind="stable")))


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
    nodes = nodes.set_column(nodes.schema.get_field_index("file"), "file", pa.array(file_column, pa.string()).dictionary_encode())
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
