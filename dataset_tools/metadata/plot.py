"""The card's picture: articles per month, as a PNG whose bytes depend only on the counts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PLOT_FILE = "images/articles-per-month.png"
# Fixed size and resolution: the picture is 1000 x 400 pixels whatever the data.
_SIZE_INCHES = (10, 4)
_DPI = 100


def articles_per_month_png(months: Counter, *, cache: Path | None = None, painter: Painter | None = None) -> bytes:
    """A bar chart of articles per published month (`YYYY-MM` -> count) as PNG bytes.

    Months without articles between the first and the last are drawn as empty bars, so the
    time axis is true. The PNG carries no software name or date, so the same counts give the
    same bytes (with the same matplotlib and fonts). With `cache`, the picture of the same
    counts is drawn once and reused (drawing means importing matplotlib, the slowest part of
    re-rendering a card). With `painter`, a picture not in the cache is drawn by it.
    """
    return articles_per_month_png_later(months, cache=cache, painter=painter)()


def articles_per_month_png_later(months: Counter, *, cache: Path | None = None, painter: Painter | None = None) -> Callable[[], bytes]:
    """`articles_per_month_png`, in two steps: a painter is given the months now, and the
    returned function waits for its picture (the caller's other work runs meanwhile)."""
    if cache is None:
        return painter.ask(months) if painter is not None else lambda: _draw(months)
    # The same counts drawn by the same matplotlib give the same bytes (the cache folder is
    # named by this module's code, see `stats.card_cache_folder`).
    key = hashlib.sha256(json.dumps([sorted(months.items()), _matplotlib_version()]).encode()).hexdigest()
    stored = Path(cache) / f"plot-{key}.png"
    if stored.is_file():
        data = stored.read_bytes()
        return lambda: data
    picture = painter.ask(months) if painter is not None else lambda: _draw(months)

    def finish() -> bytes:
        data = picture()
        Path(cache).mkdir(parents=True, exist_ok=True)
        for stale in Path(cache).glob("plot-*.png"):
            stale.unlink(missing_ok=True)
        stored.write_bytes(data)
        return data

    return finish


def _matplotlib_version() -> str:
    """matplotlib's version without importing it: from its `_version.py` (one small file read)
    where it has one, else from its installed metadata (importing importlib.metadata and
    looking it up took 16-24 ms of a rebuild's card step)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        try:
            return "file:" + (Path(spec.origin).parent / "_version.py").read_text(encoding="utf-8")
        except OSError:
            pass
    from importlib.metadata import version

    return version("matplotlib")


class Painter:
    """A process of its own that imports matplotlib as soon as it starts and draws the picture
    when asked: a build that will likely need a new picture (its articles changed) starts one
    before it writes its shards and report.json, so that the import (most of the time a picture
    takes) runs meanwhile on another core.

    It is forked when this process runs no other thread (the child then has numpy and the rest
    already imported), and otherwise started afresh (`python -m` this module): a thread could
    hold a lock that a forked child would wait for forever. Either way it draws with `_draw`, so
    its picture is the one this process would make; if it fails or takes longer than
    TIMEOUT_SECONDS, `draw` draws here instead.
    """

    TIMEOUT_SECONDS = 120

    def __init__(self) -> None:
        if hasattr(os, "fork") and threading.active_count() == 1:
            to_child, send = os.pipe()
            receive, from_child = os.pipe()
            pid = os.fork()
            if pid == 0:  # the painter
                status = 1
                try:
                    os.close(send)
                    os.close(receive)
                    with os.fdopen(to_child, "rb") as requests, os.fdopen(from_child, "wb") as replies:
                        _serve(requests, replies)
                    status = 0
                finally:
                    os._exit(status)
            os.close(to_child)
            os.close(from_child)
            self._send, self._receive, self._pid, self._process = os.fdopen(send, "wb"), os.fdopen(receive, "rb"), pid, None
        else:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
            )
            self._send, self._receive, self._pid = self._process.stdin, self._process.stdout, self._process.pid
        self.forked = self._process is None

    @classmethod
    def start(cls) -> Painter | None:
        """A painter, or None where it cannot be started."""
        try:
            return cls()
        except OSError:
            return None

    def draw(self, months: Counter) -> bytes:
        """The picture of `months` (once: the painter then exits)."""
        return self.ask(months)()

    def ask(self, months: Counter) -> Callable[[], bytes]:
        """Give the painter `months` to draw; the returned function waits for the picture (drawn
        here instead if the painter failed or got stuck). Once: the painter then exits."""
        sent = False
        if self._pid is not None:
            try:
                self._send.write(json.dumps(months).encode())
                self._send.close()
                sent = True
            except OSError:
                self.close()

        def picture() -> bytes:
            data = b""
            if sent:
                try:
                    data = self._read_reply()  # nothing if it failed or got stuck: then stopped below
                    if data and self._wait() != 0:
                        data = b""
                except OSError:
                    data = b""
                finally:
                    self.close()
            return data if data.startswith(b"\x89PNG") else _draw(months)

        return picture

    def _read_reply(self) -> bytes:
        deadline = time.monotonic() + self.TIMEOUT_SECONDS
        parts = []
        fd = self._receive.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return b""  # stuck: closed and killed by the caller
            part = os.read(fd, 1 << 16)
            if not part:
                return b"".join(parts)
            parts.append(part)

    def _wait(self) -> int:
        """Reap the painter; its exit status (0: it drew the picture)."""
        pid, self._pid = self._pid, None
        if self._process is not None:
            return self._process.wait()
        return os.waitpid(pid, 0)[1]

    def close(self) -> None:
        """Stop the painter (if it is still running) and reap it."""
        for stream in (self._send, self._receive):
            if not stream.closed:
                stream.close()
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self._wait()
        except ChildProcessError:
            pass


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """The painter's side: import, then draw the months read from `requests` (until the build
    closes its end) as PNG into `replies`."""
    _prepare()
    request = requests.read()
    if request:
        replies.write(_draw(Counter(json.loads(request))))
        replies.flush()


def _prepare() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # noqa: F401


def _draw(months: Counter) -> bytes:
    _prepare()
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    labels = _month_range(sorted(months))
    counts = [months.get(label, 0) for label in labels]
    figure = Figure(figsize=_SIZE_INCHES, dpi=_DPI)
    # Fixed margins, room for rotated month labels and for the y labels: tight_layout would
    # measure every label's text to find them, a third of the drawing's time.
    figure.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.18)
    axes = figure.add_subplot()
    if labels:
        positions = list(range(len(labels)))
        # The bars as one collection of rectangles: a patch per bar (Axes.bar) costs a
        # millisecond each to add, and a corpus spans a hundred months or more.
        half = 0.4
        bars = [[(x - half, 0), (x - half, count), (x + half, count), (x + half, 0)] for x, count in zip(positions, counts)]
        axes.add_collection(PolyCollection(bars, facecolors="#3b6ea5", edgecolors="none"))
        axes.set_ylim(0, max(max(counts) * 1.05, 1))
        step = max(1, len(labels) // 24)
        axes.set_xticks(positions[::step], labels[::step], rotation=45, ha="right", fontsize=8)
        axes.set_xlim(-0.6, len(labels) - 0.4)
    else:
        axes.text(0.5, 0.5, "no articles", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
    axes.set_ylabel("articles")
    axes.set_title("Articles per month (published_at, UTC)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _month_range(months: list[str]) -> list[str]:
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    last = tuple(map(int, months[-1].split("-")))
    out = []
    while (year, month) <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
