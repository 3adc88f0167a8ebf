"""Exact deduplication: which files lose to another file of the same id (URL), and to which.

In: the file table (see `filetable`), a batch at a time. Out: a `LOSERS_SCHEMA` table naming
each losing file, its outcome, the file it lost to, its id and its partition (where its row
sits, to be left out of the shard). A URL is one row however many files carry it, whatever
months their versions fall in: byte-identical files are duplicates of the first such file (in
path order); otherwise the version with the later modified time (failing that, the later
published time; failing that, the later file) supersedes the others.

This runs over the file table's narrow columns, before the reduce: memory is 8 bytes per
article for the ids (as numbers, see `ids`), plus the rows of the ids that repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build.ids import id_numbers, id_strings
from dataset_tools.records import Outcome

KEY_COLUMNS = ["id", "path", "sha256", "published_at", "modified_at", "part"]  # of the file table: what decides
LOSERS_SCHEMA = pa.schema(
    [("path", pa.string()), ("outcome", pa.string()), ("other", pa.string()), ("id", pa.string()), ("part", pa.int32())]
)


def empty_losers() -> pa.Table:
    return pa.Table.from_batches([], schema=LOSERS_SCHEMA)


def find_losers(files: Callable[[], Iterable[pa.RecordBatch]]) -> pa.Table:
    """Every file of the file table (`files()` yields it batch by batch) that loses to
    another, in path order (see the module's docstring)."""
    repeated = _repeated_ids(files())
    if not len(repeated):
        return empty_losers()
    members = [batch.filter(pc.is_in(batch.column("id"), repeated)).select(KEY_COLUMNS) for batch in files()]
    table = pa.Table.from_batches([m for m in members if m.num_rows]) if any(m.num_rows for m in members) else None
    if table is None:
        return empty_losers()
    return duplicate_rows(table).sort_by("path")


def _repeated_ids(batches: Iterable[pa.RecordBatch]) -> pa.Array:
    """The ids that more than one file has. Ids are held as numbers (copied out of each
    batch, so that no batch is kept alive)."""
    parts = [id_numbers(pc.drop_null(batch.column("id"))) for batch in batches]
    ids = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    del parts
    return pa.array(id_strings(repeated_numbers(ids)), pa.string())


def repeated_numbers(ids: np.ndarray) -> np.ndarray:
    """The values that occur more than once in `ids` (uint64; sorted in place), sorted."""
    ids.sort()
    return np.unique(ids[1:][ids[1:] == ids[:-1]])


def duplicate_rows(table: pa.Table) -> pa.Table:
    """The losers among the rows of `table` (KEY_COLUMNS; ids that repeat), as LOSERS_SCHEMA."""
    groups: dict[str, list[tuple[str, str, object, int]]] = {}
    for id_, path, sha, published, modified, part in zip(*(table.column(c).to_pylist() for c in KEY_COLUMNS)):
        groups.setdefault(id_, []).append((path, sha, modified or published, part))
    lost: dict[str, list] = {name: [] for name in LOSERS_SCHEMA.names}

    def lose(member: tuple, outcome: Outcome, other: str, id_: str) -> None:
        for key, value in zip(LOSERS_SCHEMA.names, (member[0], outcome.value, other, id_, member[3])):
            lost[key].append(value)

    for id_, members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: m[0])
        originals: dict[str, tuple] = {}
        for member in members:
            first = originals.setdefault(member[1], member)
            if first is not member:
                lose(member, Outcome.DUPLICATE, first[0], id_)
        versions = sorted(originals.values(), key=lambda m: (m[2], m[0]))
        winner = versions[-1]
        for member in versions[:-1]:
            lose(member, Outcome.SUPERSEDED, winner[0], id_)
    return pa.table(lost, schema=LOSERS_SCHEMA)
