"""Walk and stat a local raw folder, in path order, with the standard library alone.

This is what the listing child runs (`inputs.fork_listing`): a child walks the folder so that
the tens of megabytes of short-lived Python objects a walk of a million files leaves behind go
when it exits. It imports nothing heavy. The parent turns what it receives into an Arrow table
(`inputs`).

Files come out sorted by their path's UTF-8 bytes (the order of code points, the same on every
machine and locale) without sorting the whole listing: the walk visits each folder's entries
in order, a sub-folder sorting as its name followed by "/" (the character every path inside
it has next), so the walk's order is the sorted order of the full paths.

The names are packed: up to SLICE paths of one folder end to end in one bytes object, with
their offsets. A million names then cost tens of megabytes, not a Python object each, and the
forked stat workers read them without touching (and so copying) pages of shared objects.

Every entry of a folder but its sub-folders is listed, whatever it is: an entry that is not a
regular file the build can read (a FIFO, a socket, a device, a link that leads out of the root,
to nothing, round in a loop or to a folder, a folder or file it may not read, a path too long
for the system) has a code in place of its size (see the constants below), and becomes one
reject in the build's report, never an error of the listing. A symbolic link is followed only
when its resolved target is a regular file inside the root (`_resolve_link`); links to folders
are never followed, so the walk stays inside the root.

A build keeps the folders it read in its cache (`save_folders`), and the next one reads again
only the folders whose mtime changed (`Folder.unchanged`): in a folder of 200,000 files the
names were a third of the listing's time. Every file is still stat'ed, which is how an edited
file shows (an edit in place leaves its folder's mtime alone).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import sys
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

from dataset_tools.lifetime import die_with_parent

try:  # the stat loop in C (dataset_tools/_stat.c), built where a C compiler was at install
    from dataset_tools._stat import stat_names
except ImportError:
    stat_names = None

# In place of the size of an entry that is not a readable regular file (`stat_names` in
# _stat.c uses the same values). Its mtime is the entry's own where it could be stat'ed, else 0.
GONE = -1  # gone between the walk and its stat (or a folder now): no entry at all
FIFO = -2
SOCKET = -3
DEVICE = -4  # a character or block device
OTHER = -5  # any other kind of entry that is not a regular file
LINK = -6  # a symbolic link, until `_resolve_link` resolves it (never leaves the stat loop)
BROKEN_LINK = -7  # a link to nothing
LINK_LOOP = -8
LINK_TO_FOLDER = -9
LINK_OUTSIDE = -10  # a link whose target is outside the root: neither stat'ed nor read
BAD_NAME = -11  # a name that is not valid UTF-8 (set by the parent, `inputs._part_table`)
STAT_FAILED = -1000  # minus the errno: a file whose stat failed, or a folder that could not be read

FOLDERS_FILE = "folders.bin"  # in the build cache: the folders the last listing read (`save_folders`)
SLICE = 65_536  # paths per packed group at most (and rows per Arrow slice of the listing)
PARALLEL_STAT = 20_000  # below this many files, forking stat workers costs more than it saves


@dataclass(slots=True)
class Names:
    """Paths of one folder (relative to the root), packed end to end. A group with a `code`
    is one sub-folder that could not be read (its path with a "/" after it): the code is its
    size, and it is not stat'ed."""

    folder: bytes  # relative to the root, b"" for the root itself
    data: bytes
    offsets: array  # 'i' (Arrow's string offsets): where each path begins, and one past the last
    code: int = 0

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


def walk(base: bytes, known: dict[bytes, Folder] | None = None) -> tuple[list[Names], list[Folder], bool]:
    """Every entry under `base` that is not a folder (files, links, FIFOs, ...: `stat_all`
    tells them apart; links to folders are not followed), as packed groups in path order; with
    the folders as read, and whether any was read afresh. A sub-folder that cannot be read is
    an entry of its own (a group with a code). A folder of `known` (a former walk's, see
    `load_folders`) that is unchanged since is not read again (`Folder.unchanged`).

    Raises:
        OSError: `base` itself cannot be read."""
    groups: list[Names] = []
    seen: list[Folder] = []
    fresh = False

    def visit(path: bytes) -> list:
        nonlocal fresh
        folder = _folder(base, path, known.get(path) if known else None)
        fresh = fresh or folder is not (known or {}).get(path)
        seen.append(folder)
        return [folder, 0, 0]  # the folder, its next file, its next sub-folder

    stack = [visit(b"")]
    while stack:
        frame = stack[-1]
        folder, next_file, next_folder = frame
        subs = folder.folders
        # The files before the next sub-folder, then that sub-folder's (or all that are left).
        end = folder.files_before(subs[next_folder], next_file) if next_folder < len(subs) else folder.count
        for start in range(next_file, end, SLICE):
            groups.append(folder.group(start, min(end, start + SLICE)))
        if next_folder < len(subs):
            frame[1], frame[2] = end, next_folder + 1
            name = subs[next_folder][:-1]
            path = folder.path + b"/" + name if folder.path else name
            try:
                stack.append(visit(path))
            except OSError as error:  # the folder is one entry, a reject; the walk goes on
                if error.errno not in (errno.ENOENT, errno.ENOTDIR):  # (else gone since its parent was read)
                    groups.append(Names(folder.path, path + b"/", array("i", [0, len(path) + 1]), STAT_FAILED - (error.errno or errno.EIO)))
        else:
            stack.pop()
    return groups, seen, fresh


RECENT_NS = 3_000_000_000  # a folder changed this close to its reading is read again next time


@dataclass(slots=True)
class Folder:
    """One folder as read: its entries, and what tells whether it changed since (its device,
    inode and mtime, and when it was read)."""

    path: bytes  # relative to the root, b"" for the root itself
    device: int
    inode: int
    mtime_ns: int
    read_ns: int  # the clock just before the folder's stat and reading
    data: bytes  # its files' paths (relative to the root), sorted, end to end
    offsets: array  # 'q': where each path begins, and one past the last
    folders: list[bytes]  # its sub-folders' names with a "/" after each, sorted

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    def unchanged(self, st: os.stat_result) -> bool:
        """Whether the folder, now stat'ed as `st`, still holds the entries read then: creating,
        removing or renaming an entry sets a folder's mtime. Not when its mtime was within
        RECENT_NS of the reading: a change made later within the same clock tick (file systems
        keep coarse times, 2 s on FAT) would leave the mtime as it was (git's "racy" rule)."""
        return (
            (st.st_dev, st.st_ino, st.st_mtime_ns) == (self.device, self.inode, self.mtime_ns)
            and self.mtime_ns < self.read_ns - RECENT_NS
        )

    def name(self, index: int) -> bytes:
        return self.data[self.offsets[index] + (len(self.path) + 1 if self.path else 0) : self.offsets[index + 1]]

    def files_before(self, sub: bytes, start: int) -> int:
        """The index of the first file from `start` on whose name sorts after sub-folder `sub/`."""
        return bisect_left(range(self.count), sub, start, key=self.name)

    def group(self, start: int, stop: int) -> Names:
        offsets = self.offsets[start : stop + 1]
        first = offsets[0]
        return Names(self.path, self.data[first : offsets[-1]], array("i", offsets if not first else [o - first for o in offsets]))


def _folder(base: bytes, path: bytes, known: Folder | None) -> Folder:
    """The folder at `path` under `base`: `known` if it is unchanged since, else read now."""
    read_ns = time.time_ns()
    st = os.stat(base + b"/" + path if path else base)  # before the reading: a change during it shows next time
    if known is not None and known.unchanged(st):
        return known
    files, folders = _entries(base, path)
    paths = [path + b"/" + name for name in files] if path else files
    offsets = array("q", accumulate(map(len, paths), initial=0))
    return Folder(path, st.st_dev, st.st_ino, st.st_mtime_ns, read_ns, b"".join(paths), offsets, folders)


def _entries(base: bytes, folder: bytes) -> tuple[list[bytes], list[bytes]]:
    """A folder's entries other than sub-folders (files, links to whatever, FIFOs, ...), and
    its sub-folders' names with a "/" after each, both sorted."""
    files: list[bytes] = []
    folders: list[bytes] = []
    with os.scandir(base + b"/" + folder if folder else base) as found:
        for entry in found:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name + b"/")
            else:
                # What it is, `_stat_range` finds out: a link's target can change without its
                # folder changing.
                files.append(entry.name)
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
    parent = os.getpid()
    for start, stop in zip(bounds[1:-1], bounds[2:]):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # a stat worker: its share, as raw int64s, down the pipe
            status = 1
            try:
                die_with_parent(parent)
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
    """Fill sizes[start:stop] and mtimes[start:stop] (positions in the flattened listing): in C
    where the package's `_stat` module was built, else in Python, with the same results. An
    entry that is not a regular file gets a code in place of its size (see GONE and the codes
    after it), a link its target's size and mtime where `_resolve_link` follows it."""
    position = 0
    limits = None
    for group in groups:
        end = position + len(group)
        if end > start and position < stop:
            first, last = max(start, position), min(stop, end)
            if group.code:
                sizes[first:last] = array("q", [group.code]) * (last - first)
                mtimes[first:last] = array("q", [0]) * (last - first)
                position = end
                continue
            try:
                fd = os.open(base + b"/" + group.folder if group.folder else base, _FOLDER_FLAGS)
            except OSError as error:
                # The folder is gone since the walk (or is a link now: walked as one next time),
                # and its files with it; or it cannot be opened, nor its files stat'ed.
                gone = error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
                sizes[first:last] = array("q", [GONE if gone else STAT_FAILED - (error.errno or errno.EIO)]) * (last - first)
                mtimes[first:last] = array("q", [0]) * (last - first)
                position = end
                continue
            skip = len(group.folder) + 1 if group.folder else 0
            try:
                if stat_names is not None:
                    links = stat_names(fd, group.data, group.offsets, skip, first - position, last - first, sizes, mtimes, first)
                else:
                    links = _stat_group(fd, group, skip, position, first, last, sizes, mtimes)
            finally:
                os.close(fd)
            if links:
                root = os.path.realpath(base)
                for i in range(first, last):
                    if sizes[i] == LINK:
                        j = i - position
                        sizes[i], mtimes[i] = _resolve_link(root, base + b"/" + group.data[group.offsets[j] : group.offsets[j + 1]], mtimes[i])
            limits = limits or _path_limits(base)
            if len(base) + len(group.folder) + 2 + limits[1] >= limits[0]:  # a name of this folder may make a path too long
                for i in range(first, last):
                    j = i - position
                    if len(base) + 1 + group.offsets[j + 1] - group.offsets[j] >= limits[0] and sizes[i] != GONE:
                        sizes[i], mtimes[i] = STAT_FAILED - errno.ENAMETOOLONG, 0
        position = end
        if position >= stop:
            break


_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _path_limits(base: bytes) -> tuple[int, int]:
    """(PATH_MAX, NAME_MAX) of the file system of `base`: a path of PATH_MAX bytes or more
    cannot be opened by its name (the build reads a file by its path)."""
    try:
        return os.pathconf(base, "PC_PATH_MAX"), os.pathconf(base, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 4096, 255


def _stat_group(fd: int, group: Names, skip: int, position: int, first: int, last: int, sizes: array, mtimes: array) -> int:
    """`stat_names` in Python, for one group: its files at listing positions first..last-1.
    Returns the number of links found."""
    lstat = os.lstat
    data, offsets = group.data, group.offsets
    links = 0
    for i in range(first, last):
        j = i - position
        try:
            st = lstat(data[offsets[j] + skip : offsets[j + 1]], dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError):  # gone since the walk
            sizes[i], mtimes[i] = GONE, 0
            continue
        except OSError as error:
            sizes[i], mtimes[i] = STAT_FAILED - (error.errno or errno.EIO), 0
            continue
        mtimes[i] = st.st_mtime_ns
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), OTHER)
        sizes[i] = st.st_size if kind is None else kind
        links += kind == LINK
    return links


# An entry's kind (its st_mode's type bits) -> its code (None: a regular file, which has its size).
_KINDS = {
    stat.S_IFREG: None,
    stat.S_IFLNK: LINK,
    stat.S_IFDIR: GONE,  # a folder made since the walk: walked next time
    stat.S_IFIFO: FIFO,
    stat.S_IFSOCK: SOCKET,
    stat.S_IFCHR: DEVICE,
    stat.S_IFBLK: DEVICE,
}


def _resolve_link(root: bytes, path: bytes, mtime: int) -> tuple[int, int]:
    """(size, mtime) of the link at `path` (under `root`, a resolved folder): its target's, when
    that is a regular file inside `root`; else a code and the link's own `mtime`. A target
    outside the root is not stat'ed: the build neither reads nor describes what is outside."""
    target = os.path.realpath(path)  # every link on the way resolved; a loop is left as it is
    if target == root:
        return LINK_TO_FOLDER, mtime
    if not target.startswith(root + b"/"):
        return LINK_OUTSIDE, mtime
    try:
        st = os.stat(target)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return BROKEN_LINK, mtime
        return (LINK_LOOP if error.errno == errno.ELOOP else STAT_FAILED - (error.errno or errno.EIO)), mtime
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), OTHER)
    if kind is None:
        return st.st_size, st.st_mtime_ns
    return (LINK_TO_FOLDER if kind == GONE else kind), mtime


def list_parts(base: bytes, workers: int | None = None) -> Iterator[Part]:
    """The listing of `base`, a group at a time, in path order."""
    groups, _, _ = walk(base)
    return _parts(base, groups, workers)


def _parts(base: bytes, groups: list[Names], workers: int | None = None) -> Iterator[Part]:
    sizes, mtimes = stat_all(base, groups, workers)
    done = 0
    for group in groups:
        count = len(group)
        yield Part(group.data, group.offsets.tobytes(), sizes[done : done + count].tobytes(), mtimes[done : done + count].tobytes())
        done += count


HEADER = struct.Struct("<4q")  # the byte lengths of a part's data, offsets, sizes and mtimes
END = (-1, -1, -1, -1)  # the header that ends a listing


def send(base: bytes, pipe: BinaryIO, folders_file: str | None = None) -> None:
    """The listing of `base` down `pipe`: per group, a HEADER and its four byte strings; then
    the END header (so the parent can tell a finished listing from a child that died half-way).

    With `folders_file`, the folders read by the last listing that saved there and unchanged
    since are not read again, and the folders are saved there for the next one when any was
    read afresh (a large folder's names are most of the walk's time; its files are stat'ed
    all the same, which is how an edited file shows)."""
    known = load_folders(folders_file, base) if folders_file else None
    groups, folders, fresh = walk(base, known)
    for part in _parts(base, groups):
        fields = (part.data, part.offsets, part.sizes, part.mtimes)
        pipe.write(HEADER.pack(*map(len, fields)))
        for field in fields:
            pipe.write(field)
    pipe.write(HEADER.pack(*END))
    pipe.flush()
    if folders_file and (fresh or len(folders) != len(known or ())):
        save_folders(folders_file, base, folders)


# 2: every entry that is not a folder (not only files and links)
FOLDERS_MAGIC = b"dataset-tools folders 2 " + sys.byteorder.encode() + b"\n"
FOLDER_HEAD = struct.Struct("<8q")  # path, data and sub-folder name bytes; files; device, inode, mtime, read time


def save_folders(path: str, base: bytes, folders: list[Folder]) -> None:
    """Save the folders of a walk of `base` for `load_folders`: via a temporary file, so a
    reader sees the old file or the new one. A cache: failing to write it is no error."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(FOLDERS_MAGIC + struct.pack("<q", len(base)) + base)
            for folder in folders:
                names = b"\0".join(folder.folders)
                out.write(FOLDER_HEAD.pack(len(folder.path), len(folder.data), len(names), folder.count, folder.device, folder.inode, folder.mtime_ns, folder.read_ns))
                out.write(folder.path)
                out.write(folder.data)
                out.write(folder.offsets.tobytes())
                out.write(names)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load_folders(path: str, base: bytes) -> dict[bytes, Folder] | None:
    """The folders `save_folders` saved for `base`, by path; None when there are none (no
    file, another root, a damaged file)."""
    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError:
        return None
    head = FOLDERS_MAGIC + struct.pack("<q", len(base)) + base
    if not data.startswith(head):
        return None
    folders: dict[bytes, Folder] = {}
    at = len(head)
    try:
        while at < len(data):
            path_bytes, data_bytes, names_bytes, count, device, inode, mtime_ns, read_ns = FOLDER_HEAD.unpack_from(data, at)
            at += FOLDER_HEAD.size
            sizes = (path_bytes, data_bytes, 8 * (count + 1), names_bytes)
            if min(sizes) < 0 or at + sum(sizes) > len(data):
                return None
            folder_path = data[at : at + path_bytes]
            at += path_bytes
            packed = data[at : at + data_bytes]
            at += data_bytes
            offsets = array("q")
            offsets.frombytes(data[at : at + 8 * (count + 1)])
            at += 8 * (count + 1)
            names = data[at : at + names_bytes]
            at += names_bytes
            if offsets[0] != 0 or offsets[-1] != data_bytes:
                return None
            folders[folder_path] = Folder(folder_path, device, inode, mtime_ns, read_ns, packed, offsets, names.split(b"\0") if names else [])
    except struct.error:
        return None
    return folders
