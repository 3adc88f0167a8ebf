"""The reduce merges a bucket's id-sorted runs a slice at a time: the slices, put end to end,
are the bucket in a stable id order, whatever the runs and the slice limits."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build import merge, reduce

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
    old = merge.SORT_SLICE, merge.SLICE_BYTES
    merge.SORT_SLICE, merge.SLICE_BYTES = slice_rows, slice_bytes
    try:
        slices = list(merge.merged_slices(table))
    finally:
        merge.SORT_SLICE, merge.SLICE_BYTES = old
    ids = table.column("id").to_pylist()
    expected = sorted(range(table.num_rows), key=lambda i: ids[i])  # Python's sort is stable
    assert [row for piece in slices for row in piece.rows] == expected
    for piece in slices:
        assert 1 <= piece.table.num_rows <= slice_rows
        assert piece.table.to_pylist() == table.take(pa.array(piece.rows, pa.int64())).to_pylist()


def test_an_empty_bucket_has_no_slices():
    assert list(merge.merged_slices(_table([[], []]))) == []


FULL = pa.schema(
    [("id", pa.string()), ("body", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
     ("published_at", pa.timestamp("s", tz="UTC")), ("modified_at", pa.timestamp("s", tz="UTC"))]
)


@settings(max_examples=150, deadline=None)
@given(runs, st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=7))
def test_runs_merged_in_groups_on_disk_give_the_same_slices(tmp_path_factory, run_rows, group, batch_rows, slice_rows):
    narrow = _table(run_rows)
    n = narrow.num_rows
    table = pa.Table.from_batches(
        [
            pa.record_batch(
                [*batch.columns, pa.array([f"{i:064x}" for i in range(len(batch))]), pa.nulls(len(batch), FULL.field(4).type),
                 pa.nulls(len(batch), FULL.field(5).type)],
                schema=FULL,
            )
            for batch in narrow.to_batches()
        ],
        schema=FULL,
    )
    old = merge.SORT_SLICE, merge.RUN_BATCH_ROWS
    merge.SORT_SLICE, merge.RUN_BATCH_ROWS = slice_rows, batch_rows
    spilled = merge.SpilledRuns(tmp_path_factory.mktemp("runs"), "t", FULL)
    try:
        batches = table.to_batches()
        for start in range(0, len(batches), group):
            spilled.add_group(pa.Table.from_batches(batches[start : start + group], schema=FULL))
        spilled.finish()
        from_disk = list(merge.merged_slices(spilled))
        in_memory = list(merge.merged_slices(table))
    finally:
        merge.SORT_SLICE, merge.RUN_BATCH_ROWS = old
        spilled.close()
    assert [p.table.to_pylist() for p in from_disk] == [p.table.to_pylist() for p in in_memory]
    assert sum(p.table.num_rows for p in from_disk) == n
    for piece in from_disk:  # rows are numbered as the bucket's meta columns have them
        assert spilled.meta.take(pa.array(piece.rows, pa.int64())).column("id").to_pylist() == piece.table.column("id").to_pylist()
    assert not any(spilled.folder.iterdir())  # its files are gone once closed


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=60),
    st.lists(st.integers(min_value=1, max_value=9), max_size=20),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=1024, max_value=9000),
)
def test_row_groups_are_packed_row_by_row_whatever_the_parts(lengths, cuts, max_rows, max_bytes):
    """A shard's row groups (and bytes) do not depend on how its rows reach the writer: the
    reduce hands them over in merge slices, `write_parquet` in one table."""
    import io

    import pyarrow.parquet as pq

    table = pa.table({"id": [f"{i:04d}" for i in range(len(lengths))], "body": ["x" * n for n in lengths]})
    parts, start = [], 0
    for cut in cuts:
        if start < table.num_rows:
            parts.append(table.slice(start, cut))
            start += cut
    if start < table.num_rows:
        parts.append(table.slice(start))

    def written(pieces: list[pa.Table]) -> bytes:
        sink = io.BytesIO()
        with pq.ParquetWriter(sink, table.schema, **reduce.parquet_options()) as writer:
            groups = reduce.RowGroups(writer)
            for piece in pieces:
                groups.append(piece)
            groups.close()
        return sink.getvalue()

    old = reduce.ROW_GROUP_MAX_ROWS, reduce.ROW_GROUP_BYTES
    reduce.ROW_GROUP_MAX_ROWS, reduce.ROW_GROUP_BYTES = max_rows, max_bytes
    try:
        whole, split = written([table]), written(parts)
        expected = [stop - start for start, stop in merge.bounds(merge.row_sizes(table), max_rows, max_bytes)]
    finally:
        reduce.ROW_GROUP_MAX_ROWS, reduce.ROW_GROUP_BYTES = old
    assert whole == split
    meta = pq.ParquetFile(io.BytesIO(split)).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == expected
    assert pq.read_table(io.BytesIO(split)).to_pylist() == table.to_pylist()
