"""How much memory a Parquet file we did not write would take once read, known before reading it.

A Parquet file can be small on disk and huge once read: zstd turns a gigabyte of one repeated
byte into kilobytes (a compression bomb), and a dictionary page lets one long string stand for
every row (a dictionary bomb). The footer states sizes, but it is written by whoever made the
file, and the reader allocates what each page's own header says. So:

- `check_footer_size(handle, name)`: the footer itself is at most MAX_FOOTER_BYTES;
- `check_sizes(handle, metadata, name)`: every page header is read (a few dozen bytes each,
  nothing decompressed), and each page, column chunk and row group must stay within the
  limits below, by the footer's figures and by the pages' own;
- `decoded_bytes(batch)`: a batch read with its dictionaries kept (`read_dictionary`) says how
  many bytes its strings take once decoded, so the caller decodes only a batch within
  MAX_BATCH_BYTES. Arrow cannot keep the dictionary of a string inside a list (it fails on
  the second dictionary of a column), so for those `check_sizes` reads the dictionary page
  itself (at most MAX_PAGE_BYTES) and counts each dictionary-encoded value of the row group
  at the length of the longest dictionary value.

Memory while reading is then bounded by about a row group's pages plus one decoded batch.
"""

from __future__ import annotations

from typing import BinaryIO, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools.errors import ParquetTooLarge

# A build writes row groups of at most 16 MiB and 20,000 rows, pages of about 1 MiB.
MAX_FOOTER_BYTES = 16 << 20
MAX_PAGE_BYTES = 64 << 20
MAX_ROW_GROUP_BYTES = 256 << 20
MAX_ROW_GROUP_VALUES = 1 << 24  # values (list items and nulls included) over all columns of a row group
MAX_BATCH_BYTES = 256 << 20
_HEADER_READ = 16 << 10  # a page header with statistics is usually under 1 KiB
_MAX_HEADER_BYTES = 1 << 20
_DICTIONARY_PAGE = 2  # PageType
_DICTIONARY_ENCODINGS = frozenset({2, 8})  # PLAIN_DICTIONARY, RLE_DICTIONARY
# Parquet's codec names -> pyarrow's (legacy LZ4 and LZO framings are not read here).
_CODECS = {"UNCOMPRESSED": None, "SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "ZSTD": "zstd",
           "LZ4_RAW": "lz4_raw"}


class _Page(NamedTuple):
    header_size: int
    type: int
    uncompressed: int
    compressed: int
    values: int
    encoding: int | None


def check_footer_size(handle: BinaryIO, name: str) -> None:
    """Refuse a footer larger than MAX_FOOTER_BYTES before the Parquet reader loads it. A file
    that does not end like Parquet is left to the reader, which says so."""
    handle.seek(0, 2)
    if handle.tell() < 12:
        return
    handle.seek(-8, 2)
    tail = handle.read(8)
    length = int.from_bytes(tail[:4], "little")
    if tail[4:] == b"PAR1" and length > MAX_FOOTER_BYTES:
        raise ParquetTooLarge(name, "the footer", length, MAX_FOOTER_BYTES)


def check_sizes(handle: BinaryIO, metadata: pq.FileMetaData, name: str) -> None:
    """Check every row group, column chunk and page against the limits, reading page headers only.

    Raises:
        ParquetTooLarge: a limit is exceeded.
        ValueError: a column chunk or page header is not where or what the footer says.
    """
    handle.seek(0, 2)
    file_size = handle.tell()
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        if group.total_byte_size > MAX_ROW_GROUP_BYTES:
            raise ParquetTooLarge(name, f"row group {i}", group.total_byte_size, MAX_ROW_GROUP_BYTES)
        group_bytes = group_values = 0
        for j in range(group.num_columns):
            chunk = group.column(j)
            where = f"row group {i} column {chunk.path_in_schema}"
            in_list = metadata.schema.column(j).max_repetition_level > 0 and chunk.physical_type == "BYTE_ARRAY"
            page_bytes, page_values, decoded = _pages(handle, chunk, file_size, name, where, in_list)
            group_bytes += max(chunk.total_uncompressed_size, page_bytes) + decoded
            group_values += max(chunk.num_values, page_values)
        if group_bytes > MAX_ROW_GROUP_BYTES:
            raise ParquetTooLarge(name, f"row group {i}", group_bytes, MAX_ROW_GROUP_BYTES)
        if group_values > MAX_ROW_GROUP_VALUES:
            raise ParquetTooLarge(name, f"row group {i}", group_values, MAX_ROW_GROUP_VALUES, "values")


def _pages(handle: BinaryIO, chunk, file_size: int, name: str, where: str, in_list: bool) -> tuple[int, int, int]:
    """(uncompressed bytes, values, bytes of dictionary-encoded strings in lists once decoded)
    of a column chunk's pages, by their headers."""
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    end = start + chunk.total_compressed_size
    if start < 4 or end > file_size:
        raise ValueError(f"{where} lies outside the file")
    total_bytes = total_values = dictionary_values = longest = 0
    position = start
    while position < end:
        page = _page_header(handle, position, end)
        if page.uncompressed > MAX_PAGE_BYTES:
            raise ParquetTooLarge(name, f"a page of {where}", page.uncompressed, MAX_PAGE_BYTES)
        if page.type == _DICTIONARY_PAGE:
            if in_list:
                handle.seek(position + page.header_size)
                longest = _longest_value(handle.read(page.compressed), page, chunk.compression)
        elif page.encoding in _DICTIONARY_ENCODINGS:
            dictionary_values += page.values
        total_bytes += page.uncompressed
        total_values += page.values
        position += page.header_size + page.compressed
    return total_bytes, total_values, dictionary_values * longest


def _page_header(handle: BinaryIO, position: int, end: int) -> _Page:
    """The header of the page at `position`."""
    for size in (_HEADER_READ, _MAX_HEADER_BYTES):
        handle.seek(position)
        reader = _CompactReader(handle.read(min(size, end - position)))
        try:
            found = reader.page_header()
        except IndexError:  # the header goes on past what was read
            if size < end - position:
                continue
            raise ValueError("a page header is cut short") from None
        if found.get(2, -1) < 0 or found.get(3, -1) < 0:
            raise ValueError("a page header has no valid sizes")
        return _Page(reader.position, found.get(1, -1), found[2], found[3], found.get("values", 0), found.get("encoding"))
    raise ValueError("a page header is larger than 1 MiB")


def _longest_value(data: bytes, page: _Page, codec: str) -> int:
    """The length of the longest value of a PLAIN-encoded BYTE_ARRAY dictionary page."""
    if codec not in _CODECS:
        raise ValueError(f"a dictionary page is compressed with {codec}, which validate does not read")
    if _CODECS[codec] is not None:
        data = pa.decompress(data, decompressed_size=page.uncompressed, codec=_CODECS[codec], asbytes=True)
    view, position, longest = memoryview(data), 0, 0
    for _ in range(page.values):
        length = int.from_bytes(view[position : position + 4], "little")
        position += 4 + length
        if position > len(view):
            raise ValueError("a dictionary page is cut short")
        longest = max(longest, length)
    return longest


class _CompactReader:
    """Just enough of the Thrift compact protocol to read a Parquet PageHeader: its sizes, the
    value count of its data or dictionary page header, and where it ends (everything else is
    skipped). Running off the end of the data raises IndexError."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def page_header(self) -> dict:
        """{1: type, 2: uncompressed size, 3: compressed size, "values": ..., "encoding": ...}"""
        found: dict = {}

        def field(number: int, kind: int, depth: int) -> None:
            if number in (1, 2, 3) and kind == 5:  # type, uncompressed_page_size, compressed_page_size
                found[number] = self._zigzag()
            elif number in (5, 7, 8) and kind == 12:  # data page, dictionary page, data page v2
                encoding = 4 if number == 8 else 2  # the field holding the page's encoding
                self._struct(lambda n, k, d: inner(n, k, d, encoding), depth + 1)
            else:
                self._skip(kind, depth)

        def inner(number: int, kind: int, depth: int, encoding: int) -> None:
            if number in (1, encoding) and kind == 5:
                found["values" if number == 1 else "encoding"] = self._zigzag()
            else:
                self._skip(kind, depth)

        self._struct(field, 0)
        return found

    def _byte(self) -> int:
        value = self.data[self.position]
        self.position += 1
        return value

    def _varint(self) -> int:
        result = shift = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError("a page header holds an over-long integer")

    def _zigzag(self) -> int:
        value = self._varint()
        return (value >> 1) ^ -(value & 1)

    def _advance(self, count: int) -> None:
        if self.position + count > len(self.data):
            raise IndexError("past the end")
        self.position += count

    def _struct(self, on_field, depth: int) -> None:
        if depth > 16:
            raise ValueError("a page header nests too deeply")
        number = 0
        while header := self._byte():
            delta, kind = header >> 4, header & 0x0F
            number = number + delta if delta else self._zigzag()
            on_field(number, kind, depth)

    def _skip(self, kind: int, depth: int, in_collection: bool = False) -> None:
        if kind in (1, 2):  # a boolean: its value is the field's type, or one byte in a list
            if in_collection:
                self._advance(1)
        elif kind == 3:
            self._advance(1)
        elif kind in (4, 5, 6):
            self._varint()
        elif kind == 7:
            self._advance(8)
        elif kind == 8:
            self._advance(self._varint())
        elif kind in (9, 10):
            head = self._byte()
            count = head >> 4 if head >> 4 != 15 else self._varint()
            for _ in range(count):
                self._skip(head & 0x0F, depth + 1, True)
        elif kind == 11:
            count = self._varint()
            types = self._byte() if count else 0
            for _ in range(count):
                self._skip(types >> 4, depth + 1, True)
                self._skip(types & 0x0F, depth + 1, True)
        elif kind == 12:
            self._struct(lambda n, k, d: self._skip(k, d), depth + 1)
        else:
            raise ValueError(f"a page header holds an unknown Thrift type {kind}")


def dictionary_columns(metadata: pq.FileMetaData, columns: list[str]) -> list[str]:
    """The string columns among `columns` that some row group stores with a dictionary page:
    read with `read_dictionary`, their values stay a dictionary plus indices until decoded."""
    wanted = set(columns)
    paths = set()
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        for j in range(group.num_columns):
            chunk = group.column(j)
            # A top-level column (not a list's items) of strings: the only kind a value can be long.
            if chunk.has_dictionary_page and chunk.path_in_schema in wanted and chunk.physical_type == "BYTE_ARRAY":
                paths.add(chunk.path_in_schema)
    return sorted(paths)


def decoded_bytes(batch: pa.RecordBatch) -> int:
    """Bytes the dictionary-encoded strings of `batch` take once decoded: each use of a
    dictionary value counted, computed from the value lengths without decoding."""
    total = 0
    for column in batch.columns:
        while pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = column.flatten()
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary)
            total += pc.sum(pc.take(lengths, column.indices)).as_py() or 0
    return total
