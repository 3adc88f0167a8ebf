"""spill: a map task's rows land in one chunk file, a sorted run per partition, found again by ref."""

from __future__ import annotations

import pyarrow as pa

from dataset_tools.build.spill import ALL_BATCHES, DeltaRefs, PartitionJob, job_batches, spill_schema, write_chunk

SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("source_file", pa.string())], metadata={b"k": b"v"})


def test_the_spill_schema_is_nullable_and_has_no_metadata():
    relaxed = spill_schema(SCHEMA)
    assert all(field.nullable for field in relaxed) and relaxed.metadata is None and relaxed.names == SCHEMA.names


def test_a_chunk_holds_one_batch_per_partition_and_refs_find_each(tmp_path):
    table = pa.table({"id": ["01a", "01b", "7f0", "ff1", "ff2"], "source_file": ["a", "b", "c", "d", "e"]})
    batches = write_chunk(table, [202501, 202501, 202502, 202612, 202612], tmp_path / "c.arrow")
    assert batches == {202501: 0, 202502: 1, 202612: 2}
    assert not list(tmp_path.glob("*.tmp"))
    refs = DeltaRefs()
    refs.add("c.arrow", batches)
    refs.add(None, {})  # a task without rows
    refs.add("d.arrow", {202502: 0})
    assert refs.partitions() == {202501, 202502, 202612} and refs.refs(202502) == [("c.arrow", 1), ("d.arrow", 0)]
    job = PartitionJob(202612, refs.refs(202612), cached=0, drop=[], new=None)
    found = job_batches(job, tmp_path, {}, 0, 1)
    assert [b.to_pydict() for b in found] == [{"id": ["ff1", "ff2"], "source_file": ["d", "e"]}]


def test_cached_rows_of_stale_files_are_left_out_and_a_rewritten_partition_is_read_whole(tmp_path):
    write_chunk(pa.table({"id": ["05a", "05b"], "source_file": ["old.txt", "keep.txt"]}), [5, 5], tmp_path / "old.arrow")
    write_chunk(pa.table({"id": ["05a"], "source_file": ["old.txt"]}), [5], tmp_path / "new.arrow")  # the file, edited
    job = PartitionJob(5, [("old.arrow", 0), ("new.arrow", 0)], cached=1, drop=["old.txt"], new="b.arrow")
    rows = [row for batch in job_batches(job, tmp_path, {}, 0, 2) for row in batch.to_pylist()]
    assert rows == [{"id": "05b", "source_file": "keep.txt"}, {"id": "05a", "source_file": "old.txt"}]
    with pa.OSFile(str(tmp_path / "b.arrow"), "wb") as sink, pa.ipc.new_file(sink, pa.schema([("id", pa.string()), ("source_file", pa.string())])) as writer:
        writer.write_table(pa.table({"id": ["05b"], "source_file": ["keep.txt"]}))
        writer.write_table(pa.table({"id": ["05c"], "source_file": ["more.txt"]}))
    whole = PartitionJob(5, [("b.arrow", ALL_BATCHES)], cached=1, drop=[], new=None)
    assert [b.num_rows for b in job_batches(whole, tmp_path, {}, 0, 1)] == [1, 1]
