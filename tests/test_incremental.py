"""Incremental builds and engines: a rebuild redoes only what changed, and every way of
building the same input gives the same bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from dataset_tools.build import build_dataset
from dataset_tools import layout
from dataset_tools.report import read_outcomes
from rawfiles import collected_article, write_raw


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _story(n: int, **parts) -> str:
    """Item `n`, published in month 1 + n % 6 of 2025 (unless `timestamps` says otherwise)."""
    month = 1 + n % 6
    fields = dict(
        url=f"https://news.example.org/2026/item-{n}.html",
        title=f"Item {n} on the river works",
        timestamps=(f"2025-{month:02d}-{1 + n % 27:02d}T09:15+0000",) * 2 + (f"2025-{month:02d}-{1 + n % 27:02d}T11:40+0000",),
    )
    fields.update(parts)
    return collected_article(**fields)


@pytest.fixture
def corpus(settings, project):
    raw = project / "raw"
    for n in range(80):
        write_raw(raw, f"{n:03d}_{n:016x}.txt", _story(n))
    write_raw(raw, "900_ffff000000000000.txt", b"")
    # six months, a shard each, so that a change touches one of them
    return settings, raw


def test_incremental_rebuild_reparses_one_file_and_rewrites_one_shard(corpus, tmp_path):
    settings, raw = corpus
    first = build_dataset(settings, workers=1)
    assert first.parsed == 81 and len(first.shards) == 6 and first.shards_written == 6
    before = _digest(settings.out)

    again = build_dataset(settings, workers=1)
    assert again.parsed == 0 and again.shards_written == 0
    assert _digest(settings.out) == before

    write_raw(raw, "017_0000000000000011.txt", _story(17, lead="RIVERTON (Example Wire) - A corrected lead for item seventeen."))
    changed = build_dataset(settings, workers=1)
    assert changed.parsed == 1
    assert changed.shards_written == 1
    after = _digest(settings.out)
    data_before = {k: v for k, v in before.items() if k.startswith("data/")}
    data_after = {k: v for k, v in after.items() if k.startswith("data/")}
    assert sum(data_before[k] != data_after[k] for k in data_before) == 1

    clean = build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert clean.parsed == 81
    assert _digest(tmp_path / "clean") == after


def test_touching_a_file_without_changing_it_parses_nothing(corpus):
    settings, raw = corpus
    build_dataset(settings, workers=1)
    before = _digest(settings.out)
    target = raw / "005_0000000000000005.txt"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10_000_000_000))
    result = build_dataset(settings, workers=1)
    assert result.parsed == 0 and result.shards_written == 0
    assert _digest(settings.out) == before


def _settle(folder: Path, clock=[0]) -> None:
    """Give each folder changed in the last minute an mtime of its own, a day ago: as if every
    change had been made long before the next build (which then trusts the folders the cache
    read unchanged, instead of reading again those changed within a few seconds of that)."""
    import time

    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        if path.stat().st_mtime > time.time() - 60:
            clock[0] += 1
            os.utime(path, (time.time() - 86400 + clock[0],) * 2)


def test_rebuilds_that_trust_the_cached_folder_names_see_every_change(corpus, tmp_path):
    # The cache keeps the raw folder's names (folders.bin); a rebuild reads again only the
    # folders whose mtime changed, and stats every file: edits, additions and removals in
    # either kind of folder must all show.
    settings, raw = corpus
    (raw / "sub").mkdir()
    write_raw(raw / "sub", "100_sub.txt", _story(100))
    _settle(raw)
    build_dataset(settings, workers=1)
    folders_file = settings.root / ".dataset-tools-cache" / "folders.bin"
    assert folders_file.is_file()

    write_raw(raw, "017_0000000000000011.txt", _story(17, lead="RIVERTON (Example Wire) - An edit in place."))  # folder mtime stays
    _settle(raw)
    assert build_dataset(settings, workers=1).parsed == 1
    write_raw(raw / "sub", "101_sub.txt", _story(101))  # a new file in a sub-folder
    (raw / "003_0000000000000003.txt").unlink()
    _settle(raw)
    changed = build_dataset(settings, workers=1)
    assert (changed.parsed, changed.inputs, changed.rows) == (1, 82, 81)
    assert build_dataset(settings, workers=1).parsed == 0
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)
    assert list(tmp_path.rglob("folders.bin")) == [folders_file]  # --no-cache keeps nothing


def test_removing_the_newer_version_brings_back_the_older(corpus, tmp_path):
    settings, raw = corpus
    newer = _story(3, timestamps=("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-01-09T09:00+0000"),
                   lead="RIVERTON (Example Wire) - Item three, revised.")
    write_raw(raw, "500_0000000000000003.txt", newer)
    first = build_dataset(settings, workers=1)
    assert first.superseded == 1
    (raw / "500_0000000000000003.txt").unlink()
    second = build_dataset(settings, workers=1)
    assert second.superseded == 0 and second.rows == 80
    assert second.parsed == 0
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_a_rebuild_that_adds_a_copy_and_a_newer_version_reports_them_as_a_clean_build_does(corpus, tmp_path):
    # Copies and versions are found over the file table, before the one month's shard is written.
    settings, raw = corpus
    build_dataset(settings, workers=1)
    write_raw(raw, "600_copy.txt", _story(5))  # byte-identical to item five
    newer = _story(5, timestamps=("2025-06-06T09:15+0000", "2025-06-06T09:15+0000", "2025-06-09T09:00+0000"),
                   lead="RIVERTON (Example Wire) - Item five, revised.")
    write_raw(raw, "601_newer.txt", newer)
    added = build_dataset(settings, workers=1)
    assert (added.parsed, added.shards_written, added.duplicates, added.superseded) == (2, 1, 1, 1)
    outcomes = {path: item["outcome"] for path, item in read_outcomes(settings.out).items()}
    assert (outcomes["600_copy.txt"], outcomes["601_newer.txt"], outcomes["005_0000000000000005.txt"]) == ("duplicate", "row", "superseded")
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)

    write_raw(raw, "601_newer.txt", newer.replace("revised", "revised again"))  # the bucket's cached losers stay
    edited = build_dataset(settings, workers=1)
    assert (edited.parsed, edited.shards_written, edited.duplicates, edited.superseded) == (1, 1, 1, 1)
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_a_rebuild_still_names_the_copies_in_the_months_it_keeps(corpus, tmp_path):
    # One month is written again; the listings of the others are kept, and must still name every copy.
    settings, raw = corpus
    for n in range(0, 80, 2):
        write_raw(raw, f"7{n:02d}_copy.txt", _story(n))  # copies in every month
    first = build_dataset(settings, workers=1)
    assert first.duplicates == 40
    write_raw(raw, "017_0000000000000011.txt", _story(17, lead="RIVERTON (Example Wire) - A corrected lead for item seventeen."))
    changed = build_dataset(settings, workers=1)
    assert (changed.parsed, changed.shards_written, changed.duplicates) == (1, 1, 40)
    copies = {path for path, item in read_outcomes(settings.out).items() if item["outcome"] == "duplicate"}
    assert copies == {f"7{n:02d}_copy.txt" for n in range(0, 80, 2)}
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_cache_folder_is_safe_to_delete(corpus, project):
    settings, raw = corpus
    build_dataset(settings, workers=1)
    before = _digest(settings.out)
    shutil.rmtree(project / ".dataset-tools-cache")
    result = build_dataset(settings, workers=1)
    assert result.parsed == 81
    assert _digest(settings.out) == before


def test_what_the_card_cached_under_other_code_is_not_reused(corpus, project):
    # Card statistics and the plot are cached by a digest of the code that makes them: what a
    # tool with other counting or drawing code cached (even under the same version number) is
    # not read, and is removed.
    settings, raw = corpus
    build_dataset(settings, workers=1)
    before = _digest(settings.out)
    card = project / ".dataset-tools-cache" / "card"
    [current] = [p for p in card.iterdir()]
    other = card / "0123456789abcdef"
    current.rename(other)
    for cached in other.iterdir():  # what the other code made: different counts, another picture
        if cached.name.startswith("stats-"):
            counts = json.loads(cached.read_bytes())
            counts["languages"] = [["xx", counts["rows"]]]
            cached.write_text(json.dumps(counts))
        elif cached.suffix == ".png":
            cached.write_bytes(b"\x89PNG another picture")
    (card / "stats-0000.json").write_text("{}")  # a file of the older flat layout
    write_raw(raw, "017_0000000000000011.txt", _story(17, lead="RIVERTON (Example Wire) - A corrected lead for item seventeen."))
    changed = build_dataset(settings, workers=1)
    assert changed.parsed == 1
    after = _digest(settings.out)
    assert after["images/articles-per-month.png"] == before["images/articles-per-month.png"]
    readme = (settings.out / "README.md").read_text(encoding="utf-8")
    assert "xx" not in readme.split("---")[1]  # the languages in the card's metadata are the data's
    assert sorted(p.name for p in card.iterdir()) == [current.name]


def test_a_shard_edited_by_hand_is_rewritten_not_reused(corpus):
    settings, raw = corpus
    first = build_dataset(settings, workers=1)
    victim = settings.out / first.shards[2]["path"]
    good = victim.read_bytes()
    victim.write_bytes(b"garbage")
    result = build_dataset(settings, workers=1)
    assert result.shards_written == 1
    assert victim.read_bytes() == good


def test_process_pool_and_dask_give_identical_bytes(corpus, tmp_path):
    import distributed  # noqa: F401  (the test extra installs it; a missing engine must fail, not skip)
    settings, raw = corpus
    build_dataset(settings, out=tmp_path / "inline", use_cache=False, workers=1)
    build_dataset(settings, out=tmp_path / "pool", use_cache=False, workers=2)
    build_dataset(settings, out=tmp_path / "dask", use_cache=False, workers=2, engine="dask")
    inline = _digest(tmp_path / "inline")
    assert _digest(tmp_path / "pool") == inline
    assert _digest(tmp_path / "dask") == inline


def test_a_dask_cluster_started_during_the_listing_is_stopped_when_the_build_cannot_go_on(corpus, tmp_path):
    # The LocalCluster starts while the raw folder is listed; a build that then finds its
    # cache in use by another build must not leave the cluster's worker processes behind.
    import fcntl

    import psutil

    from dataset_tools.errors import CacheBusy

    settings, _ = corpus
    cache = tmp_path / "busy-cache"
    cache.mkdir()
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(CacheBusy):
            build_dataset(settings, out=tmp_path / "out", cache_dir=cache, workers=2, engine="dask")
    left = [p.cmdline() for p in psutil.Process().children(recursive=True) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert [c for c in left if "multiprocessing.resource_tracker" not in " ".join(c)] == []  # the tracker lives as long as this process


def test_a_partition_compacted_from_many_chunks_keeps_all_its_rows(settings, project, tmp_path, monkeypatch):
    """A month whose rows are spread over more chunk files than MAX_REFS is rewritten into one
    file; the next incremental build must still find every row of it, read where it lies."""
    from dataset_tools.build import plan

    raw = project / "raw"
    for n in range(40):  # one month, parsed by several tasks (16 files each)
        write_raw(raw, f"{n:05d}_{n:016x}.txt", _story(n, timestamps=(f"2025-03-{1 + n % 27:02d}T08:{n:02d}+0000",)))
    monkeypatch.setattr(plan, "MAX_REFS", 1)
    settings = dataclasses.replace(settings, shard_rows=10)
    first = build_dataset(settings, workers=1)
    assert first.rows == 40 and len(first.shards) == 4

    write_raw(raw, f"{5:05d}_{5:016x}.txt", _story(5, timestamps=("2025-03-06T08:05+0000",), lead="RIVERTON (Example Wire) - A corrected lead."))
    changed = build_dataset(settings, workers=1)
    assert changed.parsed == 1 and changed.rows == 40
    again = build_dataset(settings, workers=1)  # reads the partition file the last build rewrote
    assert again.parsed == 0 and again.rows == 40

    import pyarrow.parquet as pq

    assert sum(pq.ParquetFile(p).metadata.num_rows for p in layout.data_files(settings.out)) == 40
    clean = build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert clean.rows == 40
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_a_month_merged_in_groups_on_disk_gives_the_same_bytes(settings, project, tmp_path, monkeypatch):
    """A month of more map batches than a reduce task holds (a cold build of a large corpus) is
    merged a group at a time into runs on disk, read back a slice at a time: the dataset,
    duplicates and superseded versions included, must be byte for byte the one the in-memory
    merge writes."""
    from dataset_tools.build import merge, plan

    raw = project / "raw"
    for n in range(80):  # two months
        write_raw(raw, f"{n:05d}_{n:016x}.txt", _story(n, timestamps=(f"2025-{3 + n % 2:02d}-{1 + n % 27:02d}T08:{n % 60:02d}+0000",)))
    write_raw(raw, "99998_copy.txt", _story(3, timestamps=("2025-04-04T08:03+0000",)))  # a byte-identical duplicate
    write_raw(raw, "99999_update.txt", _story(4, timestamps=("2025-03-05T08:04+0000", "2025-03-05T08:04+0000", "2025-03-09T08:00+0000"), lead="RIVERTON (Example Wire) - An updated lead."))
    settings = dataclasses.replace(settings, shard_rows=20)
    monkeypatch.setattr(merge, "SORT_SLICE", 5)  # slices that start inside runs and their batches
    monkeypatch.setattr(plan, "TAIL_FILES", 16)

    in_memory = build_dataset(settings, out=tmp_path / "memory", use_cache=False, workers=1)
    monkeypatch.setattr(merge, "GROUP_RUNS", 2)  # every two map batches are merged onto disk
    monkeypatch.setattr(merge, "RUN_BATCH_ROWS", 3)
    groups = []
    real_add_group = merge.Runs.add_group
    monkeypatch.setattr(merge.Runs, "add_group", lambda self, batches: (groups.append(len(batches)), real_add_group(self, batches))[1])
    spilled = build_dataset(settings, out=tmp_path / "spilled", use_cache=False, workers=1)
    assert groups and set(groups) == {2}
    assert (spilled.rows, spilled.duplicates, spilled.superseded) == (in_memory.rows, in_memory.duplicates, in_memory.superseded) == (80, 1, 1)
    assert _digest(tmp_path / "spilled") == _digest(tmp_path / "memory")
    assert not list(tmp_path.rglob("merge-*"))  # the group runs are deleted once merged


def test_an_update_that_moves_to_another_month_moves_the_row(corpus, tmp_path):
    settings, raw = corpus
    build_dataset(settings, workers=1)
    moved = _story(13, timestamps=("2025-06-20T09:00+0000", "2025-06-20T09:00+0000", "2025-06-21T10:00+0000"), lead="RIVERTON (Example Wire) - Item thirteen, dated again.")
    write_raw(raw, "613_moved.txt", moved)  # item 13 (month 2) collected again, now dated in June
    result = build_dataset(settings, workers=1)
    assert (result.parsed, result.superseded, result.shards_written) == (1, 1, 2)  # February loses the row, June gains it
    outcomes = read_outcomes(settings.out)
    assert (outcomes["013_000000000000000d.txt"]["outcome"], outcomes["013_000000000000000d.txt"]["other"]) == ("superseded", "613_moved.txt")
    import pyarrow.parquet as pq

    february = pq.read_table(settings.out / "data/2025/02/train-0000.parquet").column("source_file").to_pylist()
    june = pq.read_table(settings.out / "data/2025/06/train-0000.parquet").column("source_file").to_pylist()
    assert "013_000000000000000d.txt" not in february and "613_moved.txt" in june
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_adding_articles_for_the_newest_days_rewrites_only_the_newest_months_files(corpus, tmp_path):
    settings, raw = corpus
    build_dataset(settings, workers=1)
    before = _digest(settings.out)
    for n in range(200, 205):
        write_raw(raw, f"{n}_new.txt", _story(n, timestamps=(f"2025-06-28T0{n - 200}:00+0000",)))
    result = build_dataset(settings, workers=1)
    assert (result.parsed, result.shards_written) == (5, 1)
    after = _digest(settings.out)
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed == ["README.md", "croissant.json", "data/2025/06/train-0000.parquet", "datapackage.json",
                       "images/articles-per-month.png", "inputs/2025/06.parquet", "manifest.json", "report.json"]
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == after


@pytest.mark.parametrize("few", [0, 4096])  # the sort, and the slices put end to end
def test_a_rebuilds_file_table_is_the_old_one_with_changed_rows_replaced_in_path_order(few):
    import random

    import pyarrow as pa

    from dataset_tools.build.filetable import replace_rows

    rng = random.Random(7)
    for _ in range(200):
        names = sorted({f"{rng.choice('abcü')}{rng.randrange(40):02d}" for _ in range(rng.randrange(30))})
        schema = pa.schema([("path", pa.string()), ("n", pa.int64())])
        old = pa.table({"path": names, "n": list(range(len(names)))}, schema=schema)
        old = pa.concat_tables([old.slice(i, 3) for i in range(0, len(names), 3)] or [old])  # chunked, as a cached table
        stale = [rng.random() < 0.3 for _ in names]
        gone = {p for p, s in zip(names, stale) if s}
        candidates = sorted({f"{rng.choice('abcü')}{rng.randrange(40):02d}" for _ in range(rng.randrange(10))})
        new_paths = [p for p in candidates if p in gone or p not in names]
        new = pa.table({"path": new_paths, "n": [-1 - i for i in range(len(new_paths))]}, schema=schema)
        got = replace_rows(old, pa.array(stale, pa.bool_()), new, few=few)
        expected = sorted([(p, n) for p, n, s in zip(names, range(len(names)), stale) if not s] + list(zip(new_paths, new.column("n").to_pylist())))
        assert list(zip(got.column("path").to_pylist(), got.column("n").to_pylist())) == expected
