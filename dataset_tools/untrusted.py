"""Reading a folder we did not write, as `validate` and `publish` do: a built folder anyone may
have edited, or a Hub revision someone else pushed.

- `Inventory.of(folder)` lists every entry by lstat, without following a link or opening
  anything: the regular files, and the rest (links, FIFOs, sockets, devices, unreadable
  folders) by kind. Paths named in the folder's own files are matched against it, never
  against the disk.
- `relative_path(text)` accepts a path named inside the folder (a manifest entry, a resource
  path, a card pattern) only in plain relative form: not absolute, no `..`, no URL.
- `open_regular(folder, rel)` opens a regular file inside the folder one component at a time
  with O_NOFOLLOW, so a link put in place after the inventory is refused too, and with
  O_NONBLOCK, so a FIFO swapped in cannot hang the caller.
- `read_json(folder, rel)` reads a JSON document with a bound on its size and nesting depth.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import orjson

from dataset_tools.errors import FileTooLarge, JsonTooDeep, NotRegularFile, UnsafePath

# Metadata files (manifest head, report head, card, Croissant, Data Package) are read whole into
# memory; a build's are kilobytes to a few megabytes.
MAX_METADATA_BYTES = 64 << 20
# Our JSON nests 6 levels; the libraries that walk a document (jsonschema, rdflib) recurse.
MAX_JSON_DEPTH = 64

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | _CLOEXEC


def entry_kind(mode: int) -> str:
    """What a non-regular entry is, for a message."""
    for test, kind in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return kind
    return "special file"


@dataclass
class Inventory:
    """A folder's entries: `files` maps each regular file's relative POSIX path to its size;
    `others` maps every other entry (not walked into, not opened) to what it is."""

    files: dict[str, int] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, folder: Path) -> Inventory:
        inventory = cls()
        pending = [""]
        while pending:
            base = pending.pop()
            try:
                with os.scandir(Path(folder) / base) as listing:
                    entries = list(listing)
            except OSError:
                inventory.others[base or "."] = "folder that cannot be read"
                continue
            for entry in entries:
                rel = f"{base}/{entry.name}" if base else entry.name
                try:
                    status = entry.stat(follow_symlinks=False)
                except OSError:
                    inventory.others[rel] = "file that cannot be read"
                    continue
                if stat.S_ISDIR(status.st_mode):
                    pending.append(rel)
                elif stat.S_ISREG(status.st_mode):
                    inventory.files[rel] = status.st_size
                else:
                    inventory.others[rel] = entry_kind(status.st_mode)
        return inventory

    def glob(self, pattern: str) -> list[str]:
        """The regular files `pattern` matches (see `path_matches`), from the inventory, not the disk."""
        return sorted(rel for rel in self.files if path_matches(rel, pattern))


def path_matches(rel: str, pattern: str) -> bool:
    """Whether the relative path `rel` matches the glob `pattern` as `Path.glob` would: `*`,
    `?` and `[...]` within one name, `**` for any number of folders (a final `**` matching the
    files below too, as the Hub's `data_files` patterns do)."""
    return _glob_match(tuple(rel.split("/")), tuple(pattern.split("/")))


@lru_cache(maxsize=4096)
def _glob_match(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    # Cached: each (path suffix, pattern suffix) is decided once, so `**` runs do not backtrack
    # exponentially.
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(parts[i:], rest) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _glob_match(parts[1:], rest)


def relative_path(text: object) -> str:
    """`text` when it is a plain relative POSIX path that stays inside the folder.

    Raises:
        UnsafePath: not a string, absolute, a URL, leaving the folder, or with empty, `.` or NUL parts.
    """
    if not isinstance(text, str) or not text or "\0" in text:
        raise UnsafePath(text, "is not a path")
    if text.startswith(("/", "\\")):
        raise UnsafePath(text, "is absolute")
    if _URL.match(text):
        raise UnsafePath(text, "is a URL, not a path in the folder")
    parts = text.split("/")
    if ".." in parts:
        raise UnsafePath(text, "leaves the folder")
    if "" in parts or "." in parts:
        raise UnsafePath(text, "is not a plain relative path")
    return text


def open_regular(folder: Path, rel: str) -> BinaryIO:
    """Open the regular file `rel` inside `folder` for reading, never following a link below
    `folder` and never blocking on a FIFO or device.

    Raises:
        UnsafePath: `rel` is not a plain relative path.
        NotRegularFile: `rel`, or a folder on the way to it, is a link or not a regular file.
        OSError: it does not exist or cannot be read.
    """
    parts = relative_path(rel).split("/")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)  # the folder itself is the caller's choice
    try:
        for i, part in enumerate(parts[:-1]):
            inner = _open_at(part, _DIR_FLAGS, fd, "/".join(parts[: i + 1]))
            os.close(fd)
            fd = inner
        file_fd = _open_at(parts[-1], _FILE_FLAGS, fd, rel)
    finally:
        os.close(fd)
    mode = os.fstat(file_fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(file_fd)
        raise NotRegularFile(rel, entry_kind(mode))
    os.set_blocking(file_fd, True)
    return os.fdopen(file_fd, "rb")


def _open_at(name: str, flags: int, dir_fd: int, shown: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        # O_NOFOLLOW makes a link fail with ELOOP (ENOTDIR when a folder was expected).
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise NotRegularFile(shown, "symbolic link") from None
        raise


def read_bounded(handle: BinaryIO, name: str, max_bytes: int = MAX_METADATA_BYTES) -> bytes:
    """All of `handle`, or FileTooLarge when it holds more than `max_bytes`."""
    data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(name, max_bytes)
    return data


def load_json(data: bytes, name: str) -> object:
    """Parse JSON, refusing a document nested deeper than MAX_JSON_DEPTH.

    Raises:
        JsonTooDeep: too deeply nested.
        ValueError: not JSON (orjson.JSONDecodeError).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):  # orjson itself stops at 1024 levels, without recursing
            raise JsonTooDeep(name, MAX_JSON_DEPTH) from None
        raise
    if json_depth(value) > MAX_JSON_DEPTH:
        raise JsonTooDeep(name, MAX_JSON_DEPTH)
    return value


def json_depth(value: object) -> int:
    """How deeply arrays and objects nest in `value` (0 for a scalar), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_json(folder: Path, rel: str, *, listing: str | None = None, max_bytes: int = MAX_METADATA_BYTES) -> object:
    """The JSON document `rel` of the folder, read with bounded size and depth.

    With `listing`, a document laid out as `fileio.write_json_listing_lines` writes it (a
    manifest's `inputs`, a report's `files`) is read only up to that list, which can be a
    million lines: its head holds everything else. A document without that list is read whole.

    Raises:
        UnsafePath, NotRegularFile, OSError: see `open_regular`.
        FileTooLarge, JsonTooDeep: over the bounds.
        ValueError: not JSON.
    """
    with open_regular(folder, rel) as handle:
        if listing is None:
            return load_json(read_bounded(handle, rel, max_bytes), rel)
        marker = b'  "' + listing.encode() + b'": ['
        head = bytearray()
        while line := handle.readline(max_bytes + 1 - len(head)):
            if line.startswith(marker):
                text = bytes(head).rstrip()
                return load_json((text[:-1] if text.endswith(b",") else text) + b"\n}", rel)
            head += line
            if len(head) > max_bytes:
                raise FileTooLarge(rel, max_bytes)
        return load_json(bytes(head), rel)
