"""dedup: one row per URL; copies are duplicates of the first file, older versions are superseded."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from dataset_tools.build.dedup import KEY_COLUMNS, duplicate_rows


def _rows(*rows: tuple) -> pa.Table:
    columns = list(zip(*rows))
    ts = pa.timestamp("s", tz="UTC")
    return pa.table(
        [pa.array(columns[0]), pa.array(columns[1]), pa.array(columns[2]), pa.array(columns[3], ts), pa.array(columns[4], ts)],
        names=KEY_COLUMNS,
    )


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=timezone.utc)


def test_unique_ids_lose_nothing():
    drop, lost = duplicate_rows(_rows(("a", "1.txt", "s1", _at(1), None), ("b", "2.txt", "s2", _at(1), None)))
    assert drop == set() and lost.num_rows == 0


def test_a_byte_identical_copy_is_a_duplicate_of_the_first_file_by_path():
    drop, lost = duplicate_rows(_rows(("a", "z.txt", "same", _at(1), None), ("a", "b.txt", "same", _at(1), None)), bucket=7)
    assert drop == {0}
    assert lost.to_pylist() == [{"path": "z.txt", "outcome": "duplicate", "other": "b.txt", "id": "a", "bucket": 7}]


def test_the_later_modified_version_supersedes_the_others_then_published_then_path():
    table = _rows(
        ("a", "1.txt", "v1", _at(1), _at(2)),
        ("a", "2.txt", "v2", _at(1), _at(5)),
        ("a", "3.txt", "v3", _at(9), None),  # no modified time: its published time counts, and 9 > 5
        ("b", "4.txt", "w1", _at(3), None),
        ("b", "5.txt", "w2", _at(3), None),  # same times: the later path wins
    )
    drop, lost = duplicate_rows(table)
    assert drop == {0, 1, 3}
    by_path = {row["path"]: (row["outcome"], row["other"]) for row in lost.to_pylist()}
    assert by_path == {"1.txt": ("superseded", "3.txt"), "2.txt": ("superseded", "3.txt"), "4.txt": ("superseded", "5.txt")}


def test_copies_of_an_old_version_are_duplicates_and_the_original_is_superseded():
    table = _rows(("a", "1.txt", "old", _at(1), None), ("a", "2.txt", "old", _at(1), None), ("a", "3.txt", "new", _at(1), _at(4)))
    drop, lost = duplicate_rows(table)
    assert drop == {0, 1}
    assert sorted((r["path"], r["outcome"], r["other"]) for r in lost.to_pylist()) == [("1.txt", "superseded", "3.txt"), ("2.txt", "duplicate", "1.txt")]
