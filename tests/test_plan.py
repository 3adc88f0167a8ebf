"""plan: what a build reads (new files, changed stats, files gone) and how it splits the reading."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build.plan import files_to_read, task_bounds

LISTING = pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64())])


def _listing(*rows: tuple[str, int, int]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(LISTING.names, row)) for row in rows], schema=LISTING)


def _old(*rows: tuple[str, int, int, str]) -> pa.Table:
    return pa.table({"path": [r[0] for r in rows], "size": [r[1] for r in rows], "mtime_ns": [r[2] for r in rows], "sha256": [r[3] for r in rows]})


def test_a_first_build_reads_everything():
    reading = files_to_read(_listing(("a", 1, 1), ("b", 2, 2)), None)
    assert reading.todo.column("path").to_pylist() == ["a", "b"] and reading.todo.column("old_sha").null_count == 2
    assert len(reading.removed) == 0 and not reading.same_paths


def test_a_rebuild_of_the_same_files_reads_those_whose_size_or_mtime_changed():
    old = _old(("a", 1, 1, "sa"), ("b", 2, 2, "sb"), ("c", 3, 3, "sc"))
    reading = files_to_read(_listing(("a", 1, 1), ("b", 2, 9), ("c", 4, 3)), old)
    assert reading.same_paths
    assert reading.todo.select(["path", "old_sha"]).to_pylist() == [{"path": "b", "old_sha": "sb"}, {"path": "c", "old_sha": "sc"}]


def test_added_and_removed_files():
    old = _old(("a", 1, 1, "sa"), ("b", 2, 2, "sb"))
    reading = files_to_read(_listing(("a", 1, 1), ("a2", 5, 5)), old)
    assert not reading.same_paths
    assert reading.todo.select(["path", "old_sha"]).to_pylist() == [{"path": "a2", "old_sha": None}]
    assert reading.removed.to_pylist() == ["b"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=3000), st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=5000))
def test_tasks_cover_the_files_in_order_within_their_limits(sizes, workers, max_files):
    max_bytes = 2 * 10**6
    bounds = task_bounds(pa.chunked_array([pa.array(sizes, pa.int64())]), workers, max_files, max_bytes)
    assert [i for start, stop in bounds for i in range(start, stop)] == list(range(len(sizes)))
    for start, stop in bounds:
        assert stop - start <= max_files
        assert stop - start == 1 or np.sum(sizes[start:stop]) <= max_bytes  # a file over the limit is a task of its own
