"""Where raw files come from: a local folder today, any fsspec URL (`s3://`, `gs://`, `hf://`,
`file://`) through the same two calls.

The listing is an Arrow table (path, size, mtime_ns) sorted by path, built in slices, so a
folder of millions of files costs a few tens of bytes per file, not a Python object each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.errors import InputNotFound

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

    def list(self) -> pa.Table:
        """Every regular file under the root (recursively, hidden files included), sorted by path.

        Raises:
            InputNotFound: the root does not exist or is not a folder.
        """
        if self.is_local:
            return _list_local_in_child(self.local_root)
        return _list_fsspec(self.root)


def source_for(raw: str | Path) -> RawSource:
    text = str(raw)
    if "://" in text and not text.startswith("file://"):
        return RawSource(text.rstrip("/"))
    return RawSource(str(Path(text.removeprefix("file://")).resolve()))


def _list_local_in_child(root: Path) -> pa.Table:
    """`_list_local`, run in a forked child process that sends the table back as an Arrow
    stream. Walking a million files leaves tens of megabytes of freed-but-fragmented Python
    objects behind; in a child they go when it exits, and this process receives only the
    Arrow buffers. Where fork is not available, the listing runs here."""
    import multiprocessing

    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", hint="Pass --raw DIR, or create raw/ with the collected files.")
    if "fork" not in multiprocessing.get_all_start_methods():
        return _list_local(root)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_send_listing, args=(root, sender), daemon=True)
    child.start()
    sender.close()
    try:
        data = receiver.recv_bytes()
    except EOFError:
        data = None  # the child died (killed, out of memory): list here, where an error can surface
    finally:
        receiver.close()
        child.join()
    if not data:
        return _list_local(root)
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _send_listing(root: Path, sender) -> None:
    try:
        table = _list_local(root)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        sender.send_bytes(sink.getvalue())
    except BaseException:
        sender.send_bytes(b"")  # the parent lists again itself and reports the error
    finally:
        sender.close()


def _list_local(root: Path) -> pa.Table:
    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", hint="Pass --raw DIR, or create raw/ with the collected files.")
    slices: list[pa.Table] = []
    paths: list[str] = []
    sizes: list[int] = []
    mtimes: list[int] = []
    stack = [str(root)]
    prefix = len(str(root)) + 1

    def flush() -> None:
        if paths:
            slices.append(pa.table([paths[:], sizes[:], mtimes[:]], schema=LISTING_SCHEMA))
            paths.clear(), sizes.clear(), mtimes.clear()

    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    stat = entry.stat()
                    rel = entry.path[prefix:]
                    paths.append(rel if os.sep == "/" else rel.replace(os.sep, "/"))
                    sizes.append(stat.st_size)
                    mtimes.append(stat.st_mtime_ns)
                    if len(paths) >= _SLICE:
                        flush()
    flush()
    table = _sorted(slices)
    # The slices and the sort's copies are freed; hand their pages back (the allocator keeps them otherwise).
    pa.default_memory_pool().release_unused()
    return table


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
