"""The files a commit sends, opened for the client: each a regular file of the folder opened
without following links (the client gets open files, not paths it would open again), and,
with a `progress` callback, reporting how far the upload has read it.

The client reads a file it is given whole once when the operation is made (its SHA-256), then
again to send it (the LFS upload, or the commit's body for a small file), seeking back before a
retry. So a file is `armed` once its operation exists, and from then on the furthest position
read is what was sent.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dataset_tools.untrusted import open_regular

# (path in the repo, bytes sent so far, size): called from the client's upload threads.
Progress = Callable[[str, int, int], None]


class SentFile(io.BufferedReader):
    """A file of the commit that reports the furthest position read once `arm()`ed."""

    def __init__(self, handle: io.BufferedReader, path: str, report: Progress) -> None:
        super().__init__(handle.detach())
        self.path, self._report = path, report
        self._size = os.fstat(self.fileno()).st_size
        self._armed = False
        self._furthest = 0

    def arm(self) -> None:
        self._armed = True

    def _moved(self) -> None:
        if self._armed:
            position = self.tell()
            if position > self._furthest:
                self._furthest = position
                self._report(self.path, position, self._size)

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self._moved()
        return data

    def read1(self, size: int = -1) -> bytes:
        data = super().read1(size)
        self._moved()
        return data

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self._moved()
        return count

    def readinto1(self, buffer) -> int:
        count = super().readinto1(buffer)
        self._moved()
        return count


def open_sent(folder: Path, path: str, progress: Progress | None) -> BinaryIO:
    """The regular file `path` of `folder`, open for the client (see `open_regular`)."""
    handle = open_regular(folder, path)
    return SentFile(handle, path, progress) if progress is not None else handle


def arm(handle: BinaryIO) -> BinaryIO:
    """From now on, what the client reads of `handle` is sent."""
    if isinstance(handle, SentFile):
        handle.arm()
    return handle
