"""reduce: a partition's rows written as its month's parts, losers left out; row groups packed
row by row, whatever the pieces the rows arrive in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset_tools.build import merge, reduce
from dataset_tools.build.parse import articles_to_batch
from dataset_tools.build.partition import SORT_KEYS
from dataset_tools.build.spill import ALL_BATCHES, PartitionJob, spill_schema, write_chunk
from dataset_tools.readers import parse_article
from dataset_tools.schema import load_table_schema
from rawfiles import collected_article


def _rows(schema, numbers: list[int], day: int = 1) -> pa.Table:
    """Articles of March 2025 (`day` and the number set the time), as map rows."""
    articles = []
    for n in numbers:
        when = datetime(2025, 3, day, tzinfo=timezone.utc) + timedelta(minutes=n)
        text = collected_article(url=f"https://news.example.org/2025/story-{n}.html", title=f"Story {n}",
                                 timestamps=(when.strftime("%Y-%m-%dT%H:%M+0000"),))
        articles.append(parse_article(text.encode(), f"{n:04d}.txt"))
    table = pa.Table.from_batches([articles_to_batch(articles, schema)])
    return table.take(pc_order(table))


def pc_order(table: pa.Table):
    import pyarrow.compute as pc

    return pc.sort_indices(table, SORT_KEYS)


def test_a_partition_is_written_as_parts_of_shard_rows_rows_in_order_without_its_losers(tmp_path, settings):
    schema = load_table_schema(settings.schema)
    cache = tmp_path / "cache"
    (cache / "chunks").mkdir(parents=True)
    (cache / "parts").mkdir()  # as the build cache has it
    first = _rows(schema, list(range(0, 40, 2)))
    second = _rows(schema, list(range(1, 40, 2)))
    write_chunk(first, [202503] * first.num_rows, cache / "chunks/a.arrow")
    write_chunk(second, [202503] * second.num_rows, cache / "chunks/b.arrow")
    job = PartitionJob(202503, [("chunks/a.arrow", 0), ("chunks/b.arrow", 0)], cached=0, drop=[], new="parts/1-202503.arrow")
    out = tmp_path / "out"
    result = reduce.reduce_partition(job, ["0005.txt", "0030.txt"], 15, str(cache), str(out), str(settings.schema), None)
    assert [(s.name, s.rows) for s in result.shards] == [("data/2025/03/train-0000.parquet", 15), ("data/2025/03/train-0001.parquet", 15), ("data/2025/03/train-0002.parquet", 8)]
    rows = [row for s in result.shards for row in pq.read_table(out / s.name).to_pylist()]
    assert [r["source_file"] for r in rows] == [f"{n:04d}.txt" for n in range(40) if n not in (5, 30)]
    assert pq.read_table(out / result.shards[0].name).schema.equals(schema.arrow_schema, check_metadata=False)
    with pa.memory_map(str(cache / job.new)) as source:  # the rewritten partition keeps every row, losers too
        kept = pa.ipc.open_file(source).read_all()
    assert kept.num_rows == 40 and kept.schema == spill_schema(schema.arrow_schema)

    # The next build reads the rewritten file where it lies, without a stale file's row.
    again = PartitionJob(202503, [(job.new, ALL_BATCHES)], cached=1, drop=["0007.txt"], new=None)
    result = reduce.reduce_partition(again, [], 100, str(cache), str(tmp_path / "out2"), str(settings.schema), None)
    assert [(s.name, s.rows) for s in result.shards] == [("data/2025/03/train-0000.parquet", 39)]


runs = st.lists(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c"])), max_size=12), max_size=8)
KEYS = pa.schema([("published_at", pa.timestamp("us", tz="UTC")), ("id", pa.string()), ("body", pa.string()), ("source_file", pa.string())])


def _runs_table(run_rows) -> pa.Table:
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    batches = []
    for r, run in enumerate(run_rows):
        ordered = sorted(run)  # a run is in partition order (stably)
        batches.append(pa.record_batch([
            pa.array([base + timedelta(hours=h) for h, _ in ordered], KEYS.field(0).type),
            pa.array([i for _, i in ordered]),
            pa.array(["x" * (h * 40) for h, _ in ordered]),
            pa.array([f"run{r}/{n}" for n in range(len(ordered))]),
        ], schema=KEYS))
    return pa.Table.from_batches(batches, schema=KEYS)


@settings(max_examples=200, deadline=None)
@given(runs, st.integers(min_value=1, max_value=7), st.integers(min_value=1, max_value=4000))
def test_merged_slices_are_the_partition_in_stable_order(run_rows, slice_rows, slice_bytes):
    table = _runs_table(run_rows)
    old = merge.SORT_SLICE, merge.SLICE_BYTES
    merge.SORT_SLICE, merge.SLICE_BYTES = slice_rows, slice_bytes
    try:
        slices = list(merge.merged_slices(table))
    finally:
        merge.SORT_SLICE, merge.SLICE_BYTES = old
    keys = list(zip(table.column("published_at").to_pylist(), table.column("id").to_pylist()))
    expected = sorted(range(table.num_rows), key=lambda i: keys[i])  # Python's sort is stable
    assert [int(row) for piece in slices for row in piece.rows] == expected
    for piece in slices:
        assert 1 <= piece.table.num_rows <= slice_rows
        assert piece.table.to_pylist() == table.take(pa.array(piece.rows, pa.int64())).to_pylist()


@settings(max_examples=100, deadline=None)
@given(runs, st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=7), st.data())
def test_runs_on_disk_give_the_slices_of_runs_in_memory_without_their_stale_rows(tmp_path_factory, run_rows, group, batch_rows, slice_rows, data):
    table = _runs_table(run_rows)
    folder = tmp_path_factory.mktemp("runs")
    batches = table.to_batches()
    stale = data.draw(st.lists(st.sampled_from(table.column("source_file").to_pylist() or ["none"]), max_size=4))
    old = merge.SORT_SLICE, merge.RUN_BATCH_ROWS
    merge.SORT_SLICE, merge.RUN_BATCH_ROWS = slice_rows, batch_rows
    on_disk = merge.Runs(KEYS, folder, "t")
    try:
        # The first batches as a file a reduce wrote (read where it lies), the others merged in groups.
        if batches:
            with pa.OSFile(str(folder / "written.arrow"), "wb") as sink, pa.ipc.new_file(sink, KEYS) as writer:
                writer.write_table(pa.Table.from_batches([batches[0]], schema=KEYS), max_chunksize=batch_rows)
            on_disk.add_file(folder / "written.arrow", stale)
        for start in range(1, len(batches), group):
            on_disk.add_group(batches[start : start + group])
        from_disk = [row for piece in merge.merged_slices(on_disk) for row in piece.table.to_pylist()]
        in_memory = [row for piece in merge.merged_slices(table) for row in piece.table.to_pylist()]
    finally:
        merge.SORT_SLICE, merge.RUN_BATCH_ROWS = old
        on_disk.close()
    first_run = set(batches[0].column("source_file").to_pylist()) if batches else set()
    assert from_disk == [row for row in in_memory if not (row["source_file"] in stale and row["source_file"] in first_run)]
    assert sorted(p.name for p in folder.iterdir()) == (["written.arrow"] if batches else [])  # group runs are deleted once closed


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
