"""parse (the map stage): a task's files -> one bookkeeping row each, and the articles' rows in
one chunk file, a run per bucket sorted by id; bad files are rejects with their reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from dataset_tools.build.parse import map_chunk
from dataset_tools.build.partition import SORT_KEYS, month_keys
from dataset_tools.inputs import source_for
from rawfiles import collected_article, write_raw


def _story(n: int, **parts) -> str:
    return collected_article(url=f"https://news.example.org/20260105/story-{n}.html", title=f"Story number {n} about the harbour", **parts)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    for n in range(6):
        write_raw(folder, f"{n:03d}.txt", _story(n))
    write_raw(folder, "100_empty.txt", "")
    write_raw(folder, "101_big.txt", _story(101) + "x" * 5000)
    write_raw(folder, "102_short.txt", _story(102, lead="Story in a few words.", paragraphs=(), article_body=""))
    return folder


def _run(raw: Path, cache: Path, schema: Path, known: dict[str, str] | None = None, max_bytes: int = 4000):
    paths = sorted(p.name for p in raw.iterdir())
    sizes = [(raw / p).stat().st_size for p in paths]
    mtimes = [(raw / p).stat().st_mtime_ns for p in paths]
    (cache / "chunks").mkdir(parents=True, exist_ok=True)
    shas = [(known or {}).get(p) for p in paths]
    return map_chunk(source_for(raw), paths, sizes, mtimes, shas, max_bytes, str(schema), str(cache), "chunks/1-0000000.arrow")


def test_every_file_gets_a_bookkeeping_row_and_every_article_a_sorted_row(raw, tmp_path, project):
    schema = project / "schemas" / "article.schema.json"
    spec = json.loads(schema.read_text())
    next(f for f in spec["fields"] if f["name"] == "word_count")["constraints"]["minimum"] = 10
    schema.write_text(json.dumps(spec))
    result = _run(raw, tmp_path / "cache", schema)

    files = result.files.to_pylist()
    assert [f["path"] for f in files] == sorted(p.name for p in raw.iterdir())
    kinds = {f["path"]: (f["kind"], f["reason"]) for f in files}
    assert kinds["100_empty.txt"] == ("rejected", "empty-file")
    assert kinds["101_big.txt"] == ("rejected", "too-large")  # from its listed size: never read whole
    assert kinds["102_short.txt"] == ("rejected", "schema-violation")
    assert [kinds[f"{n:03d}.txt"] for n in range(6)] == [("article", None)] * 6
    big = next(f for f in files if f["path"] == "101_big.txt")
    head = hashlib.sha256((raw / "101_big.txt").read_bytes()).hexdigest()  # the file is under 1 MiB: its first MiB is all of it
    assert big["sha256"] == "" and head in big["detail"]  # not hashed in full: named by the SHA-256 of its first MiB

    with pa.memory_map(str(tmp_path / "cache" / result.chunk)) as source:
        reader = pa.ipc.open_file(source)
        runs = {part: reader.get_batch(index) for part, index in result.batches.items()}
    assert sum(run.num_rows for run in runs.values()) == 6
    for part, run in runs.items():
        keys = list(zip(*(run.column(name).to_pylist() for name, _ in SORT_KEYS)))
        assert keys == sorted(keys) and set(month_keys(run.column("published_at")).to_pylist()) == {part}
    assert {f["id"] for f in files if f["kind"] == "article"} == {i for run in runs.values() for i in run.column("id").to_pylist()}


def test_a_file_whose_bytes_the_cache_knows_is_not_parsed_again(raw, tmp_path, project):
    known = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    known["000.txt"] = "0" * 64  # this one changed
    result = _run(raw, tmp_path / "cache", project / "schemas" / "article.schema.json", known)
    assert result.files.column("path").to_pylist() == ["000.txt", "101_big.txt"]  # over the limit: never compared
    assert sorted(result.unchanged) == sorted(set(known) - {"000.txt", "101_big.txt"})
