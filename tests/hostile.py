"""Hostile raw folders for the tests: entries that are no regular file the build may read, and
a way to run a process whose file permissions are checked even when the tests run as root."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

SECRET = b"ghp_not-a-real-token-but-secret"  # the content of a file outside the raw folder


def hostile_entries(root: Path, outside: Path) -> None:
    """Links, a FIFO, a socket and a device in `root/links/` (and the files they point to in
    `outside`, a folder beside the raw folder)."""
    outside.mkdir()
    (outside / "token.txt").write_bytes(SECRET + b"\n")
    (root / "links").mkdir(parents=True)
    os.symlink(outside / "token.txt", root / "links" / "out.txt")  # a file outside the root
    os.symlink(outside, root / "links" / "out-folder")
    os.symlink("../a.txt", root / "links" / "in.txt")  # a file inside: read, with its target's stat
    os.symlink("../b", root / "links" / "in-folder")
    os.symlink("..", root / "links" / "root")
    os.symlink("to-nothing", root / "links" / "dangling.txt")
    os.symlink("loop-b", root / "links" / "loop-a")
    os.symlink("loop-a", root / "links" / "loop-b")
    os.symlink(f"../links/../../{outside.name}/token.txt", root / "links" / "out-by-dots.txt")
    os.mkfifo(root / "links" / "fifo")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "links" / "sock"))
    try:  # a device like /dev/zero, which would never end if it were read
        os.mknod(root / "links" / "zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except (PermissionError, AttributeError):
        pass


def permissions_checked() -> list[str]:
    """A command prefix under which a process's file permissions are checked: none for a user
    but root; for root (as in this project's containers), `setpriv` without the capabilities
    that let root read and search any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("the tests run as root, who reads any file, and setpriv (util-linux) is not here to drop that power")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--"]


def deep_folders(root: Path, file_name_bytes: int = 50) -> tuple[str, str, str]:
    """Folders under `root`, each in the last, until the next would have a path of PATH_MAX
    bytes or more; then that one too (made through folder descriptors, as a path that long
    cannot be opened). Returns (the path, relative to `root`, of a file in the deepest folder
    that can be opened; of a file there whose own path is too long; of the folder too deep)."""
    limit = os.pathconf(root, "PC_PATH_MAX")
    base = len(os.fsencode(root))
    name = "d" * 200
    fd = os.open(root, os.O_RDONLY)
    parts: list[str] = []
    try:
        while base + 1 + len("/".join([*parts, name])) + 1 + file_name_bytes < limit:
            os.mkdir(name, dir_fd=fd)
            fd, old = os.open(name, os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
            parts.append(name)
        folder = "/".join(parts)
        room = limit - (base + 1 + len(folder) + 1)  # (at most 251: the loop stopped)
        short = "ok.txt"
        long = "l" * room  # its path is PATH_MAX bytes long: one too many
        for file_name in (short, long):
            handle = os.open(file_name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(handle, b"not an article")
            os.close(handle)
        name = "e" * room
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY, dir_fd=fd)
        handle = os.open("inside.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=inner)
        os.close(handle)
        os.close(inner)
    finally:
        os.close(fd)
    return f"{folder}/{short}", f"{folder}/{long}", f"{folder}/{name}/"
