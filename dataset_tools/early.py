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

FOLDERS_FILE = "folders.bin"  # in the build cache: the folders the last listing read (`listing.save_folders`)

# (resolved root, folders file or None) -> (listing child's pid, read end of its pipe)
_PENDING: dict[tuple[str, str | None], tuple[int, int]] = {}


def start(argv: list[str]) -> None:
    """Start listing the raw folder of a `build` command line (the arguments after the program)."""
    if not argv or argv[0] != "build" or not sys.platform.startswith("linux"):
        return
    found = build_folders(argv[1:])
    if found is not None and found[0].is_dir():
        root, folders_file = found
        _PENDING[(str(root), folders_file)] = fork_listing(root, folders_file)
        if len(_PENDING) == 1:
            atexit.register(discard)


def build_folders(args: list[str]) -> tuple[Path, str | None] | None:
    """The local folder `build` will list, and the folders file in its build cache (None with
    `--no-cache`), from its options and the project's settings as the build resolves them;
    None when that is not certain."""
    options: dict[str, str] = {}
    tokens = iter(args)
    for token in tokens:
        if token in ("--help", "-h") or token == "--":
            return None
        if token == "--no-cache":
            options[token] = ""
        for name in ("--raw", "--project", "--cache"):
            if token == name:
                value = next(tokens, None)
                if value is None:
                    return None
                options[name] = value
            elif token.startswith(name + "="):
                options[name] = token[len(name) + 1 :]
    raw, cache = options.get("--raw"), options.get("--cache")
    if raw is None or (cache is None and "--no-cache" not in options):
        try:
            from dataset_tools.config import default_cache_dir, load_settings

            project = options.get("--project")
            settings = load_settings(Path(project) if project else None)
        except Exception:  # the command reports a bad setting itself
            return None
        raw = str(settings.raw) if raw is None else raw
        cache = str(default_cache_dir(settings)) if cache is None else cache
    if "://" in raw and not raw.startswith("file://"):
        return None
    folders_file = None if "--no-cache" in options else str(Path(cache).resolve() / FOLDERS_FILE)
    return Path(raw.removeprefix("file://")).resolve(), folders_file


def fork_listing(root: Path, folders_file: str | None = None) -> tuple[int, int]:
    """Fork a child that sends the listing of `root` down a pipe (`listing.send`, with the
    build cache's `folders_file`); returns (its pid, the pipe's read end). The child exits with
    0 once everything is sent, 1 on any error (the parent then lists the folder itself, where
    the error can surface)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            from dataset_tools import listing

            with os.fdopen(write_end, "wb") as pipe:
                listing.send(os.fsencode(root), pipe, folders_file)
            status = 0
        except BaseException:
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def take(root: Path, folders_file: str | None = None) -> tuple[int, int] | None:
    """The listing child started for `root` and `folders_file`, if there is one; any other
    started child is stopped (the build reads another folder, or keeps another cache)."""
    started = _PENDING.pop((str(root), folders_file), None)
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
