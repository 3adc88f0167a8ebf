"""parquet_limits.py: page headers read right on files pyarrow writes; a build's shards pass."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_tools import parquet_limits
from dataset_tools.errors import ParquetTooLarge


def _table(rows: int) -> pa.Table:
    return pa.table({
        "id": pa.array([f"{i:016x}" for i in range(rows)]),
        "section": pa.array(["cities", "world", None, "sport"] * (rows // 4)),
        "tags": pa.array([["a", "b"], [], None, ["c" * 300]] * (rows // 4), pa.list_(pa.string())),
        "word_count": pa.array(range(rows), pa.int32()),
        "flag": pa.array([True, False, None, True] * (rows // 4)),
    })


@pytest.mark.parametrize("options", [
    {"compression": "zstd"},
    {"compression": "snappy", "data_page_version": "2.0"},
    {"compression": "gzip", "use_dictionary": False, "data_page_size": 1024},
    {"compression": "none", "write_statistics": True, "write_page_index": True},
])
def test_page_headers_add_up_to_the_footer(tmp_path, options):
    path = tmp_path / "t.parquet"
    pq.write_table(_table(40_000), path, row_group_size=15_000, **options)
    metadata = pq.ParquetFile(path).metadata
    with open(path, "rb") as handle:
        parquet_limits.check_sizes(handle, metadata, "t.parquet")
        for i in range(metadata.num_row_groups):
            for j in range(metadata.num_columns):
                chunk = metadata.row_group(i).column(j)
                position = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
                end = position + chunk.total_compressed_size
                uncompressed = pages = 0
                while position < end:
                    page = parquet_limits._page_header(handle, position, end)
                    uncompressed += page.header_size + page.uncompressed
                    position += page.header_size + page.compressed
                    pages += 1
                assert position == end and uncompressed == chunk.total_uncompressed_size, (i, chunk.path_in_schema)
                assert pages >= 1


def test_a_long_list_item_in_a_dictionary_is_counted_per_use(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    pq.write_table(_table(4_000), path, compression="zstd")
    metadata = pq.ParquetFile(path).metadata
    monkeypatch.setattr(parquet_limits, "MAX_ROW_GROUP_BYTES", metadata.row_group(0).total_byte_size + 300 * 999)
    # The tag of 300 bytes is in 1,000 rows: the list's dictionary-encoded values (5,000, the empty
    # and null lists' entries included) are counted at its length, more than the room left.
    with open(path, "rb") as handle:
        with pytest.raises(ParquetTooLarge, match="row group 0 holds"):
            parquet_limits.check_sizes(handle, metadata, "t.parquet")


def test_only_top_level_string_columns_are_read_as_dictionaries(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(_table(4_000), path)  # every column has a dictionary page
    metadata = pq.ParquetFile(path).metadata
    assert parquet_limits.dictionary_columns(metadata, ["id", "section", "tags", "word_count", "flag"]) == ["id", "section"]
    assert parquet_limits.dictionary_columns(metadata, ["section"]) == ["section"]
