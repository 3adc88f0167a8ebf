"""Near-duplicates, the stage between the file table and the reduce: link each copy to its original.

In: the signature files this build's map tasks wrote (`neardup.SignatureFiles`), the ids of
the cached rows whose files went stale, the file table, and the index the last build kept
(`neardup_index`). Out: `NearDupResult`: the links file (`join`) that the reduce joins by id in
`mark` mode (`LinkTable`) and that turns the copies' files into losers in `drop` mode
(`copies_as_losers`), the partitions of the rows whose links changed (written again),
report.json's `near_duplicates` section, and the index for the next build.

The flow: the touched ids (this build's rows, and rows whose cached file went stale) get the
row of their id again (`neardup_index.winners`); one task per band bucket finds the candidate
pairs of a touched row and any row (`neardup_bands`); tasks confirm them by exact Jaccard
similarity (`neardup_links.similarities`); the edges of untouched rows are kept, and the
components that hold a touched row, now or before, are grouped again (`neardup_links`). A
first build is the case where every row is touched. Whatever was built before, the links are
those a first build of the same files gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build import neardup_index as index
from dataset_tools.build.engines import release_memory
from dataset_tools.build.ids import id_numbers, id_strings
from dataset_tools.build.neardup import BAND_BUCKETS, COLUMN, SignatureFiles, band_rows, signed_bands
from dataset_tools.build.neardup_bands import band_candidates
from dataset_tools.build.neardup_links import Locations, components, similarity_tasks, split_groups
from dataset_tools.build.partition import month_keys

FILTER = 'ds.filter(lambda r: r["near_duplicate_of"] is None)'
INLINE_ROWS = 5000  # a build of fewer new rows runs its band tasks in this process
TOP_PAIRS = 20


@dataclass(frozen=True, slots=True)
class NearDupJoin:
    """What the reduce needs: the links file (relative to the cache; None: no row is a copy)
    and the mode (`mark` fills the column, `drop` leaves the copies out)."""

    links: str | None
    mode: str


@dataclass
class NearDupResult:
    join: NearDupJoin
    relinked: set[int]  # the partitions of the rows whose links changed (they must be written again)
    summary: dict | None  # report.json's `near_duplicates`
    state: dict | None  # the index, for the cache


def link_near_duplicates(
    runner,
    cache_root: Path,
    previous: dict | None,
    new: list[SignatureFiles],
    stale_ids: pa.Array,
    files: pa.Table | None,
    mode: str,
    threshold: float,
    generation: int,
) -> NearDupResult:
    """The stage (see the module's docstring). `files` is the new file table (None on a first
    build, when every cached row is this build's)."""
    if mode == "off":
        return NearDupResult(NearDupJoin(None, mode), set(), None, None)
    root = Path(cache_root)
    (root / "neardup").mkdir(exist_ok=True)
    state = index.NearDupState.from_json(previous)
    old_nodes = index.read_table(root, state.nodes, index.NODES_SCHEMA)
    old_links = index.read_table(root, state.links, index.LINKS_SCHEMA)

    new_rows = [f.rows for f in new]
    fresh = index.row_versions(root, new_rows)
    stale = np.unique(id_numbers(stale_ids))
    touched = np.unique(np.concatenate([fresh.column("id").to_numpy(), stale]))
    kept = index.valid_versions(_kept_versions(root, state.rows, old_nodes, touched, stale), files)
    if kept.num_rows:
        fresh = pa.concat_tables([kept.drop_columns([f.name for f in index.WIDE_FIELDS]), fresh]).unify_dictionaries().combine_chunks()
    del kept
    found = index.winners(root, fresh)
    del fresh  # (the columns `found` shares stay; the others go)
    reprobe = found.column("id").to_numpy()[~index.in_names(found.column("file"), new_rows)]
    nodes = index.replace_nodes(old_nodes, touched, found)
    del found, old_nodes
    state.rows += new_rows
    state.row_counts += [_rows_in(root, name) for name in new_rows]
    state, nodes = index.compact_rows(root, state, nodes, files, f"neardup/rows-{generation}.arrow")
    state.nodes = index.write_table(root, f"neardup/nodes-{generation}.arrow", nodes)
    release_memory()  # the versions' temporaries, before the band and confirmation tasks run beside this process

    a, b = _candidates(runner, root, state, new, nodes, reprobe, threshold, generation)
    similar = similarity_tasks(runner, _locations(nodes, a), _locations(nodes, b), str(root)) >= threshold
    edges = _edges(index.read_table(root, state.edges, index.EDGES_SCHEMA), touched, a[similar], b[similar])
    state.edges = index.write_table(root, f"neardup/edges-{generation}.arrow", edges)

    links = _links(runner, root, nodes, edges, old_links, touched, threshold)
    state.links = index.write_table(root, f"neardup/links-{generation}.arrow", links)
    return NearDupResult(
        NearDupJoin(state.links, mode), _parts(nodes, _changed_ids(old_links, links)), summary(links, nodes, mode, threshold), state.to_json()
    )


def _kept_versions(root: Path, files: list[str], nodes: pa.Table, touched: np.ndarray, stale: np.ndarray) -> pa.Table:
    """The cached versions (`row_versions` rows, wide) of the touched ids: of an id that had one
    version, that row (unless a file of the id went stale, which was that version: the only
    article of the id), read where the node says it is; of an id
    that had more, all of them, found in every rows file (rare: a URL collected twice)."""
    at = index.lookup(nodes, touched)
    known = nodes.take(pa.array(at[at >= 0])) if nodes.num_rows else nodes
    several = known.filter(pc.greater(known.column("versions"), 1)).column("id").to_numpy()
    single = known.filter(pa.array((known.column("versions").to_numpy() == 1) & ~index._member(known.column("id").to_numpy(), stale)))
    parts = [index.rows_at(root, single, wide=True)]
    if len(several):
        parts.append(index.row_versions(root, files, np.sort(several), wide=True))
    return pa.concat_tables(parts).unify_dictionaries().combine_chunks()


def _rows_in(root: Path, name: str) -> int:
    with pa.memory_map(str(root / name)) as source:
        reader = pa.ipc.open_file(source)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def _candidates(runner, root: Path, state, new: list[SignatureFiles], nodes: pa.Table, reprobe: np.ndarray, threshold: float, generation: int) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs of touched rows, one task per band bucket; `state.bands` becomes the
    runs the tasks leave. Both rows of a pair are rows of the dataset."""
    extra = _extra_probes(root, nodes, reprobe, threshold)
    arguments = [
        (
            bucket,
            state.bands.get(bucket, []),
            [(f.bands, f.batches[bucket]) for f in new if bucket in f.batches],
            extra.get(bucket, (np.zeros(0, np.uint64), np.zeros(0, np.uint64))),
            str(root),
            f"neardup/bands-{generation}-{bucket:02d}.arrow",
            state.nodes,
        )
        for bucket in range(BAND_BUCKETS)
    ]
    pairs_a, pairs_b = [np.zeros(0, np.uint64)], [np.zeros(0, np.uint64)]
    few = sum(f.count for f in new) + len(reprobe) <= INLINE_ROWS  # a small rebuild: no pool to start
    for result in (band_candidates(*task) for task in arguments) if few else runner.map_ordered(band_candidates, arguments):
        state.bands[result.bucket] = result.refs
        pairs_a.append(result.a)
        pairs_b.append(result.b)
    a, b = np.concatenate(pairs_a), np.concatenate(pairs_b)
    if len(a):
        order = np.lexsort((b, a))
        a, b = a[order], b[order]
        first = np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
        a, b = a[first], b[first]
        current = (index.lookup(nodes, a) >= 0) & (index.lookup(nodes, b) >= 0)
        a, b = a[current], b[current]
    return a, b


def _extra_probes(root: Path, nodes: pa.Table, ids: np.ndarray, threshold: float) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Band entries, by bucket, of the rows `ids` whose signatures are in no new band run (a
    cached version that is its id's row again): computed from their shingles."""
    if not len(ids):
        return {}
    at = index.lookup(nodes, np.sort(ids))
    picked = nodes.take(pa.array(at[at >= 0]))
    shingles, offsets, numbers = [], [0], []
    for name, mask in index.file_masks(picked.column("file")):
        part = picked.filter(pa.array(mask))
        with pa.memory_map(str(root / name)) as source:
            lists = pa.ipc.open_file(source).read_all().column("shingles").take(part.column("row")).combine_chunks()
        for value in lists.to_pylist():
            shingles.extend(value)
            offsets.append(len(shingles))
        numbers.extend(part.column("id").to_pylist())
    entries = signed_bands(np.array(shingles, np.uint32), np.array(offsets, np.int64), np.array(numbers, np.uint64), band_rows(threshold))
    out = {}
    for bucket in np.unique(entries.column("bucket").to_numpy()).tolist():
        part = entries.filter(pc.equal(entries.column("bucket"), bucket))
        out[bucket] = (part.column("key").to_numpy(), part.column("id").to_numpy())
    return out


def _locations(nodes: pa.Table, ids: np.ndarray) -> Locations:
    at = index.lookup(nodes, ids)
    files = nodes.column("file").take(pa.array(at)).combine_chunks()
    return Locations(files.dictionary.to_pylist(), files.indices.to_numpy(zero_copy_only=False), nodes.column("row").to_numpy()[at])


def _edges(old: pa.Table, touched: np.ndarray, a: np.ndarray, b: np.ndarray) -> pa.Table:
    """The last build's edges without those of touched rows, and the new ones, sorted."""
    old_a, old_b = old.column("a").to_numpy(), old.column("b").to_numpy()
    keep = ~(index._member(old_a, touched) | index._member(old_b, touched))
    a, b = np.concatenate([old_a[keep], a]), np.concatenate([old_b[keep], b])
    order = np.lexsort((b, a))
    return pa.table({"a": a[order], "b": b[order]}, schema=index.EDGES_SCHEMA)


def _links(runner, root: Path, nodes: pa.Table, edges: pa.Table, old: pa.Table, touched: np.ndarray, threshold: float) -> pa.Table:
    """LINKS_SCHEMA rows of every row in a component of `edges`: those of components that hold
    a touched row, now or in the last build (`old`), grouped again; the others as they were."""
    old_ids = id_numbers(old.column("id")) if old.num_rows else np.zeros(0, np.uint64)
    old_components = old.column("component").to_numpy()
    hit = np.unique(old_components[index._member(old_ids, touched)])
    affected = np.union1d(touched, old_ids[np.isin(old_components, hit)])
    a, b = edges.column("a").to_numpy(), edges.column("b").to_numpy()
    near = _reachable(a, b, affected)  # the edges of the components that hold an affected row
    regroup = components(a[near], b[near])
    members = np.array(sorted({m for ms in regroup.values() for m in ms}), np.uint64)
    published = dict(zip(members.tolist(), nodes.column("published_at").to_numpy()[index.lookup(nodes, members)].tolist()))

    confirmed = set(zip(a[near].tolist(), b[near].tolist()))

    def similarity(pairs: list[tuple[int, int]]) -> np.ndarray:
        # An edge is at least as similar as the threshold: only the other pairs are computed.
        out = np.ones(len(pairs))
        todo = [i for i, (x, y) in enumerate(pairs) if (min(x, y), max(x, y)) not in confirmed]
        if todo:
            x = np.array([pairs[i][0] for i in todo], np.uint64)
            y = np.array([pairs[i][1] for i in todo], np.uint64)
            out[todo] = similarity_tasks(runner, _locations(nodes, x), _locations(nodes, y), str(root))
        return out

    originals = split_groups(regroup, published, similarity, threshold)
    regrouped = np.array(sorted(m for ms in regroup.values() for m in ms), np.uint64)
    component = {m: r for r, ms in regroup.items() for m in ms}
    target = np.array([originals.get(m, m) for m in regrouped.tolist()], np.uint64)
    fresh = pa.table(
        {
            "id": id_strings(regrouped),
            "near_duplicate_of": [id_strings([t])[0] if t != m else None for m, t in zip(regrouped.tolist(), target.tolist())],
            "original_source_file": _source_files(root, nodes, target),
            "component": pa.array([component[m] for m in regrouped.tolist()], pa.uint64()),
        },
        schema=index.LINKS_SCHEMA,
    )
    unchanged = old.filter(pa.array(~(index._member(old_ids, regrouped) | index._member(old_ids, affected))))
    table = pa.concat_tables([unchanged, fresh])
    return table.take(pc.sort_indices(table.column("id"))).combine_chunks()


def _source_files(root: Path, nodes: pa.Table, ids: np.ndarray) -> pa.Array:
    """The source file of each row `ids` (read from the rows files: the nodes do not hold it)."""
    if not len(ids):
        return pa.array([], pa.string())
    unique = np.unique(ids)
    versions = index.rows_at(root, nodes.take(pa.array(index.lookup(nodes, unique))), wide=True)
    found = versions.take(pc.sort_indices(versions.column("id")))  # the rows of `unique`, in its order
    return found.column("source_file").take(pa.array(np.searchsorted(unique, ids))).combine_chunks()


def _reachable(a: np.ndarray, b: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Which edges (a[i], b[i]) are in a component that holds one of the sorted `seeds`."""
    reached = seeds
    mask = np.zeros(len(a), bool)
    while True:
        grown = index._member(a, reached) | index._member(b, reached)
        if grown.sum() == mask.sum():
            return grown
        mask = grown
        reached = np.union1d(reached, np.concatenate([a[mask], b[mask]]))


def _parts(nodes: pa.Table, ids: pa.Array) -> set[int]:
    """The partitions (`partition.month_keys`) of the rows with these ids, from their times in
    the nodes (an id no longer a row has none: its partition is written again anyway)."""
    if not len(ids):
        return set()
    at = index.lookup(nodes, np.unique(id_numbers(ids)))
    published = pa.array(nodes.column("published_at").to_numpy()[at[at >= 0]]).cast(pa.timestamp("us", tz="UTC"))
    return {part for part in month_keys(published).to_pylist() if part is not None}


def _changed_ids(old: pa.Table, new: pa.Table) -> pa.Array:
    """The ids of rows whose link (target or the target's file) is not what it was."""

    def copies(table: pa.Table) -> pa.Array:
        linked = table.filter(pc.is_valid(table.column("near_duplicate_of")))
        parts = [linked.column(c).combine_chunks() for c in ("id", "near_duplicate_of", "original_source_file")]
        return pc.binary_join_element_wise(*parts, "\t")

    before, after = copies(old), copies(new)
    changed = pa.concat_arrays([before.filter(pc.invert(pc.is_in(before, after))), after.filter(pc.invert(pc.is_in(after, before)))])
    return pc.unique(pc.utf8_slice_codeunits(changed, 0, 16)) if len(changed) else pa.array([], pa.string())


def summary(links: pa.Table, nodes: pa.Table, mode: str, threshold: float) -> dict:
    """report.json's `near_duplicates`: the setting, groups and rows linked, copies per outlet
    (with the share of the outlet's articles), and which outlets copy which most."""
    linked = links.filter(pc.is_valid(links.column("near_duplicate_of")))
    copies = id_numbers(linked.column("id")) if linked.num_rows else np.zeros(0, np.uint64)
    targets = id_numbers(linked.column("near_duplicate_of")) if linked.num_rows else np.zeros(0, np.uint64)
    domains = nodes.column("domain")
    copy_domains = domains.take(pa.array(index.lookup(nodes, copies))).to_pylist() if len(copies) else []
    original_domains = domains.take(pa.array(index.lookup(nodes, targets))).to_pylist() if len(targets) else []
    per_domain = Counter(copy_domains)
    articles: Counter = Counter()  # the rows of each outlet, counted on the dictionary's codes
    if per_domain:
        codes = domains.combine_chunks()
        counts = np.bincount(codes.indices.to_numpy(zero_copy_only=False), minlength=len(codes.dictionary))
        for name, count in zip(codes.dictionary.to_pylist(), counts.tolist()):
            articles[name] += count
    pairs = Counter(zip(copy_domains, original_domains))
    return {
        "mode": mode,
        "threshold": threshold,
        "groups": len(set(targets.tolist())),
        "rows": len(copies),
        "by_domain": [
            {"domain": d, "copies": n, "articles": articles[d], "share": round(n / articles[d], 4)}
            for d, n in sorted(per_domain.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "top_pairs": [
            {"copy": c, "original": o, "rows": n} for (c, o), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PAIRS]
        ],
        "filter": FILTER,
    }


# -- what the rest of the build takes from the links -------------------------------------------


def copies_as_losers(cache_root: Path, join: NearDupJoin, files: Callable[[], Iterable[pa.RecordBatch]], losers: pa.Table) -> pa.Table:
    """In `drop` mode, the files whose rows are copies (the file of the copy's id that does not
    already lose to another), as LOSERS_SCHEMA rows: outcome `near-duplicate`, `other` the
    original's file. The reduce leaves them out like any loser; they are accounted for in the
    report and the listings as such."""
    from dataset_tools.build.dedup import LOSERS_SCHEMA, empty_losers
    from dataset_tools.records import Outcome

    if join.mode != "drop" or join.links is None:
        return empty_losers()
    links = _copies(Path(cache_root), join)
    lost = losers.column("path")
    found = []
    for batch in files():
        rows = batch.filter(pc.and_(pc.is_in(batch.column("id"), value_set=links.column("id")), pc.invert(pc.is_in(batch.column("path"), value_set=lost))))
        if rows.num_rows:
            found.append(pa.Table.from_batches([rows.select(["path", "id", "part"])]))
    if not found:
        return empty_losers()
    rows = pa.concat_tables(found)
    other = links.column("original_source_file").take(pc.index_in(rows.column("id"), value_set=links.column("id")))
    outcome = pa.array([Outcome.NEAR_DUPLICATE.value] * rows.num_rows, pa.string())
    return pa.table([rows.column("path"), outcome, other, rows.column("id"), rows.column("part")], schema=LOSERS_SCHEMA)


def _copies(root: Path, join: NearDupJoin) -> pa.Table:
    """The links of the rows that are copies, sorted by id."""
    table = index.read_table(root, join.links, index.LINKS_SCHEMA)
    return table.filter(pc.is_valid(table.column("near_duplicate_of"))).combine_chunks()


class LinkTable:
    """The links a reduce task joins (`mark` mode: copies only), read once per task and looked
    up by id (the table is sorted by id, and an id is a 64-bit number in hex)."""

    def __init__(self, cache_root: str, join: NearDupJoin | None) -> None:
        self.numbers = self.targets = None
        if join is None or join.links is None or join.mode != "mark":
            return  # off, no copies, or `drop` (the copies are losers, left out before the join)
        table = _copies(Path(cache_root), join)
        self.numbers = id_numbers(table.column("id"))
        self.targets = table.column("near_duplicate_of").combine_chunks() if table.num_rows else pa.array([], pa.string())

    def join(self, rows: pa.Table) -> pa.Table:
        """`rows` with `near_duplicate_of` appended: the id of the row each is a copy of, or null."""
        if self.numbers is None or not len(self.numbers):
            return rows.append_column(COLUMN, pa.nulls(rows.num_rows, pa.string()))
        numbers = id_numbers(rows.column("id"))
        at = np.minimum(np.searchsorted(self.numbers, numbers), len(self.numbers) - 1)
        found = self.numbers[at] == numbers
        return rows.append_column(COLUMN, self.targets.take(pa.array(at, mask=~found)))
