"""Process-wide settings for processes that only build (the `build` command and its workers),
applied by the program (`__main__`, `cli`) alone, never by the library in a caller's process:
a notebook that imports the library and calls `build_dataset` keeps its process as it was.

`prepare_build_process` is what the `build` command applies to itself (its forked workers
inherit it); `setup_worker` is what it asks the build to apply to worker processes that are
started afresh (a local dask cluster's).

`gc.freeze`: objects of the command's process so far are left out of the collector's passes,
here and in the forked workers: a full collection in a worker writes to every object it visits,
and so copies every page of them that it shares with this process.

`exit_now`: once a build has written its output and closed its workers, nothing is left to
clean up, but tearing down an interpreter that loaded pyarrow and huggingface_hub still takes
about 0.2 s (a twentieth of an incremental build); the `build` command skips it.

`collect_less`: parsing an article allocates a few hundred lists, tuples and dicts that reference
counting frees, yet they set off a collection of the youngest generation every 700 allocations:
6-7% of a map task's time, for almost nothing found (the parser makes no cycles worth
collecting early). The workers and the `build` command collect every 50,000 instead.

`skip_pandas`: pyarrow imports pandas the first time it converts Python objects (`pa.array`, `pa.table`, ...),
only to recognise pandas inputs among them. Here that import costs about 0.45 s and 50 MB per
process tree, which is a tenth of an incremental build. The build never passes pandas objects
to pyarrow, so the processes it owns for their whole life (the `build` command, the listing
child) tell pyarrow, before its first conversion, that pandas is not there.
"""

from __future__ import annotations

import gc
import os
import sys

# Container objects allocated (net) between two collections of the youngest generation; Python's
# default is 700.
GC_YOUNG_THRESHOLD = 50_000


def skip_pandas() -> bool:
    """Have pyarrow's first conversion find no pandas; True if this took effect.

    Does nothing when pandas is already imported. pyarrow still imports pandas later where it
    really needs it (`to_pandas`, `Table.from_pandas`); only the check for pandas inputs in
    conversions of Python objects is skipped. Call it only in a process this package owns from
    start to end: in a long-lived session, pyarrow would not recognise pandas inputs to
    `pa.array` afterwards.
    """
    if "pandas" in sys.modules:
        return False
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])  # pyarrow tries pandas once, and remembers
    finally:
        sys.meta_path.remove(blocker)
    return "pandas" not in sys.modules


class _NoPandas:
    """An import hook under which `import pandas` fails (as if it were not installed)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(f"{name} is not used here (dataset_tools.runtime.skip_pandas)")
        return None


def exit_now(code: int | str | None) -> None:
    """Flush stdout and stderr, then end the process with `code` (as `sys.exit` reads it)
    without the interpreter's teardown: no atexit handlers, no module cleanup. Only for a
    process whose work is finished and whose files and child processes are all closed."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code or 0)


def prepare_build_process() -> None:
    """What the `build` command sets in its own process before it builds (see the module's
    docstring); the forked workers inherit it."""
    skip_pandas()
    collect_less()
    gc.freeze()


def setup_worker() -> None:
    """The same for a worker process started afresh (a dask cluster's), run once in it."""
    gc.freeze()
    collect_less()
    skip_pandas()


def collect_less() -> None:
    """Run the cyclic garbage collector's youngest generation every GC_YOUNG_THRESHOLD
    allocations instead of 700 (the older generations keep their ratios). Only for a process
    this package owns (see the module's docstring)."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)
