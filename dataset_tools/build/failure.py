"""What a build that could not write its output says: one line, naming the place and, for a
full disk, the space free there and the space a build needs.

A full disk shows as ENOSPC (or EDQUOT, a quota; or EFBIG, a file size limit) from whichever
process and stage hit it: a worker writing its rows to the cache, the reduce writing a shard,
this process writing report.json. Where the error names no file (Arrow's do not), the place is
the build's folder with the least space free: the cache, or the output's parent (its staging
folder, and the scratch cache of a build without one).
"""

from __future__ import annotations

import errno
import os
import re
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from dataset_tools.errors import BuildFailed
from dataset_tools.fileio import human_size

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_ARROW_ERRNO = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)  # Arrow's messages carry the errno as text
# Of the raw files' bytes, what a build from scratch writes (measured: the cache holds the rows
# uncompressed, about the raw size; the output, zstd Parquet and the card, about a fifth of it;
# a build also holds a few files of work for a while).
CACHE_SHARE, OUTPUT_SHARE = 1.1, 0.25
_HINT = "Free some space there, or pass --cache DIR / --out DIR on a disk with more; the build's temporary files were removed, and the output folder holds a whole build."


def build_failure(exc: BaseException, out: Path, cache_folder: Path | None, raw_bytes: int) -> BuildFailed:
    """The BuildFailed to raise for `exc` (an OSError, or a pool whose worker died), in a build
    writing `out` with the cache in `cache_folder` (None: a scratch cache beside `out`) from
    `raw_bytes` of raw files."""
    folders = {"cache": cache_folder or out.parent, "output": out.parent}
    if _errno(exc) in DISK_FULL:
        filename = getattr(exc, "filename", None)
        place = _existing(Path(os.fsdecode(filename)).parent) if filename else min(folders.values(), key=_free)
        return BuildFailed(f"no space left on device in {place}: {human_size(_free(place))} free, {_needs(place, folders, raw_bytes)}", hint=_HINT)
    if isinstance(exc, BrokenProcessPool):
        fullest = min(folders.values(), key=_free)
        if _free(fullest) < 1 << 20:
            return BuildFailed(f"a worker of the build died, and {fullest} has {human_size(_free(fullest))} free: {_needs(fullest, folders, raw_bytes)}", hint=_HINT)
        return BuildFailed(
            "a worker process of the build died (killed, or out of memory)",
            hint="Build again, with fewer --workers if memory is short; the previous output is unchanged.",
        )
    return BuildFailed(f"could not build the dataset into {out}: {exc}", hint="Check the folders' permissions and free space; the output folder holds a whole build.")


def _errno(exc: BaseException) -> int | None:
    if not isinstance(exc, OSError):
        return None
    if exc.errno is not None:
        return exc.errno
    match = _ARROW_ERRNO.search(str(exc))
    return int(match.group(1)) if match else None


def _existing(folder: Path) -> Path:
    """`folder`, or its nearest parent that exists (a staging or work folder is gone by now)."""
    return next((candidate for candidate in (folder, *folder.parents) if candidate.is_dir()), folder)


def _free(folder: Path) -> int:
    """Bytes free to this user on the file system of `folder` (or of its nearest existing parent)."""
    try:
        stat = os.statvfs(_existing(folder))
    except OSError:
        return 0
    return stat.f_bavail * stat.f_frsize


def _needs(place: Path, folders: dict[str, Path], raw_bytes: int) -> str:
    """What a build from scratch of `raw_bytes` writes on the file system of `place`."""
    try:
        device = os.stat(place).st_dev
        shares = [CACHE_SHARE if name == "cache" else OUTPUT_SHARE for name, folder in folders.items() if os.stat(folder).st_dev == device]
    except OSError:
        shares = [CACHE_SHARE + OUTPUT_SHARE]
    return f"a build of these {human_size(raw_bytes)} of raw files needs about {human_size(int(raw_bytes * sum(shares or [OUTPUT_SHARE])))} there"
