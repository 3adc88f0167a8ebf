"""The card's picture: articles per month, as a PNG whose bytes depend only on the counts."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

# Fixed size and resolution: the picture is 1000 x 400 pixels whatever the data.
_SIZE_INCHES = (10, 4)
_DPI = 100


def articles_per_month_png(months: Counter, *, cache: Path | None = None) -> bytes:
    """A bar chart of articles per published month (`YYYY-MM` -> count) as PNG bytes.

    Months without articles between the first and the last are drawn as empty bars, so the
    time axis is true. The PNG carries no software name or date, so the same counts give the
    same bytes (with the same matplotlib and fonts). With `cache`, the picture of the same
    counts is drawn once and reused (drawing means importing matplotlib, the slowest part of
    re-rendering a card).
    """
    if cache is None:
        return _draw(months)
    # The same counts drawn by the same matplotlib give the same bytes (the cache folder is
    # named by this module's code, see `stats.card_cache_folder`).
    key = hashlib.sha256(json.dumps([sorted(months.items()), _matplotlib_version()]).encode()).hexdigest()
    stored = Path(cache) / f"plot-{key}.png"
    if stored.is_file():
        return stored.read_bytes()
    data = _draw(months)
    Path(cache).mkdir(parents=True, exist_ok=True)
    for stale in Path(cache).glob("plot-*.png"):
        stale.unlink(missing_ok=True)
    stored.write_bytes(data)
    return data


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


def _prepare() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)


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
