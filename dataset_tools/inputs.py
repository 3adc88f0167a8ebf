"""Where raw files come from: a local folder today, any fsspec URL (`s3://`, `gs://`, `hf://`,
`file://`) through the same two calls.

The listing is an Arrow table (path, size, mtime_ns) sorted by path, built in slices, so a
folder of millions of files costs a few tens of bytes per file, not a Python object each.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools import listing
from dataset_tools.errors import BuildFailed, InputNotFound

LISTING_SCHEMA = pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64())])


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

    def list(self, folders_file: str | None = None, meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> pa.Table:
        """Every regular file under the root (recursively, hidden files included), sorted by path.

        `meanwhile(listed)`, if given, is called once while the listing runs (a local folder is
        listed by a child process): work of the caller's that does not depend on it, such as
        starting a cluster. `listed()` tells whether the listing is ready (work that would only
        fill the wait can stop then); it is True from the start where nothing runs meanwhile. `folders_file` (in a build cache) keeps a local folder's walk for the next listing,
        which then reads again only the folders that changed (`listing.send`).

        Raises:
            InputNotFound: the root does not exist or is not a folder.
        """
        if self.is_local:
            return _list_local_in_child(self.local_root, folders_file, meanwhile)
        if meanwhile is not None:
            meanwhile(lambda: True)
        return _list_fsspec(self.root)


def source_for(raw: str | Path) -> RawSource:
    text = str(raw)
    if "://" in text and not text.startswith("file://"):
        return RawSource(text.rstrip("/"))
    return RawSource(str(Path(text.removeprefix("file://")).resolve()))


def _list_local_in_child(root: Path, folders_file: str | None = None, meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> pa.Table:
    """`_list_local`, walked and stat'ed by a forked child process (`listing`, which imports
    nothing heavy) that sends the packed names and stats down a pipe. Walking a million files
    leaves tens of megabytes of freed-but-fragmented Python objects behind; in a child they go
    when it exits. `meanwhile(listed)` runs here while the child lists (it is called after the
    fork, so a thread or lock it takes is not half-copied into the child). Where fork is not
    available, the listing runs here, after `meanwhile`."""
    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", path=root, hint="Pass --raw DIR, or create raw/ with the collected files.")
    if not hasattr(os, "fork"):
        if meanwhile is not None:
            meanwhile(lambda: True)
        return _list_local(root)
    pid, read_end = fork_listing(root, folders_file)
    table = None
    pipe = os.fdopen(read_end, "rb")
    try:
        if meanwhile is not None:
            # The child sends nothing until it has walked and stat'ed every file, so the pipe
            # does not fill (and the child does not wait) while this runs. Its errors are its
            # caller's: they are not taken for a failed listing.
            meanwhile(lambda: bool(select.select([read_end], [], [], 0)[0]))  # sent, or the child ended
        try:
            table = _listing_table(_receive(pipe))
        except (EOFError, OSError):
            table = None  # the child failed or died (killed, out of memory): list here, where an error can surface
    finally:
        pipe.close()  # a child still sending gets EPIPE and ends
        _, status = os.waitpid(pid, 0)
    if table is None or status != 0:
        return _list_local(root)
    return table


def fork_listing(root: Path, folders_file: str | None = None) -> tuple[int, int]:
    """Fork a child that sends the listing of `root` down a pipe (`listing.send`, with the
    build cache's `folders_file`); returns (its pid, the pipe's read end). The child exits with
    0 once everything is sent, 1 on any error (the parent then lists the folder itself, where
    the error can surface)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                listing.send(os.fsencode(root), pipe, folders_file)
            status = 0
        except BaseException:
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _receive(pipe: BinaryIO) -> Iterator[listing.Part]:
    """What `listing.send` sent, a part at a time, read straight into Arrow buffers: Arrow's
    allocator hands them back to the system once freed, where Python bytes objects of this
    size would leave the heap fragmented (17 MB kept after the listing of a million files).

    Raises:
        EOFError: the sender stopped before the end.
    """
    while True:
        header = pipe.read(listing.HEADER.size)
        if len(header) < listing.HEADER.size:
            raise EOFError("the listing ended early")
        lengths = listing.HEADER.unpack(header)
        if lengths == listing.END:
            return
        fields = []
        for length in lengths:
            buffer = pa.allocate_buffer(length)
            view = memoryview(buffer).cast("B")
            done = 0
            while done < length:
                count = pipe.readinto(view[done:])
                if not count:
                    raise EOFError("the listing ended early")
                done += count
            fields.append(buffer)
        yield listing.Part(*fields)


def _list_local(root: Path, workers: int | None = None) -> pa.Table:
    """Every regular file under `root`, with its size and modified time, sorted by path (in
    this process; the stat calls split between `workers` forked processes)."""
    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", path=root, hint="Pass --raw DIR, or create raw/ with the collected files.")
    return _listing_table(listing.list_parts(os.fsencode(root), workers))


def _listing_table(parts: Iterable[listing.Part]) -> pa.Table:
    """The listing's parts (in path order) as one table, in slices of at least `listing.SLICE` rows
    (the last one excepted): a folder of a few files is a part of its own."""
    slices: list[pa.Table] = []
    pending: list[pa.Table] = []
    rows = 0
    for part in parts:
        table = _part_table(part)
        pending.append(table)
        rows += table.num_rows
        if rows >= listing.SLICE:
            slices.append(pa.concat_tables(pending).combine_chunks())
            pending, rows = [], 0
    if rows:
        slices.append(pa.concat_tables(pending).combine_chunks())
    return pa.concat_tables(slices) if slices else LISTING_SCHEMA.empty_table()


def _part_table(part: listing.Part) -> pa.Table:
    count = len(part.offsets) // 4 - 1
    paths = pa.StringArray.from_buffers(count, pa.py_buffer(part.offsets), pa.py_buffer(part.data))
    try:
        paths.validate(full=True)
    except pa.ArrowInvalid:
        offsets, data = np.frombuffer(part.offsets, np.int32).tolist(), bytes(part.data)
        bad = next(n for n in (data[a:b] for a, b in zip(offsets[:-1], offsets[1:])) if not _is_utf8(n))
        raise BuildFailed(
            f"raw file name is not valid UTF-8: {bad!r}",
            hint="Rename the file; paths are stored as text in the dataset's provenance fields.",
        ) from None
    sizes = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(part.sizes)])
    mtimes = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(part.mtimes)])
    table = pa.table([paths, sizes, mtimes], schema=LISTING_SCHEMA)
    if count and pc.min(sizes).as_py() < 0:  # size -1: the file vanished between the walk and its stat
        table = table.filter(pc.greater_equal(sizes, 0))
    return table


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _list_fsspec(url: str) -> pa.Table:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.isdir(root):
        raise InputNotFound(f"raw folder {url} does not exist", path=url, hint="Check the URL and your storage credentials.")
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
