"""Exact deduplication: which rows of one id lose to another, and to which.

In: rows of one bucket (at least the columns `KEY_COLUMNS`). Out: the rows to drop, and a
`LOSERS_SCHEMA` table naming each dropped file's outcome and the file it lost to. A URL is one
row however many files carry it: byte-identical files are duplicates of the first such file (in
path order); otherwise the version with the later modified time (failing that, the later
published time; failing that, the later file) supersedes the others.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.records import Outcome

KEY_COLUMNS = ["id", "source_file", "source_sha256", "published_at", "modified_at"]  # what decides
LOSERS_SCHEMA = pa.schema(
    [("path", pa.string()), ("outcome", pa.string()), ("other", pa.string()), ("id", pa.string()), ("bucket", pa.int16())]
)


def empty_losers() -> pa.Table:
    return pa.Table.from_batches([], schema=LOSERS_SCHEMA)


def duplicate_rows(table: pa.Table, bucket: int = 0) -> tuple[set[int], pa.Table]:
    """Which rows of `table` lose to another row of the same id (see the module's docstring).

    Returns:
        the indices of the rows to drop, and a LOSERS_SCHEMA table: (path, "duplicate" |
        "superseded", the original or winning path, id, bucket) per dropped row.
    """
    if table.num_rows == 0:
        return set(), empty_losers()
    counts = pc.value_counts(table.column("id"))
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return set(), empty_losers()
    mask = pc.is_in(table.column("id"), repeated)
    subset = table.filter(mask).select(KEY_COLUMNS)
    index = pc.indices_nonzero(mask).to_pylist()
    groups: dict[str, list[tuple[int, str, str, object]]] = {}
    for row, (id_, path, sha, published, modified) in zip(
        index, zip(*(subset.column(c).to_pylist() for c in subset.column_names))
    ):
        groups.setdefault(id_, []).append((row, path, sha, modified or published))
    drop: set[int] = set()
    lost: dict[str, list] = {name: [] for name in LOSERS_SCHEMA.names}

    def lose(path: str, outcome: Outcome, other: str, id_: str) -> None:
        for key, value in zip(LOSERS_SCHEMA.names, (path, outcome.value, other, id_, bucket)):
            lost[key].append(value)

    for id_, members in groups.items():
        members.sort(key=lambda m: m[1])
        originals: dict[str, tuple[int, str, str, object]] = {}
        for member in members:
            first = originals.setdefault(member[2], member)
            if first is not member:
                drop.add(member[0])
                lose(member[1], Outcome.DUPLICATE, first[1], id_)
        versions = sorted(originals.values(), key=lambda m: (m[3], m[1]))
        winner = versions[-1]
        for member in versions[:-1]:
            drop.add(member[0])
            lose(member[1], Outcome.SUPERSEDED, winner[1], id_)
    return drop, pa.table(lost, schema=LOSERS_SCHEMA)
