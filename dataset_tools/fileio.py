"""Small file helpers every stage shares: hashing a file, writing JSON, Arrow IPC files, saying a size.

JSON is written with orjson: the same bytes as `json.dumps(indent=2, ensure_ascii=False)`
plus a final newline, about 25 times faster, which matters for report.json and manifest.json
at a million inputs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

# A string JSON writes with an escape: a quote, a backslash or a control character.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def sha256_file(path: Path | str) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def sha256_stream(handle: BinaryIO) -> str:
    """SHA-256 (hex) of the rest of an open binary file, read in blocks."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def json_bytes(payload) -> bytes:
    """`payload` as indented JSON bytes with a final newline."""
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"


def write_json(path: Path | str, payload) -> None:
    """Write `payload` to `path` as indented JSON."""
    Path(path).write_bytes(json_bytes(payload))


def human_size(size: int, *, exact: bool = False) -> str:
    """A byte count in binary units ('1.5 MiB'); with `exact`, the byte count follows."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B":
                return f"{size} B"
            return f"{value:.1f} {unit}" + (f" ({size} B)" if exact else "")
        value /= 1024
    return f"{size} B"


def json_lines(
    columns: list[tuple[str, pa.Array | pa.ChunkedArray | pa.Scalar]],
    slow: Callable[[list[int]], list[bytes]],
    slow_rows: pa.Array | pa.ChunkedArray | None = None,
    *,
    verbatim: frozenset[str] = frozenset(),
) -> pa.Array:
    """One compact JSON object per row, `{"key":value,...}` over `columns` (string or integer
    arrays, or a scalar for a value every row shares), as the bytes orjson writes for the same
    dict, built column-wise with Arrow compute instead of a dict and a call per row (a million
    report lines in a fraction of a second): one join of the columns between the constant text
    around them.

    Rows flagged in `slow_rows`, rows with a null, and rows with a string that needs escaping
    (a quote, a backslash, a control character) are written by `slow(row indices)` instead: it
    must return their lines (orjson bytes), in the order given. Strings of the keys in
    `verbatim` are not checked: they are known to need no escaping (hex digests, language codes).
    """
    parts: list = []
    text = ""  # constant text since the last column
    flags: list = [] if slow_rows is None else [slow_rows]
    for i, (key, values) in enumerate(columns):
        text += ("{" if i == 0 else ",") + orjson.dumps(key).decode() + ":"
        if isinstance(values, pa.Scalar):
            text += orjson.dumps(values.as_py()).decode()
            continue
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            if key not in verbatim and _may_need_escape(values):
                flags.append(pc.fill_null(pc.match_substring_regex(values, _NEEDS_ESCAPE), False))
            parts += [text + '"', values]
            text = '"'
        else:
            parts += [text, pc.cast(values, pa.string())]
            text = ""
    parts.append(text + "}")
    lines = pc.binary_join_element_wise(*parts, "")  # null where any value is null
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if lines.null_count:
        flags.append(pc.is_null(lines))
    flagged = None
    for flag in flags:
        flagged = flag if flagged is None else pc.or_(flagged, flag)
    if isinstance(flagged, pa.ChunkedArray):
        flagged = flagged.combine_chunks()
    if flagged is not None and pc.any(flagged).as_py():
        rows = pc.indices_nonzero(flagged).to_pylist()
        replaced = pa.array([line.decode() for line in slow(rows)], pa.string())
        lines = pc.replace_with_mask(lines, flagged, replaced)
    return lines


def _may_need_escape(values: pa.Array) -> bool:
    """Whether any string of `values` may hold a character JSON escapes: a control character,
    a quote or a backslash (checked over all their bytes at once; the strings that do are then
    found with a regex, rarely)."""
    if not pa.types.is_string(values.type) or len(values) == 0:
        return True
    if values.buffers()[2] is None:  # no string has a byte
        return False
    data = np.frombuffer(_string_data(values), np.uint8)
    return bool(len(data)) and bool(data.min() < 0x20 or (data == 0x22).any() or (data == 0x5C).any())


def write_json_listing_lines(path: Path | str, head: dict, key: str, lines: Iterable[pa.Array]) -> dict:
    """Write `head` plus a last key `key` holding a list of items given as ready-made lines
    (string arrays, one JSON object per row, as `json_lines` makes them), written buffer by
    buffer: the head is indented as `write_json` does, and each item is one line. A report or
    manifest of a million files is written without holding it in memory, and diffs line by line.

    Returns the file's {"sha256", "bytes"}, taken as it is written (manifest.json lists them)."""
    with open(path, "wb") as handle:
        writer = _Digesting(handle)
        _write_listing_head(writer, head, key)
        _write_listing_tail(writer, _write_listing_items(writer, lines))
    return writer.digest()


class _Digesting:
    """A binary file's `write`, which also hashes and counts what it writes."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._sha256 = hashlib.sha256()
        self._bytes = 0

    def write(self, data) -> int:
        self._sha256.update(data)
        self._bytes += len(data)
        return self._handle.write(data)

    def digest(self) -> dict:
        return {"sha256": self._sha256.hexdigest(), "bytes": self._bytes}


def _write_listing_head(handle: BinaryIO, head: dict, key: str) -> None:
    head_text = orjson.dumps(head, option=orjson.OPT_INDENT_2) if head else b"{}"
    handle.write(head_text[:-1].rstrip() + (b",\n" if head else b"\n"))
    handle.write(b'  "' + key.encode() + b'": [')


def _write_listing_items(handle: BinaryIO, lines: Iterable[pa.Array]) -> bool:
    first = True
    for array in lines:
        if len(array) == 0:
            continue
        joined = pc.binary_join_element_wise(",\n    ", array, "")
        data = _string_data(joined)
        handle.write(b"\n    " if first else b",\n    ")
        handle.write(data[len(b",\n    ") :])  # the first line's separator is the one just written
        first = False
    return not first


def _write_listing_tail(handle: BinaryIO, any_items: bool) -> None:
    handle.write(b"\n  ]\n}\n" if any_items else b"]\n}\n")


def _string_data(array: pa.Array) -> memoryview:
    """The bytes of all the strings of `array`, back to back (no copy)."""
    offsets = array.buffers()[1]
    first, last = (int(x) for x in pa.Array.from_buffers(pa.int32(), len(array) + 1, [None, offsets], offset=array.offset).to_numpy()[[0, -1]])
    return memoryview(array.buffers()[2])[first:last]


def read_json_listing_head(path: Path | str, key: str, *, max_bytes: int = 1 << 20) -> dict:
    """The head of a file `write_json_listing_lines` wrote: every key before the `key` list, read
    without reading (or holding) the list itself.

    Raises:
        ValueError: the file does not start the way `write_json_listing_lines` writes it.
    """
    marker = b'  "' + key.encode() + b'": ['
    head = bytearray()
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(marker):
                text = bytes(head).rstrip()
                text = text[:-1] if text.endswith(b",") else text
                value = orjson.loads(text + b"\n}")
                if not isinstance(value, dict):
                    raise ValueError("not a JSON object")
                return value
            head += line
            if len(head) > max_bytes:
                break
    raise ValueError(f'no "{key}" list where it belongs')


# -- Arrow IPC files: the build's spill files, its cache's tables


BATCH_ROWS = 32_768  # rows per record batch of a table the cache writes


def write_ipc(path: Path, table: pa.Table) -> None:
    """Write an Arrow IPC file via a temporary name, so a reader never sees half a file. Its
    record batches are `table_batches(table)`."""
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in table_batches(table):
            writer.write_batch(batch)
    os.replace(tmp, path)


def table_batches(table: pa.Table) -> Iterator[pa.RecordBatch]:
    """`table` in record batches of BATCH_ROWS rows (the last one fewer), however it is
    chunked: the file table is read a batch at a time for report.json and manifest.json, whose
    lines are built a batch at a time, and a table patched from slices by one rebuild after
    another must not fall apart into tiny batches."""
    for start in range(0, table.num_rows, BATCH_ROWS):
        part = table.slice(start, BATCH_ROWS)
        if any(column.num_chunks > 1 for column in part.columns):
            part = part.combine_chunks()
        yield from part.to_batches()


def ipc_batches(path: Path | str) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, read one at a time (not memory-mapped)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def read_ipc(path: Path | str) -> pa.Table:
    """An Arrow IPC file read into memory (not memory-mapped), its batches combined."""
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all().combine_chunks()
