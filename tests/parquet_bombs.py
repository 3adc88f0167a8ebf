"""Parquet files that are kilobytes on disk and gigabytes once read, for validate's limits.

pyarrow cannot write a gigabyte page without holding it, so `compression_bomb` writes the bytes
itself: one INT32 column `word_count`, one row group, one PLAIN data page of `uncompressed`
zero bytes, compressed as the same zstd frame repeated (a reader decompresses concatenated
frames as one page). The footer states the true sizes, or with `footer_says` understates them
as a crafted file can, while the page header still makes the reader allocate the full page.
`dictionary_bomb` needs no crafting: one long string in a dictionary page, referenced by every
row (of a string column, or of a list column, whose dictionary a reader cannot keep).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FRAME_BYTES = 64 << 20  # what one zstd frame decompresses to


def compression_bomb(path: Path, uncompressed: int, *, footer_says: int | None = None) -> int:
    """Write the file; returns its size on disk. `uncompressed` is a multiple of FRAME_BYTES."""
    assert uncompressed % FRAME_BYTES == 0 and uncompressed < 1 << 31
    frame = pa.compress(np.zeros(FRAME_BYTES, np.uint8), codec="zstd", asbytes=True)
    payload = frame * (uncompressed // FRAME_BYTES)
    values = uncompressed // 4
    header = _struct([(1, _I32, 0), (2, _I32, uncompressed), (3, _I32, len(payload)),  # DATA_PAGE, sizes
                      (5, _STRUCT, [(1, _I32, values), (2, _I32, 0), (3, _I32, 3), (4, _I32, 3)])])  # PLAIN, RLE levels
    chunk_size = len(header) + len(payload)
    stated = uncompressed + len(header) if footer_says is None else footer_says
    column = [(1, _I32, 1), (2, _LIST, (_I32, [0, 3])), (3, _LIST, (_BINARY, [b"word_count"])),  # INT32, encodings
              (4, _I32, 6), (5, _I64, values), (6, _I64, stated), (7, _I64, chunk_size), (9, _I64, 4)]  # ZSTD
    footer = _struct([
        (1, _I32, 1),
        (2, _LIST, (_STRUCT, [[(4, _BINARY, b"schema"), (5, _I32, 1)],
                              [(1, _I32, 1), (3, _I32, 0), (4, _BINARY, b"word_count")]])),  # INT32, REQUIRED
        (3, _I64, values),
        (4, _LIST, (_STRUCT, [[(1, _LIST, (_STRUCT, [[(2, _I64, 4), (3, _STRUCT, column)]])),
                               (2, _I64, stated), (3, _I64, values)]])),
    ])
    data = b"PAR1" + header + payload + footer + len(footer).to_bytes(4, "little") + b"PAR1"
    path.write_bytes(data)
    return len(data)


def dictionary_bomb(path: Path, value_bytes: int, rows: int, *, in_list: bool = False) -> int:
    """A string column `body` (with `in_list`, a list column `tags` of one item) whose every row
    is the same `value_bytes` string, stored once in a dictionary page; returns the file's size."""
    values = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([b"x" * value_bytes], pa.string()))
    if in_list:
        values = pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32)), values)
    # Without the stored Arrow schema the column reads back as plain strings, as a shard's does.
    pq.write_table(pa.table({"tags" if in_list else "body": values}), path, compression="zstd",
                   dictionary_pagesize_limit=2 * value_bytes, write_statistics=False, store_schema=False)
    return path.stat().st_size


# -- the Thrift compact protocol, just enough to write the structs above --------------------------

_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


def _value(kind: int, value) -> bytes:
    if kind in (_I32, _I64):
        return _zigzag(value)
    if kind == _BINARY:
        return _varint(len(value)) + value
    if kind == _STRUCT:
        return _struct(value)
    element, items = value  # a list
    assert len(items) < 15
    return bytes([len(items) << 4 | element]) + b"".join(_value(element, item) for item in items)


def _struct(fields: list[tuple[int, int, object]]) -> bytes:
    out, last = bytearray(), 0
    for number, kind, value in fields:
        assert 0 < number - last < 16
        out.append((number - last) << 4 | kind)
        out += _value(kind, value)
        last = number
    return bytes(out) + b"\0"
