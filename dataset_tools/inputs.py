"""Where raw files come from: a local folder today, any fsspec URL (`s3://`, `gs://`, `hf://`,
`file://`) through the same two calls.

The listing is an Arrow table (path, size, mtime_ns) sorted by path, built in slices, so a
folder of millions of files costs a few tens of bytes per file, not a Python object each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.errors import BuildFailed, InputNotFound

LISTING_SCHEMA = pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64())])
_SLICE = 65_536


@dataclass(frozen=True, slots=True)
class RawSource:
    """A raw folder: a local path or an fsspec URL. Picklable, so workers can read from it."""

    root: str

    @property
    def is_local(self) -> bool:
        return "://" not in self.root or self.root.startswith("file://")

    @property
    def local_root(self) -> Path:
        return Path(self.root.removeprefix("file://"))

    def describe(self) -> str:
        return self.root

    def read(self, path: str, size: int = -1) -> bytes:
        """The bytes of the file at `path` (relative, '/'-separated); `size`, when known from
        the listing, lets a local file be read in one system call."""
        if self.is_local:
            # os.open/os.read on a plain string path: this runs once per raw file, and
            # pathlib and buffered file objects cost more than the read itself.
            fd = os.open(f"{self.root.removeprefix('file://')}/{path}", os.O_RDONLY)
            try:
                data = os.read(fd, size + 1 if size >= 0 else 1 << 16)
                if size >= 0 and len(data) == size:
                    return data  # the whole file, as listed
                parts = [data]
                while data:  # the file changed since it was listed, or its size was not given
                    data = os.read(fd, 1 << 20)
                    parts.append(data)
                return b"".join(parts)
            finally:
                os.close(fd)
        import fsspec

        with fsspec.open(f"{self.root.rstrip('/')}/{path}", "rb") as handle:
            return handle.read()

    def list(self, meanwhile: Callable[[], None] | None = None) -> pa.Table:
        """Every regular file under the root (recursively, hidden files included), sorted by path.

        `meanwhile`, if given, is called once while the listing runs (a local folder is walked
        by a child process): work of the caller's that does not depend on it, such as imports.

        Raises:
            InputNotFound: the root does not exist or is not a folder.
        """
        if self.is_local:
            return _list_local_in_child(self.local_root, meanwhile)
        if meanwhile is not None:
            meanwhile()
        return _list_fsspec(self.root)


def source_for(raw: str | Path) -> RawSource:
    text = str(raw)
    if "://" in text and not text.startswith("file://"):
        return RawSource(text.rstrip("/"))
    return RawSource(str(Path(text.removeprefix("file://")).resolve()))


def _list_local_in_child(root: Path, meanwhile: Callable[[], None] | None = None) -> pa.Table:
    """`_list_local`, run in a forked child process that sends the table back as an Arrow
    stream: the child `early.start` forked before the command's imports, or one forked now.
    Walking a million files leaves tens of megabytes of freed-but-fragmented Python objects
    behind; in a child they go when it exits, and this process receives only the Arrow
    buffers. `meanwhile()` runs here while the child walks (it is called after the fork, so a
    thread or lock it takes is not half-copied into the child). Where fork is not available,
    the listing runs here, after `meanwhile()`."""
    from dataset_tools import early

    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", hint="Pass --raw DIR, or create raw/ with the collected files.")
    started = early.take(root)
    if started is None and not hasattr(os, "fork"):
        if meanwhile is not None:
            meanwhile()
        return _list_local(root)
    pid, read_end = started or early.fork_listing(root)
    table = None
    pipe = os.fdopen(read_end, "rb")
    try:
        if meanwhile is not None:
            # The child sends nothing until it has walked and stat'ed every file, so the pipe
            # does not fill (and the child does not wait) while this runs. Its errors are its
            # caller's: they are not taken for a failed listing.
            meanwhile()
        try:
            table = pa.ipc.open_stream(pa.PythonFile(pipe, mode="r")).read_all()
        except (pa.ArrowInvalid, OSError):
            table = None  # the child failed or died (killed, out of memory): list here, where an error can surface
    finally:
        pipe.close()  # a child still sending gets EPIPE and ends
        _, status = os.waitpid(pid, 0)
    if table is None or status != 0:
        return _list_local(root)
    return table


def send_listing(root: Path, write_end: int) -> None:
    """The listing of `root`, sorted, streamed into the pipe `write_end` batch by batch (no
    serialized copy of it in memory); what a listing child runs."""
    from dataset_tools.runtime import skip_pandas

    skip_pandas()  # this child lives only to list: no 0.45 s pandas import for its first table
    with os.fdopen(write_end, "wb") as pipe:
        with pa.ipc.new_stream(pa.PythonFile(pipe, mode="w"), LISTING_SCHEMA) as writer:
            for batch in _sorted_slices(_list_local_unsorted(root)):
                writer.write_batch(batch)


@dataclass(slots=True)
class _Names:
    """Up to _SLICE file names of one folder, packed: their paths relative to the root, end to
    end in one bytes object, and where each begins. Packed, a million names cost tens of
    megabytes, not a Python object each; and forked stat workers read them without touching
    (and so copying) the pages of shared Python objects."""

    folder: bytes  # relative to the root, b"" for the root itself
    data: bytes
    offsets: np.ndarray  # int64, one more than there are names

    @classmethod
    def pack(cls, folder: bytes, names: list[bytes]) -> _Names:
        prefix = folder + b"/" if folder else b""
        paths = [prefix + name for name in names] if prefix else names
        offsets = np.zeros(len(paths) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, paths), np.int64, len(paths)), out=offsets[1:])
        return cls(folder, b"".join(paths), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1


def _list_local(root: Path, workers: int | None = None) -> pa.Table:
    """Every regular file under `root`, with its size and modified time, sorted by path."""
    return pa.Table.from_batches(list(_sorted_slices(_list_local_unsorted(root, workers))), schema=LISTING_SCHEMA)


def _list_local_unsorted(root: Path, workers: int | None = None) -> pa.Table:
    """Every regular file under `root`, with its size and modified time, in walk order.

    The walk reads directory entries only (their type comes with the name); the stat calls,
    which cost most on a large folder, are split between `workers` forked processes (default:
    one per core, for folders of more than _PARALLEL_STAT files). A file that disappears
    between the walk and its stat is not listed: it is no longer an input.
    """
    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", hint="Pass --raw DIR, or create raw/ with the collected files.")
    base = os.fsencode(root)
    groups: list[_Names] = []
    stack = [b""]
    while stack:
        rel = stack.pop()
        names: list[bytes] = []
        with os.scandir(base + b"/" + rel if rel else base) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel + b"/" + entry.name if rel else entry.name)
                elif entry.is_file():
                    names.append(entry.name)
                    if len(names) >= _SLICE:
                        groups.append(_Names.pack(rel, names))
                        names = []
        if names:
            groups.append(_Names.pack(rel, names))
    total = sum(len(group) for group in groups)
    sizes, mtimes = _stat_all(base, groups, total, workers)

    slices: list[pa.Table] = []
    done = 0
    for group in groups:
        count = len(group)
        paths = pa.StringArray.from_buffers(count, pa.py_buffer(group.offsets.astype(np.int32)), pa.py_buffer(group.data))
        try:
            paths.validate(full=True)
        except pa.ArrowInvalid:
            bad = next(n for n in _paths_of(group) if not _is_utf8(n))
            raise BuildFailed(
                f"raw file name is not valid UTF-8: {bad!r}",
                hint="Rename the file; paths are stored as text in the dataset's provenance fields.",
            ) from None
        part = pa.table(
            [paths, _int64_array(sizes[done : done + count]), _int64_array(mtimes[done : done + count])], schema=LISTING_SCHEMA
        )
        done += count
        slices.append(part.filter(pc.greater_equal(part.column("size"), 0)))  # size -1: vanished
    return pa.concat_tables(slices) if slices else LISTING_SCHEMA.empty_table()


def _sorted_slices(table: pa.Table) -> Iterator[pa.RecordBatch]:
    """The rows of `table` sorted by path, _SLICE at a time. A slice's rows are taken chunk by
    chunk and then put in order: Arrow's take on a many-chunked table would concatenate every
    column first (a second copy of a million paths); this holds one slice beside the table."""
    if table.num_rows == 0:
        return
    # By path as bytes (code points), the same order on every machine and locale.
    order = pc.sort_indices(table, [("path", "ascending")]).to_numpy().astype(np.int64)
    batches = [batch for batch in table.to_batches() if batch.num_rows]
    starts = np.cumsum([0] + [batch.num_rows for batch in batches])
    del table
    for first in range(0, len(order), _SLICE):
        rows = order[first : first + _SLICE]
        chunk = np.searchsorted(starts, rows, side="right") - 1
        grouped = np.argsort(chunk, kind="stable")  # the slice's rows, chunk by chunk
        parts = [batches[c].take(pa.array(rows[grouped][chunk[grouped] == c] - starts[c])) for c in np.unique(chunk)]
        position = np.empty(len(rows), np.int64)
        position[grouped] = np.arange(len(rows))  # where each row of the slice is among the parts
        yield pa.Table.from_batches(parts, schema=LISTING_SCHEMA).take(pa.array(position)).combine_chunks().to_batches()[0]
    del batches
    # The table and the sort's indices are freed; hand their pages back (the allocator keeps them otherwise).
    pa.default_memory_pool().release_unused()


def _paths_of(group: _Names) -> Iterator[bytes]:
    for start, stop in zip(group.offsets[:-1], group.offsets[1:]):
        yield group.data[start:stop]


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _int64_array(values: np.ndarray) -> pa.Array:
    # From the buffer: pa.array on a NumPy array would ask pyarrow's pandas shim first.
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(np.ascontiguousarray(values))])


_PARALLEL_STAT = 20_000  # below this many files, forking stat workers costs more than it saves


def _stat_all(base: bytes, groups: list[_Names], total: int, workers: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(size, mtime_ns) of every listed file, in listing order; size -1 where the file vanished."""
    sizes = np.empty(total, np.int64)
    mtimes = np.empty(total, np.int64)
    workers = max(1, min(workers or os.cpu_count() or 1, 8))
    if workers == 1 or total < _PARALLEL_STAT or not hasattr(os, "fork"):
        _stat_range(base, groups, 0, total, sizes, mtimes)
        return sizes, mtimes
    bounds = [total * i // workers for i in range(workers + 1)]
    children = []
    for start, stop in zip(bounds[1:-1], bounds[2:]):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # a stat worker: its share, as raw int64s, down the pipe
            status = 1
            try:
                os.close(read_end)
                _stat_range(base, groups, start, stop, sizes, mtimes)
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(sizes[start:stop].tobytes())
                    pipe.write(mtimes[start:stop].tobytes())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        children.append((pid, read_end, start, stop))
    _stat_range(base, groups, 0, bounds[1], sizes, mtimes)
    for pid, read_end, start, stop in children:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        count = stop - start
        if status == 0 and len(data) == 16 * count:
            sizes[start:stop] = np.frombuffer(data[: 8 * count], np.int64)
            mtimes[start:stop] = np.frombuffer(data[8 * count :], np.int64)
        else:  # the worker failed: its share is done here, where an error can surface
            _stat_range(base, groups, start, stop, sizes, mtimes)
    return sizes, mtimes


def _stat_range(base: bytes, groups: list[_Names], start: int, stop: int, sizes: np.ndarray, mtimes: np.ndarray) -> None:
    """Fill sizes[start:stop] and mtimes[start:stop] (positions in the flattened listing)."""
    position = 0
    for group in groups:
        end = position + len(group)
        if end > start and position < stop:
            fd = os.open(base + b"/" + group.folder if group.folder else base, os.O_RDONLY)
            skip = len(group.folder) + 1 if group.folder else 0
            data, offsets = group.data, group.offsets.tolist()
            try:
                for i in range(max(start, position), min(stop, end)):
                    j = i - position
                    try:
                        st = os.stat(data[offsets[j] + skip : offsets[j + 1]], dir_fd=fd)
                    except FileNotFoundError:
                        sizes[i] = -1
                        continue
                    sizes[i] = st.st_size
                    mtimes[i] = st.st_mtime_ns
            finally:
                os.close(fd)
        position = end
        if position >= stop:
            break


def _list_fsspec(url: str) -> pa.Table:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.isdir(root):
        raise InputNotFound(f"raw folder {url} does not exist", hint="Check the URL and your storage credentials.")
    found = fs.find(root, detail=True)
    base = root.rstrip("/") + "/"
    rows = [
        (name[len(base):], int(info.get("size") or 0), int(_mtime_ns(info)))
        for name, info in found.items()
        if info.get("type") == "file"
    ]
    table = pa.table(
        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]], schema=LISTING_SCHEMA
    )
    return _sorted([table])


def _mtime_ns(info: dict) -> int:
    value = info.get("mtime") or info.get("LastModified") or info.get("updated") or 0
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1e9)
    try:
        return int(float(value) * 1e9)
    except (TypeError, ValueError):
        return 0


def _sorted(slices: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(slices) if slices else pa.Table.from_batches([], schema=LISTING_SCHEMA)
    if table.num_rows == 0:
        return table
    # Sort by path as bytes (code points), the same order on every machine and locale.
    return table.take(pc.sort_indices(table, [("path", "ascending")])).combine_chunks()
