"""Where raw files come from: a local folder today, any fsspec URL (`s3://`, `gs://`, `hf://`,
`file://`) through the same two calls.

The listing is an Arrow table (path, size, mtime_ns) sorted by path, built in slices, so a
folder of millions of files costs a few tens of bytes per file, not a Python object each.

What a local raw folder may hold, and what the build reads of it:
- regular files, read by their path, never more than the size limit and one byte (`RawSource.read`);
- symbolic links: read only when the link resolves to a regular file inside the raw folder
  (a link between two of its files); a link out of the folder, to nothing, in a loop or to a
  folder is neither followed nor described beyond what it is;
- anything else (a FIFO, a socket, a device, a file or folder it may not read, a path longer
  than the system allows, a name that is not UTF-8) is listed with a code in place of its size
  (see `listing`): the build makes it one reject (`entry_reject`) and goes on.
A name that is not UTF-8 is shown escaped (`shown_name`). The folder is taken as it is while
the build runs: a folder swapped for a link during a build is not guarded against.
"""

from __future__ import annotations

import errno
import os
import select
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools import lifetime, listing
from dataset_tools.errors import InputNotFound, NotARegularFile

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

    def read(self, path: str, limit: int | None = None, size: int = -1) -> bytes:
        """The bytes of the file at `path` (relative, '/'-separated): at most `limit` + 1 of them,
        so that a file over `limit` shows as such however large it is (or has grown since it
        was listed) without being read whole. `size`, the listing's, lets a local file be read
        in one system call.

        A local path is opened with O_NOFOLLOW and O_NONBLOCK: a symbolic link is followed only
        to a regular file inside the root (as the listing does), a FIFO is never waited on. What
        else the path is was checked by the listing; without `size`, it is checked here too.

        Raises:
            NotARegularFile: the path is no regular file inside the root (any more).
            OSError: the file cannot be read.
        """
        cap = None if limit is None else limit + 1
        if self.is_local:
            # os.open/os.read on a plain string path: this runs once per raw file, and
            # pathlib and buffered file objects cost more than the read itself.
            fd, size = _open_regular(self.root.removeprefix("file://"), path, size)
            try:
                data = os.read(fd, size + 1 if cap is None else min(size + 1, cap))
                if len(data) == size or (cap is not None and len(data) >= cap):
                    return data  # the whole file, as listed; or enough to tell it is over the limit
                parts = [data]
                done = len(data)
                while data and (cap is None or done < cap):  # the file changed since it was listed
                    data = os.read(fd, 1 << 20 if cap is None else min(1 << 20, cap - done))
                    parts.append(data)
                    done += len(data)
                return b"".join(parts)
            finally:
                os.close(fd)
        import fsspec

        with fsspec.open(f"{self.root.rstrip('/')}/{path}", "rb") as handle:
            return handle.read(-1 if cap is None else cap)

    def list(self, folders_file: str | None = None, meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> pa.Table:
        """Every entry under the root but its folders (recursively, hidden files included),
        sorted by path: regular files with their size, other entries with a code in its place
        (see the module's docstring).

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


_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_regular(root: str, path: str, size: int = -1) -> tuple[int, int]:
    """(a file descriptor, the size) of the file at `path` under `root`. A symbolic link is
    followed only when its resolved target is a regular file inside `root`; O_NONBLOCK keeps
    the open of a FIFO (made since the listing) from waiting for a writer. A link, or a path
    whose `size` is not known, is fstat'ed: a regular file, or an error. (A plain path whose
    size the listing gave was an lstat'ed regular file: a fstat more per file, a twentieth of
    the read's time, would only guard against a file replaced since by a FIFO or a device,
    which O_NONBLOCK and the read's limit already make harmless.)

    Raises:
        NotARegularFile: it is something else (or a link to something else).
        OSError: it cannot be opened.
    """
    full = f"{root}/{path}"
    linked = False
    try:
        fd = os.open(full, _FILE_FLAGS)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.EMLINK):  # (O_NOFOLLOW's errors for a link)
            raise
        real_root = os.path.realpath(root)
        target = os.path.realpath(full)
        if target == real_root:
            raise NotARegularFile(listing.LINK_TO_FOLDER) from None
        if not target.startswith(real_root + "/"):
            raise NotARegularFile(listing.LINK_OUTSIDE) from None
        try:
            fd = os.open(target, _FILE_FLAGS)
        except OSError as again:
            if again.errno in (errno.ENOENT, errno.ENOTDIR):
                raise NotARegularFile(listing.BROKEN_LINK) from None
            if again.errno in (errno.ELOOP, errno.EMLINK):
                raise NotARegularFile(listing.LINK_LOOP) from None
            raise
        linked = True
    if size >= 0 and not linked:
        return fd, size
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotARegularFile(listing.LINK_TO_FOLDER if linked and stat.S_ISDIR(st.st_mode) else listing.FIFO if stat.S_ISFIFO(st.st_mode) else listing.OTHER)
    return fd, st.st_size


# The reject of a listed entry that is not a readable regular file, by its code (see `listing`):
# (reason, detail). Nothing behind a link is described, nor any content quoted.
_ENTRY_REJECTS: dict[int, tuple[str, str]] = {
    listing.FIFO: ("special-file", "a FIFO (named pipe), not a regular file: not opened"),
    listing.SOCKET: ("special-file", "a socket, not a regular file: not opened"),
    listing.DEVICE: ("special-file", "a device, not a regular file: not opened"),
    listing.OTHER: ("special-file", "not a regular file: not opened"),
    listing.BROKEN_LINK: ("broken-link", "a symbolic link to nothing"),
    listing.LINK_LOOP: ("broken-link", "a symbolic link in a loop"),
    listing.LINK_TO_FOLDER: ("link-to-folder", "a symbolic link to a folder: not followed"),
    listing.LINK_OUTSIDE: ("link-outside-raw", "a symbolic link to a path outside the raw folder: not followed"),
    listing.BAD_NAME: (
        "name-not-utf8",
        "the file name is not valid UTF-8 (shown with each byte that is not as \\xNN, and backslashes doubled): not read; rename it",
    ),
}


def entry_reject(path: str, code: int) -> tuple[str, str]:
    """(reason, detail) of the listed entry at `path` whose listing code (in place of its
    size) is `code`. A path ending in "/" is a folder."""
    if code in _ENTRY_REJECTS:
        return _ENTRY_REJECTS[code]
    error = listing.STAT_FAILED - code
    folder = path.endswith("/")
    if error == errno.ENAMETOOLONG:
        return "path-too-long", "the path is longer than the system allows (PATH_MAX): " + ("the folder is not read" if folder else "not read")
    return "unreadable", (f"folder cannot be read, nor its files listed: {os.strerror(error)}" if folder else f"cannot stat file: {os.strerror(error)}")


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
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            lifetime.die_with_parent(parent)
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
    """Every entry under `root` (see `RawSource.list`), with its size and modified time, sorted by path (in
    this process; the stat calls split between `workers` forked processes)."""
    if not root.is_dir():
        raise InputNotFound(f"raw folder {root} does not exist", path=root, hint="Pass --raw DIR, or create raw/ with the collected files.")
    return _listing_table(listing.list_parts(os.fsencode(root), workers))


def _listing_table(parts: Iterable[listing.Part]) -> pa.Table:
    """The listing's parts (in path order) as one table, in slices of at least `listing.SLICE` rows
    (the last one excepted): a folder of a few files is a part of its own. Where a name was not
    UTF-8 (and is shown escaped: `_part_table`), the table is sorted again by its paths as text."""
    slices: list[pa.Table] = []
    pending: list[pa.Table] = []
    rows = 0
    renamed = False
    for part in parts:
        table, escaped = _part_table(part)
        renamed = renamed or escaped
        pending.append(table)
        rows += table.num_rows
        if rows >= listing.SLICE:
            slices.append(pa.concat_tables(pending).combine_chunks())
            pending, rows = [], 0
    if rows:
        slices.append(pa.concat_tables(pending).combine_chunks())
    if renamed:
        return _unique_paths(_sorted(slices))
    return pa.concat_tables(slices) if slices else LISTING_SCHEMA.empty_table()


def _part_table(part: listing.Part) -> tuple[pa.Table, bool]:
    """A part as a table, without the entries gone since the walk; and whether a name in it was
    not UTF-8 (it is then shown escaped, `shown_name`, with the code BAD_NAME for its size)."""
    count = len(part.offsets) // 4 - 1
    paths = pa.StringArray.from_buffers(count, pa.py_buffer(part.offsets), pa.py_buffer(part.data))
    sizes = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(part.sizes)])
    escaped = False
    try:
        paths.validate(full=True)
    except pa.ArrowInvalid:
        offsets, data = np.frombuffer(part.offsets, np.int32).tolist(), bytes(part.data)
        names = [data[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        shown = [shown_name(name) for name in names]
        paths = pa.array(shown, pa.string())
        sizes = pa.array(
            [size if size == listing.GONE or name == text.encode() else listing.BAD_NAME for name, text, size in zip(names, shown, sizes.to_pylist())],
            pa.int64(),
        )
        escaped = True
    mtimes = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(part.mtimes)])
    table = pa.table([paths, sizes, mtimes], schema=LISTING_SCHEMA)
    if count and pc.min(sizes).as_py() < 0:
        table = table.filter(pc.not_equal(sizes, listing.GONE))  # gone between the walk and its stat: no input
    return table, escaped


def shown_name(name: bytes) -> str:
    """A path as text: itself when it is UTF-8; else its backslashes doubled and each byte that
    is not UTF-8 written as `\\xNN` (so that different names show differently, and the bytes
    can be told from the text)."""
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        return name.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def _unique_paths(table: pa.Table) -> pa.Table:
    """`table` (sorted by path) where an escaped name that shows as another entry's name gets a
    mark after it: every input has a path of its own in the report."""
    if pc.count_distinct(table.column("path")).as_py() == table.num_rows:
        return table
    paths = table.column("path").to_pylist()
    sizes = table.column("size").to_pylist()
    counts = Counter(paths)
    taken = set(paths)
    for i, (path, size) in enumerate(zip(paths, sizes)):
        if size == listing.BAD_NAME and counts[path] > 1:
            while path in taken:
                path += " (not UTF-8)"
            taken.add(path)
            paths[i] = path
    return _sorted([table.set_column(0, "path", pa.array(paths, pa.string()))])


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
