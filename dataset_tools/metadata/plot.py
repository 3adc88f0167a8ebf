"""The card's picture: articles per month, as a PNG whose bytes depend only on the counts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import threading
from collections import Counter
from importlib.metadata import version
from pathlib import Path

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
    draw = painter.draw if painter is not None else _draw
    if cache is None:
        return draw(months)
    key = hashlib.sha256(json.dumps([sorted(months.items()), version("matplotlib")]).encode()).hexdigest()
    stored = Path(cache) / f"plot-{key}.png"
    if stored.is_file():
        return stored.read_bytes()
    data = draw(months)
    Path(cache).mkdir(parents=True, exist_ok=True)
    for stale in Path(cache).glob("plot-*.png"):
        stale.unlink(missing_ok=True)
    stored.write_bytes(data)
    return data


class Painter:
    """A forked process that imports matplotlib as soon as it starts and draws the picture when
    asked: a build that will likely need a new picture (its articles changed) starts one before
    it writes its shards and report.json, so that the import (most of the time a picture takes)
    runs meanwhile on another core. Its picture is the one `_draw` makes in this process; if the
    process fails, `draw` draws here instead.
    """

    def __init__(self) -> None:
        to_child, self._send = os.pipe()
        self._receive, from_child = os.pipe()
        self._pid: int | None = os.fork()
        if self._pid == 0:  # the painter
            status = 1
            try:
                os.close(self._send)
                os.close(self._receive)
                _prepare()
                with os.fdopen(to_child, "rb") as requests, os.fdopen(from_child, "wb") as replies:
                    request = requests.read()  # until the parent closes its end
                    if request:
                        replies.write(_draw(Counter(json.loads(request))))
                status = 0
            finally:
                os._exit(status)
        os.close(to_child)
        os.close(from_child)

    @classmethod
    def start(cls) -> Painter | None:
        """A painter, or None where processes cannot be forked, or cannot be safely: while
        another thread runs (it could hold a lock the child would then wait for forever)."""
        return cls() if hasattr(os, "fork") and threading.active_count() == 1 else None

    def draw(self, months: Counter) -> bytes:
        """The picture of `months` (once: the painter then exits)."""
        data = b""
        if self._pid is not None:
            try:
                with os.fdopen(self._send, "wb") as requests:
                    requests.write(json.dumps(months).encode())
                with os.fdopen(self._receive, "rb") as replies:
                    data = replies.read()
                _, status = os.waitpid(self._pid, 0)
                if status != 0:
                    data = b""
            except OSError:
                data = b""
            finally:
                self._pid = None
        return data if data.startswith(b"\x89PNG") else _draw(months)

    def close(self) -> None:
        """Stop the painter if it was not asked for a picture."""
        if self._pid is None:
            return
        for fd in (self._send, self._receive):
            os.close(fd)
        try:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._pid = None


def _prepare() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # noqa: F401


def _draw(months: Counter) -> bytes:
    _prepare()
    from matplotlib.figure import Figure

    labels = _month_range(sorted(months))
    counts = [months.get(label, 0) for label in labels]
    figure = Figure(figsize=_SIZE_INCHES, dpi=_DPI)
    axes = figure.add_subplot()
    if labels:
        positions = list(range(len(labels)))
        axes.bar(positions, counts, color="#3b6ea5", width=0.8)
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
    figure.tight_layout()
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
