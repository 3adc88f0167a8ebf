"""The processes a build starts die with it; a build stopped by SIGTERM cleans up first.

A build forks helpers: the listing child and its stat workers, the process pool's workers. When
the build's process is killed (SIGKILL, the OOM killer, or SIGTERM where nothing handles it),
no code of its runs to stop them, and a pool worker waits for its next task forever (it holds
both ends of its task pipe, so it never sees the pipe close). `die_with_parent`, called first
thing in such a child, ends the child when its parent dies: on Linux the kernel sends it
SIGKILL (prctl PR_SET_PDEATHSIG); elsewhere a thread of the child checks its parent every
POLL_SECONDS. Standard library only (the listing child imports nothing heavy).

`cleans_up_on_sigterm` has SIGTERM, during a build, remove what the build registered with
`on_sigterm` (its staging folder) and then end the process as SIGTERM does, at once: its workers
die with it, and the cache is as the last good build left it (a build's files that no state
refers to are removed by the next one). The handler does not raise an exception into the build:
one raised where Python ignores them (an at-fork hook, a __del__) would leave the build running.
Only where SIGTERM has its default action, in the main thread: a caller's own handler is left
alone.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this process (a child of `parent`, forked) when `parent` ends; at once if it already has."""
    if sys.platform.startswith("linux") and _parent_death_signal(signal.SIGKILL):
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="dataset-tools-parent-watch", daemon=True).start()


def _parent_death_signal(signum: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)


_cleanups: list[Callable[[], None]] | None = None  # while a function under `cleans_up_on_sigterm` runs
_owner = 0  # the process that runs it (a forked child inherits the handler, never the duty)


def on_sigterm(cleanup: Callable[[], None]) -> None:
    """Have `cleanup` run if SIGTERM stops the function under way (`cleans_up_on_sigterm`);
    nothing where none is."""
    if _cleanups is not None and os.getpid() == _owner:
        _cleanups.append(cleanup)


def cleans_up_on_sigterm(function: F) -> F:
    """`function`, during which SIGTERM runs the cleanups registered with `on_sigterm` (the
    last first), then ends the process as SIGTERM does (see the module's docstring)."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        global _cleanups, _owner
        if _cleanups is not None or threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return function(*args, **kwargs)

        def stop(signum, frame):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
            if os.getpid() == _owner:
                for cleanup in reversed(_cleanups or []):
                    try:
                        cleanup()
                    except Exception:
                        pass
            os.kill(os.getpid(), signal.SIGTERM)

        _cleanups, _owner = [], os.getpid()
        signal.signal(signal.SIGTERM, stop)
        try:
            return function(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _cleanups = None

    return run  # type: ignore[return-value]
