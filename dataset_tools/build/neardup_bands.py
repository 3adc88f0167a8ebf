"""Near-duplicates, the reduce over band buckets: which rows share a band key.

In: for one band bucket, the band entries (key, id; see `neardup`) kept in the cache from
earlier builds ("kept" runs, each sorted by key) and those of this build ("probes": the new
rows' entries, and those of kept rows that became the row of their id again). Out: the
candidate pairs, (a, b) ids as uint64 with a < b, of every probe and every entry that shares
its key; pairs of two kept entries were found by an earlier build. The bucket's runs are
merged into fewer, larger runs when there are more than MAX_RUNS, without the entries of ids
that are no longer rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataset_tools.build.engines import release_memory
from dataset_tools.build.neardup import BANDS_SCHEMA
from dataset_tools.build.spill import ALL_BATCHES, Ref

MAX_RUNS = 8  # a bucket's kept runs beyond this many are merged (see `_compact`)


@dataclass(slots=True)
class BandResult:
    bucket: int
    a: np.ndarray  # candidate pairs: ids as uint64, a < b
    b: np.ndarray
    refs: list[Ref]  # the bucket's runs for the next build


def band_candidates(
    bucket: int,
    kept: list[Ref],
    new: list[Ref],
    extra: tuple[np.ndarray, np.ndarray],
    cache_root: str,
    merged_name: str,
    current_ids: str | None,
) -> BandResult:
    """One band bucket's reduce (see the module's docstring). `extra` is (keys, ids) of probes
    that are in no new run; `merged_name` is where a merged run goes (relative to the cache);
    `current_ids`, the file of the ids that are rows (sorted uint64), is what a merge of kept
    runs keeps."""
    root = Path(cache_root)
    new_run = _read_runs(root, new)
    probe_keys = np.concatenate([new_run[0], extra[0].astype(np.uint64)])
    probe_ids = np.concatenate([new_run[1], extra[1].astype(np.uint64)])
    order = np.argsort(probe_keys, kind="stable")
    probe_keys, probe_ids = probe_keys[order], probe_ids[order]
    pairs = [_pairs_within(probe_keys, probe_ids)]
    kept_runs = []
    for ref in kept:
        run = _read_runs(root, [ref])
        kept_runs.append(run)
        pairs.append(_pairs_across(probe_keys, probe_ids, *run))
    a, b = _unique_pairs(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]))
    if not kept:
        # A first build (or a bucket that had no entries): the new runs, merged when many.
        refs = _write_run(root, merged_name, _sorted(new_run)) if len(new) > MAX_RUNS else new
    else:
        refs = _compact(root, kept, kept_runs, new, new_run, merged_name, current_ids)
    release_memory()
    return BandResult(bucket, a, b, refs)


def _read_runs(root: Path, refs: list[Ref]) -> tuple[np.ndarray, np.ndarray]:
    """The (keys, ids) of the record batches `refs` point at, end to end."""
    keys, ids = [], []
    for name, index in refs:
        # Memory-mapped, not copied: a kept run is searched, and only the pages searched are read.
        reader = pa.ipc.open_file(pa.memory_map(str(root / name)))
        for i in range(reader.num_record_batches) if index == ALL_BATCHES else (index,):
            batch = reader.get_batch(i)
            keys.append(batch.column(0).to_numpy())
            ids.append(batch.column(1).to_numpy())
    if len(keys) == 1:
        return keys[0], ids[0]
    return np.concatenate(keys or [np.zeros(0, np.uint64)]), np.concatenate(ids or [np.zeros(0, np.uint64)])


def _pairs_within(keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of distinct ids among entries of equal key (`keys` sorted)."""
    if len(keys) < 2:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    lengths = np.diff(np.concatenate([starts, [len(keys)]]))
    out_a, out_b = [], []
    for length in np.unique(lengths[lengths > 1]):
        first = starts[lengths == length]
        i, j = np.triu_indices(int(length), 1)
        out_a.append(ids[(first[:, None] + i).reshape(-1)])
        out_b.append(ids[(first[:, None] + j).reshape(-1)])
    if not out_a:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    return np.concatenate(out_a), np.concatenate(out_b)


def _pairs_across(probe_keys: np.ndarray, probe_ids: np.ndarray, keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (probe, kept entry) pair of equal key; `keys` sorted."""
    lo = np.searchsorted(keys, probe_keys, side="left")
    hi = np.searchsorted(keys, probe_keys, side="right")
    counts = hi - lo
    if not counts.any():
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    probe = np.repeat(np.arange(len(probe_keys)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return probe_ids[probe], ids[np.repeat(lo, counts) + offsets]


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = a != b
    a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    if not len(a):
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    first = np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
    return a[first], b[first]


def _sorted(run: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(run[0], kind="stable")
    return run[0][order], run[1][order]


def _write_run(root: Path, name: str, run: tuple[np.ndarray, np.ndarray]) -> list[Ref]:
    """Write a sorted run as one record batch (searched in place, memory-mapped), via a
    temporary name."""
    tmp = root / (name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, BANDS_SCHEMA) as writer:
        writer.write_batch(pa.record_batch([pa.array(run[0], pa.uint64()), pa.array(run[1], pa.uint64())], schema=BANDS_SCHEMA))
    os.replace(tmp, root / name)
    return [(name, ALL_BATCHES)]


def _compact(
    root: Path, kept: list[Ref], kept_runs: list[tuple], new: list[Ref], new_run: tuple, name: str, current_ids: str | None
) -> list[Ref]:
    """The bucket's runs for the next build: the kept and new ones as they are or, beyond
    MAX_RUNS, merged into one sorted run at `name` without the entries of ids that are no
    longer rows: all but the first (the largest, usually), or all of them when the others hold
    as many entries as it."""
    runs = kept + new
    if len(runs) <= MAX_RUNS:
        return runs
    sizes = [len(run[0]) for run in kept_runs]
    everything = sum(sizes[1:]) + len(new_run[0]) >= sizes[0]
    merged = (kept_runs if everything else kept_runs[1:]) + [new_run]
    keys = np.concatenate([run[0] for run in merged])
    ids = np.concatenate([run[1] for run in merged])
    if current_ids is not None:
        with pa.memory_map(str(root / current_ids)) as source:
            current = pa.ipc.open_file(source).read_all().column("id").to_numpy()
        at = np.minimum(np.searchsorted(current, ids), max(len(current) - 1, 0))
        alive = current[at] == ids if len(current) else np.zeros(len(ids), bool)
        keys, ids = keys[alive], ids[alive]
    return ([] if everything else kept[:1]) + _write_run(root, name, _sorted((keys, ids)))
