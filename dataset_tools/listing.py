"""Walk and stat a local raw folder, in path order, with the standard library alone.

This is what the listing child runs (`early.fork_listing`), as the first thing a `build`
does: it imports nothing heavy, so the folder is walked while the parent imports pyarrow and
the CLI (importing pyarrow here too took a quarter of a second of a core that the parent's
imports needed). The parent turns what it receives into an Arrow table (`inputs`).

Files come out sorted by their path's UTF-8 bytes (the order of code points, the same on every
machine and locale) without sorting the whole listing: the walk visits each folder's entries
in order, a sub-folder sorting as its name followed by "/" (the character every path inside
it has next), so the walk's order is the sorted order of the full paths.

The names are packed: up to SLICE paths of one folder end to end in one bytes object, with
their offsets. A million names then cost tens of megabytes, not a Python object each, and the
forked stat workers read them without touching (and so copying) pages of shared objects.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

SLICE = 65_536  # paths per packed group at most (and rows per Arrow slice of the listing)
PARALLEL_STAT = 20_000  # below this many files, forking stat workers costs more than it saves


@dataclass(slots=True)
class Names:
    """Paths of one folder (relative to the root), packed end to end."""

    folder: bytes  # relative to the root, b"" for the root itself
    data: bytes
    offsets: array  # 'i' (Arrow's string offsets): where each path begins, and one past the last

    @classmethod
    def pack(cls, folder: bytes, names: list[bytes]) -> Names:
        paths = [folder + b"/" + name for name in names] if folder else names
        return cls(folder, b"".join(paths), array("i", accumulate(map(len, paths), initial=0)))

    def __len__(self) -> int:
        return len(self.offsets) - 1


@dataclass(slots=True)
class Part:
    """A listed group, as sent to the parent: paths packed as in `Names` (offsets as int32
    bytes), and each file's size (-1 where it vanished before its stat) and mtime, as int64
    bytes. Any object with the buffer protocol will do for each (the parent reads them into
    Arrow buffers)."""

    data: bytes
    offsets: bytes
    sizes: bytes
    mtimes: bytes


def walk(base: bytes) -> list[Names]:
    """Every regular file under `base` (links to files included, links to folders not
    followed), as packed groups in path order."""
    groups: list[Names] = []
    # Per folder being walked: [its path, its files, its sub-folders, next file, next sub-folder].
    stack = [[b"", *_entries(base, b""), 0, 0]]
    while stack:
        frame = stack[-1]
        folder, files, folders, next_file, next_folder = frame
        # The files before the next sub-folder, then that sub-folder's (or all that are left).
        end = bisect_left(files, folders[next_folder], next_file) if next_folder < len(folders) else len(files)
        for start in range(next_file, end, SLICE):
            groups.append(Names.pack(folder, files[start : min(end, start + SLICE)]))
        if next_folder < len(folders):
            frame[3], frame[4] = end, next_folder + 1
            name = folders[next_folder][:-1]
            sub = folder + b"/" + name if folder else name
            stack.append([sub, *_entries(base, sub), 0, 0])
        else:
            stack.pop()
    return groups


def _entries(base: bytes, folder: bytes) -> tuple[list[bytes], list[bytes]]:
    """A folder's file names, and its sub-folders' names with a "/" after each, both sorted."""
    files: list[bytes] = []
    folders: list[bytes] = []
    with os.scandir(base + b"/" + folder if folder else base) as found:
        for entry in found:
            if entry.is_file():  # follows a link: a link to a file is a file
                files.append(entry.name)
            elif entry.is_dir(follow_symlinks=False):
                folders.append(entry.name + b"/")
    files.sort()
    folders.sort()
    return files, folders


def stat_all(base: bytes, groups: list[Names], workers: int | None = None) -> tuple[array, array]:
    """(size, mtime_ns) of every file of `groups`, in order, as 'q' arrays; size -1 where the
    file vanished. The stat calls, most of a large folder's listing, are split between
    `workers` forked processes (default: one per core, for more than PARALLEL_STAT files)."""
    total = sum(len(group) for group in groups)
    sizes = array("q", bytes(8 * total))
    mtimes = array("q", bytes(8 * total))
    workers = max(1, min(workers or os.cpu_count() or 1, 8))
    if workers == 1 or total < PARALLEL_STAT or not hasattr(os, "fork"):
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
            sizes[start:stop] = array("q", data[: 8 * count])
            mtimes[start:stop] = array("q", data[8 * count :])
        else:  # the worker failed: its share is done here, where an error can surface
            _stat_range(base, groups, start, stop, sizes, mtimes)
    return sizes, mtimes


def _stat_range(base: bytes, groups: list[Names], start: int, stop: int, sizes: array, mtimes: array) -> None:
    """Fill sizes[start:stop] and mtimes[start:stop] (positions in the flattened listing)."""
    stat = os.stat
    position = 0
    for group in groups:
        end = position + len(group)
        if end > start and position < stop:
            fd = os.open(base + b"/" + group.folder if group.folder else base, os.O_RDONLY)
            skip = len(group.folder) + 1 if group.folder else 0
            data, offsets = group.data, group.offsets
            try:
                for i in range(max(start, position), min(stop, end)):
                    j = i - position
                    try:
                        st = stat(data[offsets[j] + skip : offsets[j + 1]], dir_fd=fd)
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


def list_parts(base: bytes, workers: int | None = None) -> Iterator[Part]:
    """The listing of `base`, a group at a time, in path order."""
    groups = walk(base)
    sizes, mtimes = stat_all(base, groups, workers)
    done = 0
    for group in groups:
        count = len(group)
        yield Part(group.data, group.offsets.tobytes(), sizes[done : done + count].tobytes(), mtimes[done : done + count].tobytes())
        done += count


HEADER = struct.Struct("<4q")  # the byte lengths of a part's data, offsets, sizes and mtimes
END = (-1, -1, -1, -1)  # the header that ends a listing


def send(base: bytes, pipe: BinaryIO) -> None:
    """The listing of `base` down `pipe`: per group, a HEADER and its four byte strings; then
    the END header (so the parent can tell a finished listing from a child that died half-way)."""
    for part in list_parts(base):
        fields = (part.data, part.offsets, part.sizes, part.mtimes)
        pipe.write(HEADER.pack(*map(len, fields)))
        for field in fields:
            pipe.write(field)
    pipe.write(HEADER.pack(*END))
