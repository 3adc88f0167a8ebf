"""dedup: one row per URL, whatever months its versions fall in; copies are duplicates of the
first file, older versions are superseded."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from dataset_tools.build.dedup import duplicate_rows, find_losers
from dataset_tools.build.filetable import FILES_SCHEMA


def _at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=timezone.utc)


def _files(*rows: tuple) -> pa.Table:
    """File table rows: (path, sha256, id, published, modified), and a reject where id is None."""
    items = []
    for path, sha, id_, published, modified in rows:
        kind = "article" if id_ else "rejected"
        part = published.year * 100 + published.month if id_ else None
        items.append({"path": path, "size": 1, "mtime_ns": 1, "sha256": sha, "kind": kind, "id": id_, "part": part,
                      "published_at": published if id_ else None, "modified_at": modified})
    return pa.Table.from_pylist(items, schema=FILES_SCHEMA)


def _losers(table: pa.Table) -> dict:
    found = find_losers(lambda: iter(table.to_batches(max_chunksize=2)))  # repeated ids span batches
    return {row["path"]: (row["outcome"], row["other"], row["part"]) for row in found.to_pylist()}


def test_unique_ids_lose_nothing():
    assert _losers(_files(("1.txt", "s1", "0000000000000001", _at(1), None), ("2.txt", "s2", "0000000000000002", _at(1), None), ("3.txt", "s3", None, _at(1), None))) == {}


def test_a_byte_identical_copy_is_a_duplicate_of_the_first_file_by_path():
    got = _losers(_files(("z.txt", "same", "000000000000000a", _at(1), None), ("b.txt", "same", "000000000000000a", _at(1), None)))
    assert got == {"z.txt": ("duplicate", "b.txt", 202601)}


def test_the_later_modified_version_supersedes_the_others_then_published_then_path():
    a, b = "00000000000000aa", "00000000000000bb"
    got = _losers(_files(
        ("1.txt", "v1", a, _at(1), _at(2)),
        ("2.txt", "v2", a, _at(1), _at(5)),
        ("3.txt", "v3", a, _at(9, month=2), None),  # no modified time: its published time counts, and it is later; another month
        ("4.txt", "w1", b, _at(3), None),
        ("5.txt", "w2", b, _at(3), None),  # same times: the later path wins
    ))
    assert got == {"1.txt": ("superseded", "3.txt", 202601), "2.txt": ("superseded", "3.txt", 202601), "4.txt": ("superseded", "5.txt", 202601)}


def test_copies_of_an_old_version_are_duplicates_and_the_original_is_superseded():
    a = "00000000000000aa"
    got = _losers(_files(("1.txt", "old", a, _at(1), None), ("2.txt", "old", a, _at(1), None), ("3.txt", "new", a, _at(1), _at(4))))
    assert got == {"1.txt": ("superseded", "3.txt", 202601), "2.txt": ("duplicate", "1.txt", 202601)}
    assert duplicate_rows(_files(("1.txt", "x", a, _at(1), None)).select(["id", "path", "sha256", "published_at", "modified_at", "part"])).num_rows == 0
