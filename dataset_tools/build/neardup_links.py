"""Near-duplicates: candidate pairs confirmed, grouped, and each copy linked to its original.

In: candidate pairs of row ids, and where each row's shingles are (`Locations`). Out: the
pairs whose exact Jaccard similarity (of their shingle sets) is at or above the threshold (the
edges), and from the edges the links: the edges' connected components, each split into groups
whose original is the earliest published member (ties: the smallest id) and whose other
members are at least half the threshold similar to it; every member but the original points at
it. A component in which some member is less similar than that to the earliest is split: the
members that are similar enough form the first group, and the rest are grouped again the same
way. So a chain of copies points at its first article, and a row is never linked to one it is
less than half the threshold similar to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataset_tools.build.engines import release_memory

try:  # the C version, built where a C compiler was at install (see dataset_tools/_shingles.c)
    from dataset_tools._shingles import jaccard as _c_jaccard
except ImportError:  # pragma: no cover - exercised where the extension is not built
    _c_jaccard = None

PAIRS_PER_TASK = 20_000  # candidate pairs confirmed by one task (their rows' shingles: 40 MB at most)


@dataclass(slots=True)
class Locations:
    """Where rows' shingles are: per row, an index into `files` (the side files holding them,
    relative to the cache) and its row there."""

    files: list[str]
    file: np.ndarray  # int32
    row: np.ndarray  # int64


def similarities(locations_a: Locations, locations_b: Locations, cache_root: str) -> np.ndarray:
    """The exact Jaccard similarity of each pair (row i of `locations_a`, row i of
    `locations_b`): |A and B| / |A or B| of their shingle sets (0 when both are empty)."""
    files = sorted(set(locations_a.files) | set(locations_b.files))
    index = {name: i for i, name in enumerate(files)}

    def keys(locations: Locations) -> np.ndarray:
        remap = np.array([index[n] for n in locations.files], np.int64)
        return ((remap[locations.file] if len(locations.file) else np.zeros(0, np.int64)) << 40) | locations.row.astype(np.int64)

    keys_a, keys_b = keys(locations_a), keys(locations_b)
    wanted = np.unique(np.concatenate([keys_a, keys_b]))  # the rows to read, by file then row
    values, counts = [np.zeros(0, np.uint32)], [np.zeros(0, np.int64)]
    for i, name in enumerate(files):
        rows = wanted[(wanted >> 40) == i] & ((1 << 40) - 1)
        if len(rows):
            with pa.memory_map(str(Path(cache_root) / name)) as source:
                lists = pa.ipc.open_file(source).read_all().column("shingles").take(pa.array(rows)).combine_chunks()
            values.append(lists.values.to_numpy()[lists.offsets[0].as_py() : lists.offsets[-1].as_py()])
            counts.append(np.diff(lists.offsets.to_numpy()).astype(np.int64))
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    out = pair_jaccard(np.concatenate(values), offsets, np.searchsorted(wanted, keys_a), np.searchsorted(wanted, keys_b))
    release_memory()
    return out


def pair_jaccard(values: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Jaccard similarity of the value sets of rows a[i] and b[i] (row r: values[offsets[r]
    : offsets[r + 1]]), in C where it was built (see dataset_tools/_shingles.c)."""
    if _c_jaccard is None:
        return pair_jaccard_reference(values, offsets, a, b)
    out = np.empty(len(a), np.float64)
    _c_jaccard(np.array(values, np.uint32), offsets.astype(np.int64), a.astype(np.int64), b.astype(np.int64), out)
    return out


def pair_jaccard_reference(values: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`pair_jaccard` in numpy: a unique per row, an intersection per pair."""
    sets = {r: np.unique(values[offsets[r] : offsets[r + 1]]) for r in set(a.tolist()) | set(b.tolist())}
    out = np.zeros(len(a), np.float64)
    for k, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        shared = len(np.intersect1d(sets[x], sets[y], assume_unique=True))
        union = len(sets[x]) + len(sets[y]) - shared
        out[k] = shared / union if union else 0.0
    return out


def similarity_tasks(runner, a: Locations, b: Locations, cache_root: str) -> np.ndarray:
    """`similarities` of many pairs, PAIRS_PER_TASK at a time on the engine."""
    if len(a.file) <= PAIRS_PER_TASK:
        return similarities(a, b, cache_root)
    arguments = [
        (_slice(a, start), _slice(b, start), cache_root) for start in range(0, len(a.file), PAIRS_PER_TASK)
    ]
    return np.concatenate(list(runner.map_ordered(similarities, arguments)))


def _slice(locations: Locations, start: int) -> Locations:
    stop = start + PAIRS_PER_TASK
    return Locations(locations.files, locations.file[start:stop], locations.row[start:stop])


def components(a: np.ndarray, b: np.ndarray) -> dict[int, list[int]]:
    """The connected components of the edges (a[i], b[i]): {smallest member: sorted members}."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(a.tolist(), b.tolist()):
        parent.setdefault(x, x)
        parent.setdefault(y, y)
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    groups: dict[int, list[int]] = {}
    for node in sorted(parent):
        groups.setdefault(find(node), []).append(node)
    return groups


def split_groups(
    members_by_component: dict[int, list[int]],
    published: dict[int, int],
    similarity,
    threshold: float,
) -> dict[int, int]:
    """{copy: original} for the components given (see the module's docstring). `similarity`
    takes lists of (x, y) id pairs and returns their Jaccard similarities."""
    links: dict[int, int] = {}
    pending = {
        root: sorted(members, key=lambda m: (published[m], m)) for root, members in members_by_component.items()
    }
    while pending:
        pairs = [(m, ordered[0]) for ordered in pending.values() for m in ordered[1:]]
        values = similarity(pairs) if pairs else np.zeros(0)
        close = dict(zip(pairs, (values >= threshold / 2).tolist()))
        following: dict[int, list[int]] = {}
        for root, ordered in pending.items():
            rest = []
            for member in ordered[1:]:
                if close[(member, ordered[0])]:
                    links[member] = ordered[0]
                else:
                    rest.append(member)
            if len(rest) > 1:
                following[root] = rest
        pending = following
    return links
