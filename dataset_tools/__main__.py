"""The `dataset-tools` command (console script and `python -m dataset_tools`).

The program's entry point: the one place, with the CLI it runs, that sets process-wide things.
It sets the environment variables the libraries read when first imported, then imports and
runs the CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Console-script entry point: process settings, then `dataset_tools.cli.main`."""
    process_settings()
    from dataset_tools.cli import main as cli_main

    cli_main()


def process_settings() -> None:
    """Environment variables the libraries read once, when first imported or used: set (where
    the user has not) before anything imports them."""
    if sys.platform.startswith("linux") and "pyarrow" not in sys.modules:
        # Arrow's memory from jemalloc (in this process, the forked workers and a local dask
        # cluster): a build allocates and frees record batches of every size for hours, and
        # jemalloc hands freed memory back to the system best (measured here: 222 against
        # 258 MB peak at 100,000 articles with mimalloc, pyarrow's default). Arrow reads the
        # variable once, at its first allocation; a value the user set is kept.
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    if "numpy" not in sys.modules:
        # numpy (which pyarrow imports) starts OpenBLAS with a thread per core, and each thread
        # spins for about 0.1 s of a core before it sleeps: measured here, 0.12-0.2 s of CPU
        # taken from every command (and from a rebuild's listing, which runs meanwhile) for
        # linear algebra the tool never does. A value the user set is kept.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


if __name__ == "__main__":
    main()
