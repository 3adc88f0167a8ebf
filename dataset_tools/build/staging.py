"""The output's atomic swap: a build writes into a staging folder beside the target and swaps
it in at the end (in one step where the system can exchange two folders), so an interrupted or
failed build leaves the previous output untouched."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from pathlib import Path

from dataset_tools.build.cache import process_alive


def staging_folder(out: Path) -> Path:
    """A fresh, empty staging folder for `out` (beside it: the same file system, so the swap
    is a rename), after removing the leftovers of builds that were killed."""
    _remove_stale_staging(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def scratch_cache_folder(out: Path) -> Path:
    """A throw-away cache for a build without one (`--no-cache`), beside the output."""
    scratch = out.parent / f".{out.name}.cache-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    return scratch


def swap_in(staging: Path, out: Path) -> None:
    """Replace `out` with `staging`. On Linux the two folders are exchanged in one step
    (`renameat2` with RENAME_EXCHANGE): `out` is never absent. Elsewhere, or on a file system
    that cannot exchange, `out` is moved aside first and is briefly absent between the two
    renames, but never half-written (a build killed between them gets it back: see
    `staging_folder`)."""
    if out.exists() and _exchange(staging, out):
        shutil.rmtree(staging)  # now the old output
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    if old.exists():
        shutil.rmtree(old)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or the file system cannot."""
    renameat2 = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _remove_stale_staging(out: Path) -> None:
    """Clean up staging folders of builds that were killed (their process is gone)."""
    if not out.parent.exists():
        return
    for candidate in out.parent.glob(f".{out.name}.*-*"):
        pid = candidate.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            if candidate.name.startswith(f".{out.name}.old-") and not out.exists():
                os.rename(candidate, out)  # killed between the two renames: restore
            else:
                shutil.rmtree(candidate, ignore_errors=True)
