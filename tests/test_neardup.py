"""Near-duplicates: copies linked to their original in `near_duplicate_of`, dropped on request,
reported, and the same whichever way the dataset is built."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_tools.build import build_dataset
from dataset_tools.build.neardup_text import shingles
from dataset_tools.report import read_outcomes
from rawfiles import story_paragraphs, wire_copy, write_raw

T0, T1, T2, T3 = "2026-01-05T09:15+0000", "2026-01-05T13:00+0000", "2026-01-06T08:00+0000", "2026-01-07T08:00+0000"


def _reword(paragraphs: tuple[str, ...], at: int, sentences: int, seed: int) -> tuple[str, ...]:
    """`paragraphs` with the first `sentences` sentences of paragraph `at` written anew."""
    out = list(paragraphs)
    parts = out[at].split(". ")
    parts[:sentences] = story_paragraphs(seed, 1, sentences)[0].split(". ")[:sentences]
    out[at] = ". ".join(parts)
    return tuple(out)


def jaccard(x: tuple[str, ...], y: tuple[str, ...]) -> float:
    """The word 5-gram Jaccard similarity of two bodies given as paragraphs."""
    values, offsets = shingles(pa.array(["\n\n".join(x), "\n\n".join(y)]))
    a, b = set(values[: offsets[1]].tolist()), set(values[offsets[1] :].tolist())
    return len(a & b) / len(a | b)


def rows(folder: Path) -> dict[str, dict]:
    """The built rows by URL."""
    table = pq.read_table(sorted((folder / "data").rglob("*.parquet")))
    return {row["url"]: row for row in table.select(["url", "id", "domain", "near_duplicate_of"]).to_pylist()}


def url(n: int, host: str = "news.example.org") -> str:
    return f"https://{host}/2026/story-{n}.html"


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


ORIGINAL = story_paragraphs(1)
COPY = _reword(ORIGINAL, 2, 1, 500)  # one sentence reworded
NEGATIVE = (ORIGINAL[0], *story_paragraphs(99)[1:3], ORIGINAL[3], *story_paragraphs(99)[4:])  # the lead and a background paragraph


def test_a_copy_on_another_outlet_is_linked_to_the_earlier_original_and_a_hard_negative_is_not(settings, project):
    assert jaccard(ORIGINAL, COPY) >= 0.8 and jaccard(ORIGINAL, NEGATIVE) <= 0.4
    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, host="daily.example.com", published=T1, dateline="HARBOURTON (Daily Example) - ", paragraphs=COPY))
    write_raw(raw, "003.txt", wire_copy(3, host="courier.example.net", published=T1, paragraphs=NEGATIVE))
    write_raw(raw, "004.txt", wire_copy(4, published=T2))  # an unrelated story
    result = build_dataset(settings, workers=1)
    built = rows(settings.out)
    original = built[url(1)]
    assert original["near_duplicate_of"] is None
    assert built[url(2, "daily.example.com")]["near_duplicate_of"] == original["id"]
    assert built[url(3, "courier.example.net")]["near_duplicate_of"] is None
    assert built[url(4)]["near_duplicate_of"] is None
    assert result.rows == 4

    report = json.loads((settings.out / "report.json").read_text())["near_duplicates"]
    assert report["mode"] == "mark" and report["threshold"] == 0.8
    assert (report["groups"], report["rows"]) == (1, 1)
    assert report["by_domain"] == [{"domain": "daily.example.com", "copies": 1, "articles": 1, "share": 1.0}]
    assert report["top_pairs"] == [{"copy": "daily.example.com", "original": "news.example.org", "rows": 1}]
    assert report["filter"] == 'ds.filter(lambda r: r["near_duplicate_of"] is None)'
    card = (settings.out / "README.md").read_text()
    assert 'ds.filter(lambda r: r["near_duplicate_of"] is None)' in card
    assert "| daily.example.com | news.example.org | 1 |" in card


def test_a_chain_of_three_copies_points_at_the_earliest(settings, project):
    second = _reword(ORIGINAL, 1, 2, 501)
    third = _reword(second, 4, 2, 502)
    assert jaccard(ORIGINAL, second) >= 0.8 and jaccard(second, third) >= 0.8
    assert 0.4 <= jaccard(ORIGINAL, third) < 0.8  # a copy of the copy, not of the first
    raw = project / "raw"
    # The files' order is not the order of publication: the earliest is found by published_at.
    write_raw(raw, "001.txt", wire_copy(3, host="c.example.org", published=T2, paragraphs=third))
    write_raw(raw, "002.txt", wire_copy(1, host="a.example.org", published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "003.txt", wire_copy(2, host="b.example.org", published=T1, paragraphs=second))
    build_dataset(settings, workers=1)
    built = rows(settings.out)
    first = built[url(1, "a.example.org")]["id"]
    assert built[url(1, "a.example.org")]["near_duplicate_of"] is None
    assert built[url(2, "b.example.org")]["near_duplicate_of"] == first
    assert built[url(3, "c.example.org")]["near_duplicate_of"] == first


def test_ties_in_publication_time_go_to_the_smallest_id(settings, project):
    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, host="a.example.org", published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, host="b.example.org", published=T0, paragraphs=COPY))
    build_dataset(settings, workers=1)
    built = rows(settings.out)
    smallest, largest = sorted(row["id"] for row in built.values())
    by_id = {row["id"]: row for row in built.values()}
    assert by_id[smallest]["near_duplicate_of"] is None and by_id[largest]["near_duplicate_of"] == smallest


def test_a_copy_below_the_threshold_setting_is_not_linked(settings, project):
    copy = _reword(ORIGINAL, 2, 2, 503)
    assert 0.8 <= jaccard(ORIGINAL, copy) < 0.9
    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, published=T1, paragraphs=copy))
    build_dataset(dataclasses.replace(settings, near_duplicate_threshold=0.9), workers=1)
    assert [row["near_duplicate_of"] for row in rows(settings.out).values()] == [None, None]
    build_dataset(settings, workers=1)
    assert sorted(row["near_duplicate_of"] is None for row in rows(settings.out).values()) == [False, True]


def test_drop_mode_removes_the_copies_and_names_them_in_the_report(settings, project):
    from dataset_tools.schema import load_table_schema
    from dataset_tools.validate import validate_dataset

    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, host="daily.example.com", published=T1, paragraphs=COPY))
    write_raw(raw, "003.txt", wire_copy(3, host="courier.example.net", published=T2, paragraphs=_reword(COPY, 4, 1, 504)))
    write_raw(raw, "004.txt", wire_copy(4, published=T2))
    result = build_dataset(dataclasses.replace(settings, near_duplicates="drop"), workers=1)
    assert (result.inputs, result.rows, result.report.near_duplicates) == (4, 2, 2)
    assert sorted(rows(settings.out)) == [url(1), url(4)]
    assert all(row["near_duplicate_of"] is None for row in rows(settings.out).values())
    report = json.loads((settings.out / "report.json").read_text())
    assert report["counts"]["near_duplicates"] == 2
    assert report["near_duplicates"]["mode"] == "drop" and report["near_duplicates"]["rows"] == 2
    outcomes = read_outcomes(settings.out)  # the input listings
    assert outcomes["002.txt"]["outcome"] == outcomes["003.txt"]["outcome"] == "near-duplicate"
    assert outcomes["002.txt"]["other"] == outcomes["003.txt"]["other"] == "001.txt"
    assert validate_dataset(settings.out, load_table_schema(settings.schema)).valid


def test_off_mode_keeps_the_column_all_null(settings, project):
    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, published=T1, paragraphs=COPY))
    build_dataset(dataclasses.replace(settings, near_duplicates="off"), workers=1)
    assert [row["near_duplicate_of"] for row in rows(settings.out).values()] == [None, None]
    assert "near_duplicates" not in json.loads((settings.out / "report.json").read_text())
    assert not list((settings.root / ".dataset-tools-cache").glob("neardup/*.arrow"))


def test_a_new_earlier_original_becomes_the_target_of_existing_rows_on_a_rebuild(settings, project, tmp_path):
    settings = dataclasses.replace(settings, shard_rows=2)
    raw = project / "raw"
    for n in range(10, 20):  # other stories, in another month: their shards are not the copies'
        write_raw(raw, f"{n:03d}.txt", wire_copy(n, published="2025-12-01T08:00+0000"))
    write_raw(raw, "002.txt", wire_copy(2, host="b.example.org", published=T2, paragraphs=COPY))
    write_raw(raw, "003.txt", wire_copy(3, host="c.example.org", published=T3, paragraphs=_reword(COPY, 5, 1, 505)))
    build_dataset(settings, workers=1)
    built = rows(settings.out)
    second = built[url(2, "b.example.org")]["id"]
    assert built[url(3, "c.example.org")]["near_duplicate_of"] == second
    before = _digest(settings.out)

    write_raw(raw, "001.txt", wire_copy(1, host="a.example.org", published=T0, paragraphs=ORIGINAL))
    again = build_dataset(settings, workers=1)
    assert again.parsed == 1
    built = rows(settings.out)
    new = built[url(1, "a.example.org")]["id"]
    assert built[url(1, "a.example.org")]["near_duplicate_of"] is None
    assert built[url(2, "b.example.org")]["near_duplicate_of"] == new
    assert built[url(3, "c.example.org")]["near_duplicate_of"] == new
    # The shards of the rows whose link changed were written again, not only the new row's.
    shard_of = {row["id"]: None for row in built.values()}
    for path in (settings.out / "data").rglob("*.parquet"):
        for id_ in pq.read_table(path, columns=["id"]).column("id").to_pylist():
            shard_of[id_] = path.relative_to(settings.out).as_posix()
    after = _digest(settings.out)
    for id_ in (second, built[url(3, "c.example.org")]["id"]):
        assert before.get(shard_of[id_]) != after[shard_of[id_]]
    # Only the month of the changed links was written again; December's files were kept.
    assert again.shards_written == sum(1 for s in again.shards if s["path"].startswith("data/2026/01/"))
    december = [name for name in before if name.startswith(("data/2025/12/", "inputs/2025/12"))]
    assert december and all(before[name] == after[name] for name in december)

    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == after


def _copies_corpus(raw: Path) -> None:
    for n in range(40):
        write_raw(raw, f"{n:03d}.txt", wire_copy(n, published=T0))
    for n in range(0, 40, 4):  # a copy of every fourth story, on another outlet, a day later
        write_raw(raw, f"1{n:02d}.txt", wire_copy(100 + n, host="daily.example.com", published=T2,
                                                 paragraphs=_reword(story_paragraphs(n), 3, 1, 600 + n)))


@pytest.mark.parametrize("mode", ["mark", "drop"])
def test_clean_incremental_and_dask_builds_are_byte_identical(settings, project, tmp_path, mode):
    import distributed  # noqa: F401  (the test extra installs it: a missing engine must fail, not skip)

    settings = dataclasses.replace(settings, shard_rows=8, near_duplicates=mode)
    raw = project / "raw"
    _copies_corpus(raw)

    def same_as_clean(label: str) -> None:
        clean = tmp_path / f"clean-{label}"
        build_dataset(settings, out=clean, use_cache=False, workers=1)
        assert _digest(clean) == _digest(settings.out), label

    first = build_dataset(settings, workers=2)
    assert first.report.near_duplicate_links["rows"] == 10
    assert first.report.near_duplicates == (10 if mode == "drop" else 0)  # the copies left out
    same_as_clean("first")
    if mode == "mark":
        build_dataset(settings, out=tmp_path / "dask", use_cache=False, workers=2, engine="dask")
        assert _digest(tmp_path / "dask") == _digest(settings.out)

    (raw / "004.txt").unlink()  # an original goes: its copy is nobody's copy now
    write_raw(raw, "108.txt", wire_copy(108, host="daily.example.com", published=T2, paragraphs=story_paragraphs(77)))  # no longer a copy
    write_raw(raw, "200.txt", wire_copy(200, host="late.example.net", published=T3, paragraphs=_reword(story_paragraphs(12), 1, 1, 700)))
    changed = build_dataset(settings, workers=1)
    assert changed.parsed == 2
    assert changed.report.near_duplicate_links["rows"] == 9
    assert changed.report.near_duplicates == (9 if mode == "drop" else 0)
    same_as_clean("changed")

    write_raw(raw, "004.txt", wire_copy(4, published=T0))  # it comes back
    assert build_dataset(settings, workers=2).report.near_duplicate_links["rows"] == 10
    same_as_clean("back")


def test_a_rebuild_after_many_small_ones_merges_the_index_and_keeps_the_links(settings, project, tmp_path, monkeypatch):
    from dataset_tools.build import neardup_bands, neardup_index

    monkeypatch.setattr(neardup_bands, "MAX_RUNS", 2)
    monkeypatch.setattr(neardup_index, "MAX_SMALL_FILES", 2)
    raw = project / "raw"
    _copies_corpus(raw)
    build_dataset(settings, workers=1)
    for n in range(6):  # one new copy per rebuild
        write_raw(raw, f"3{n:02d}.txt", wire_copy(300 + n, host="late.example.net", published=T3,
                                                 paragraphs=_reword(story_paragraphs(n + 1), 2, 1, 800 + n)))
        build_dataset(settings, workers=1)
    cache = settings.root / ".dataset-tools-cache"
    state = json.loads((cache / "state.json").read_text())["neardup"]
    assert len(state["rows"]) < 8 and all(len(refs) <= 3 for refs in state["bands"].values())
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


def test_validate_finds_a_link_to_no_row(settings, project):
    from dataset_tools.schema import load_table_schema
    from dataset_tools.validate import validate_dataset

    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, published=T1, paragraphs=COPY))
    build_dataset(settings, workers=1)
    schema = load_table_schema(settings.schema)
    assert validate_dataset(settings.out, schema).valid
    [shard] = (settings.out / "data").rglob("*.parquet")
    table = pq.read_table(shard)
    links = table.column("near_duplicate_of").to_pylist()
    table = table.set_column(table.schema.get_field_index("near_duplicate_of"), table.schema.field("near_duplicate_of"),
                             pa.array([None if v is None else "00000000000000ff" for v in links], pa.string()))
    pq.write_table(table, shard)
    report = validate_dataset(settings.out, schema)
    errors = [e for e in report.errors if e.type == "near-duplicate-target"]
    assert len(errors) == 1 and errors[0].field == "near_duplicate_of"
    assert "00000000000000ff" in errors[0].message


def test_the_settings_are_checked(project):
    import re

    from dataset_tools.config import load_settings
    from dataset_tools.errors import ConfigError

    text = re.sub(r"(?m)^near_duplicate.*\n", "", (project / "pyproject.toml").read_text())

    def setting(lines: str):
        (project / "pyproject.toml").write_text(text.replace("shard_rows = 10000", "shard_rows = 10000\n" + lines))
        return load_settings(project)

    with pytest.raises(ConfigError, match="near_duplicates = 'maybe'"):
        setting('near_duplicates = "maybe"')
    with pytest.raises(ConfigError, match="near_duplicate_threshold"):
        setting("near_duplicate_threshold = 1.5")
    assert (setting("").near_duplicates, setting("").near_duplicate_threshold) == ("mark", 0.8)
    loaded = setting('near_duplicates = "drop"\nnear_duplicate_threshold = 0.9')
    assert (loaded.near_duplicates, loaded.near_duplicate_threshold) == ("drop", 0.9)


def test_the_new_column_is_a_schema_change_for_which_release_proposes_a_major_version(settings, project, tmp_path):
    from datetime import date

    from dataset_tools.diff import diff_datasets
    from dataset_tools.release import make_release

    write_raw(project / "raw", "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(project / "raw", "002.txt", wire_copy(2, published=T1, paragraphs=COPY))
    # The last release: the schema without near_duplicate_of.
    schema = json.loads(settings.schema.read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "near_duplicate_of"]
    before = tmp_path / "before.schema.json"
    before.write_text(json.dumps(schema))
    build_dataset(dataclasses.replace(settings, schema=before), out=tmp_path / "v1", use_cache=False, workers=1)
    assert "near_duplicate_of" not in pq.read_schema(next((tmp_path / "v1" / "data").rglob("*.parquet"))).names
    build_dataset(settings, out=tmp_path / "v2", use_cache=False, workers=1)

    diff = diff_datasets(tmp_path / "v1", tmp_path / "v2")
    assert diff.schema_changes == [{"column": "near_duplicate_of", "change": "added", "old": None, "new": "string"}]
    release = make_release(settings.changelog, "1.4.2", diff, tmp_path / "v1", tmp_path / "v2", day=date(2026, 12, 1), write=False)
    assert (release.proposed, release.version) == ("major", "2.0.0")
    assert "- Schema: `near_duplicate_of` added (string)." in release.entry


@pytest.mark.parametrize("newer", [False, True])
def test_another_version_of_an_original_is_weighed_against_the_cached_one(settings, project, tmp_path, newer):
    # The second version of the original's URL (another body) loses to the cached version when
    # it is older, and wins when it is newer: the copy stays linked, or becomes unique.
    raw = project / "raw"
    write_raw(raw, "001.txt", wire_copy(1, published=T0, paragraphs=ORIGINAL))
    write_raw(raw, "002.txt", wire_copy(2, host="b.example.org", published=T2, paragraphs=COPY))
    build_dataset(settings, workers=1)
    # The same URL with another body, modified after the cached version, or published before it.
    other = wire_copy(1, published=T1 if newer else "2026-01-04T09:15+0000", paragraphs=story_paragraphs(55))
    write_raw(raw, "003.txt", other)
    result = build_dataset(settings, workers=1)
    assert (result.parsed, result.superseded) == (1, 1)
    linked = rows(settings.out)[url(2, "b.example.org")]["near_duplicate_of"]
    assert (linked is None) == newer
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)


@pytest.mark.parametrize("mode", ["mark", "drop"])
def test_an_original_in_two_files_stays_the_target_when_one_goes(settings, project, tmp_path, mode):
    # The original's URL is in two byte-identical files (the later one a duplicate) and a third,
    # older version (superseded); the copy names the first file as its original's. When that
    # file goes, the duplicate becomes the row: the copy keeps its target and names that file.
    settings = dataclasses.replace(settings, near_duplicates=mode)
    raw = project / "raw"
    original = wire_copy(1, published=T0, paragraphs=ORIGINAL)
    write_raw(raw, "001.txt", original)
    write_raw(raw, "005.txt", original)
    write_raw(raw, "000.txt", wire_copy(1, published="2026-01-04T09:15+0000", paragraphs=story_paragraphs(55)))
    write_raw(raw, "002.txt", wire_copy(2, host="b.example.org", published=T2, paragraphs=COPY))
    first = build_dataset(settings, workers=1)
    assert (first.duplicates, first.superseded) == (1, 1)
    original_id = hashlib.sha256(url(1).encode()).hexdigest()[:16]
    expect = {"mark": original_id, "drop": None}[mode]
    assert rows(settings.out).get(url(2, "b.example.org"), {}).get("near_duplicate_of") == expect
    if mode == "drop":
        assert read_outcomes(settings.out)["002.txt"]["other"] == "001.txt"

    (raw / "001.txt").unlink()
    build_dataset(settings, workers=1)
    assert rows(settings.out).get(url(2, "b.example.org"), {}).get("near_duplicate_of") == expect
    outcomes = read_outcomes(settings.out)
    assert outcomes["005.txt"]["outcome"] == "row" and outcomes["000.txt"]["other"] == "005.txt"
    if mode == "drop":
        assert outcomes["002.txt"]["other"] == "005.txt"
    build_dataset(settings, out=tmp_path / "clean", use_cache=False, workers=1)
    assert _digest(tmp_path / "clean") == _digest(settings.out)
