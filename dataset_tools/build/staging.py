"""The output's atomic swap: a build writes into a staging folder beside the target and swaps
it in at the end, so an interrupted or failed build leaves the previous output untouched."""

from __future__ import annotations

import os
import shutil
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
    """Replace `out` with `staging`. Between the two renames `out` is briefly absent, but it is
    never half-written: either the old folder or the complete new one is at `out`."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    if old.exists():
        shutil.rmtree(old)


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
