"""The raw folder's listing, started before the heavy imports.

`dataset-tools build` spends its first half second importing pyarrow, typer and rich, and a
listing of a large raw folder (a stat per file) needs none of them. The console entry point
calls `start(argv)` first thing: for a `build` of a local folder it forks a child that lists
the folder the build will read (see `inputs._list_local_in_child`), and the build then `take`s
that child's pipe instead of forking one. Anything unclear (a URL, settings that do not load,
`--help`, no fork) starts nothing, and the build lists as it always does. This module imports
only the standard library and the settings reader.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from pathlib import Path

_PENDING: dict[str, tuple[int, int]] = {}  # resolved root -> (listing child's pid, read end of its pipe)


def start(argv: list[str]) -> None:
    """Start listing the raw folder of a `build` command line (the arguments after the program)."""
    if not argv or argv[0] != "build" or not sys.platform.startswith("linux"):
        return
    root = raw_folder(argv[1:])
    if root is not None and root.is_dir():
        _PENDING[str(root)] = fork_listing(root)
        if len(_PENDING) == 1:
            atexit.register(discard)


def raw_folder(args: list[str]) -> Path | None:
    """The local folder `build` will list, from its options and the project's settings, as
    `inputs.source_for` resolves it; None when that is not certain."""
    options: dict[str, str] = {}
    tokens = iter(args)
    for token in tokens:
        if token in ("--help", "-h") or token == "--":
            return None
        for name in ("--raw", "--project"):
            if token == name:
                value = next(tokens, None)
                if value is None:
                    return None
                options[name] = value
            elif token.startswith(name + "="):
                options[name] = token[len(name) + 1 :]
    raw = options.get("--raw")
    if raw is None:
        try:
            from dataset_tools.config import load_settings

            project = options.get("--project")
            raw = str(load_settings(Path(project) if project else None).raw)
        except Exception:  # the command reports a bad setting itself
            return None
    if "://" in raw and not raw.startswith("file://"):
        return None
    return Path(raw.removeprefix("file://")).resolve()


def fork_listing(root: Path) -> tuple[int, int]:
    """Fork a child that sends the listing of `root` down a pipe (`listing.send`); returns
    (its pid, the pipe's read end). The child exits with 0 once everything is sent, 1 on any
    error (the parent then lists the folder itself, where the error can surface)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            from dataset_tools import listing

            with os.fdopen(write_end, "wb") as pipe:
                listing.send(os.fsencode(root), pipe)
            status = 0
        except BaseException:
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def take(root: Path) -> tuple[int, int] | None:
    """The listing child started for `root`, if there is one; any other started child is
    stopped (the build reads another folder)."""
    started = _PENDING.pop(str(root), None)
    discard()
    return started


def discard() -> None:
    """Stop and reap every listing child nobody took."""
    while _PENDING:
        _, (pid, read_end) = _PENDING.popitem()
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
