"""The reduce merges a bucket's id-sorted runs a slice at a time: the slices, put end to end,
are the bucket in a stable id order, whatever the runs and the slice limits."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools import build

SCHEMA = pa.schema([("id", pa.string()), ("body", pa.string()), ("source_file", pa.string())])

# Few distinct ids, so that runs share ids (duplicates and updates of one article).
rows = st.tuples(st.sampled_from(["0a1", "0a2", "0b0", "0c7", "0c8", "0ff"]), st.text(max_size=40))
runs = st.lists(st.lists(rows, max_size=12), max_size=8)


def _table(run_rows: list[list[tuple[str, str]]]) -> pa.Table:
    batches = []
    for r, run in enumerate(run_rows):
        ordered = sorted(run, key=lambda row: row[0])  # a run is sorted by id (stably)
        batches.append(
            pa.record_batch(
                [
                    pa.array([i for i, _ in ordered], pa.string()),
                    pa.array([b for _, b in ordered], pa.string()),
                    pa.array([f"run{r}/{n}" for n in range(len(ordered))], pa.string()),
                ],
                schema=SCHEMA,
            )
        )
    return pa.Table.from_batches(batches, schema=SCHEMA)


@settings(max_examples=300, deadline=None)
@given(runs, st.integers(min_value=1, max_value=7), st.integers(min_value=1, max_value=4000))
def test_merged_slices_are_the_bucket_in_stable_id_order(run_rows, slice_rows, slice_bytes):
    table = _table(run_rows)
    old = build.SORT_SLICE, build.ROW_GROUP_BYTES
    build.SORT_SLICE, build.ROW_GROUP_BYTES = slice_rows, slice_bytes
    try:
        slices = list(build._merged_slices(table))
    finally:
        build.SORT_SLICE, build.ROW_GROUP_BYTES = old
    ids = table.column("id").to_pylist()
    expected = sorted(range(table.num_rows), key=lambda i: ids[i])  # Python's sort is stable
    assert [row for piece in slices for row in piece.rows] == expected
    for piece in slices:
        assert 1 <= piece.table.num_rows <= slice_rows
        assert piece.table.to_pylist() == table.take(pa.array(piece.rows, pa.int64())).to_pylist()


def test_an_empty_bucket_has_no_slices():
    assert list(build._merged_slices(_table([[], []]))) == []
