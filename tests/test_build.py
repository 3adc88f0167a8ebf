"""The build: the seed article end to end, the accounting of every input, determinism, atomicity."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq

from dataset_tools.build import build_dataset
from dataset_tools.report import read_outcomes
from dataset_tools.schema import load_table_schema
from rawfiles import collected_article, write_raw
from conftest import SEED

SEED_URL = (
    "https://sputnikglobe.com/20260107/"
    "us-refuses-to-sign-declaration-of-coalition-of-willing-on-guarantees-for-ukraine---reports-1123435281.html"
)


def _load_train(folder: Path, tmp_path: Path):
    """Load the folder with `datasets` in a fresh process, offline, as a user would."""
    code = (
        "import datasets, json, sys\n"
        "ds = datasets.load_dataset(sys.argv[1], split='train')\n"
        "print(json.dumps({'features': ds.features.to_dict(), 'rows': [{k: (v.isoformat() if hasattr(v, 'isoformat') else v) for k, v in r.items()} for r in ds]}))\n"
    )
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_seed_article_loads_with_every_field(settings, project, tmp_path):
    shutil.copy(SEED, project / "raw" / SEED.name)
    result = build_dataset(settings, workers=1)
    assert (result.inputs, result.rows, result.rejected) == (1, 1, 0)

    loaded = _load_train(project / "dist", tmp_path)
    schema = load_table_schema(project / "schemas" / "article.schema.json")
    assert loaded["features"] == schema.features.to_dict()
    assert len(loaded["rows"]) == 1
    row = loaded["rows"][0]
    assert list(row) == schema.names
    assert row["url"] == SEED_URL
    normalized = SEED_URL  # already lower-case scheme and host, no fragment
    assert row["id"] == hashlib.sha256(normalized.encode()).hexdigest()[:16]
    assert row["domain"] == "sputnikglobe.com"
    assert row["title"] == "US Refuses to Sign Declaration of Coalition of Willing on Guarantees for Ukraine - Reports"
    assert row["description"].startswith("The United States did not sign the declaration on security guarantees for Kiev")
    assert row["description"].endswith("Politico reported on Wednesday.")
    assert row["published_at"] == "2026-01-07T08:23:00+00:00"
    assert row["modified_at"] == "2026-01-07T08:23:00+00:00"
    assert row["section"] == "world"
    assert row["tags"] == [
        "us", "donald trump", "steve witkoff", "ukraine", "kiev", "paris", "security guarantees", "guarantees", "peace",
    ]
    assert row["keywords"] == [
        "us refuses to sign declaration",
        "coalition of willing on guarantees for ukraine",
        "declaration on security guarantees",
    ]
    assert row["image_url"].startswith("https://cdn1.img.sputnikglobe.com/img/07e8/0b/04/1120770086_0:0:3072:1728_")
    assert row["language"] == "en"
    assert row["publisher"] == "Sputnik International"
    assert row["related_urls"] == [
        "https://sputnikglobe.com/20251230/peace-priority-legal-guarantees-needed-to-solve-ukraine-conflicts-root-causes--lavrov-to-sputnik-1123385141.html"
    ]
    paragraphs = row["body"].split("\n\n")
    # The lead and four paragraphs; the paragraph the page broke after "in Ukraine" is one again.
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("MOSCOW (Sputnik) - The United States did not sign")
    assert (
        "details of US participation in the multinational mission in Ukraine were removed from an earlier draft"
        in paragraphs[2]
    )
    assert paragraphs[-1].endswith("as a result of the Russian armed forces' offensive actions, he noted.")
    assert "30 December 2025" not in row["body"]
    assert "\n\n\n" not in row["body"]
    assert row["word_count"] == len(row["body"].split())
    assert row["source_file"] == SEED.name
    assert row["source_sha256"] == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert row["parser_version"] == "collector/1.3"


def _article(n: int, **overrides) -> str:
    fields = dict(
        url=f"https://news.example.org/20260105/story-{n}.html",
        title=f"Story number {n} about the harbour",
    )
    fields.update(overrides)
    return collected_article(**fields)


def test_report_accounts_for_every_input(settings, project):
    raw = project / "raw"
    for n in range(1, 5):
        write_raw(raw, f"00{n}_aaaa00000000000{n}.txt", _article(n))
    # a byte-identical copy of story 1 under another collector name
    write_raw(raw, "010_bbbb000000000001.txt", _article(1))
    # story 2 collected again later, edited, with a later modified time
    write_raw(
        raw,
        "011_bbbb000000000002.txt",
        _article(2, timestamps=("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-01-06T10:00+0000"),
                 lead="RIVERTON (Example Wire) - An updated lead for story two, with corrected figures."),
    )
    # junk
    write_raw(raw, "020_cccc000000000001.txt", b"")
    write_raw(raw, "021_cccc000000000002.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write_raw(raw, "022_cccc000000000003.txt", "javascript:void(0)\nA title\n")
    write_raw(raw, "nested/023_cccc000000000004.txt", '{"items": [1, 2, 3]}')

    result = build_dataset(settings, workers=1)
    report = json.loads((project / "dist" / "report.json").read_text())
    counts = report["counts"]
    assert counts == {"inputs": 10, "rows": 4, "duplicates": 1, "superseded": 1, "rejected": 4, "near_duplicates": 0}
    assert counts["rows"] == counts["inputs"] - counts["duplicates"] - counts["superseded"] - counts["rejected"]
    assert report["rejects_by_reason"] == {"binary-file": 1, "empty-file": 1, "not-a-url": 1, "not-an-article": 1}

    by_path = read_outcomes(project / "dist")
    assert sorted(by_path) == sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file())
    assert by_path["010_bbbb000000000001.txt"]["outcome"] == "duplicate"
    assert by_path["010_bbbb000000000001.txt"]["other"] == "001_aaaa000000000001.txt"
    assert by_path["002_aaaa000000000002.txt"]["outcome"] == "superseded"
    assert by_path["002_aaaa000000000002.txt"]["other"] == "011_bbbb000000000002.txt"
    assert by_path["nested/023_cccc000000000004.txt"]["detail"] == "not a collected article: the file is a JSON document"
    assert [entry["path"] for entry in report["rejected"]] == sorted(p for p, e in by_path.items() if e["outcome"] == "rejected")

    table = pq.read_table(project / "dist" / "data")
    assert table.num_rows == result.rows == 4
    rows = {r["url"]: r for r in table.to_pylist()}
    story2 = rows["https://news.example.org/20260105/story-2.html"]
    assert story2["body"].startswith("RIVERTON (Example Wire) - An updated lead for story two")
    assert story2["source_file"] == "011_bbbb000000000002.txt"
    assert story2["modified_at"] == datetime(2026, 1, 6, 10, 0, tzinfo=timezone.utc)

    manifest = json.loads((project / "dist" / "manifest.json").read_text())
    listed = {e["path"] for e in manifest["files"]}
    assert {"inputs/2026/01.parquet", "report.json"} <= listed  # the listings are covered by the manifest's hashes
    assert all(len(e["sha256"]) == 64 and e["sha256"] == hashlib.sha256((project / "dist" / e["path"]).read_bytes()).hexdigest() for e in manifest["files"])
    assert all(len(e["sha256"]) == 64 for e in by_path.values() if e["outcome"] != "rejected")
    data = manifest["data_files"][0]
    assert data["rows"] == 4
    assert data["sha256"] == hashlib.sha256((project / "dist" / data["path"]).read_bytes()).hexdigest()


def test_every_row_that_breaks_the_schema_is_rejected_however_many_there_are(project):
    """A schema stricter than the parser: each article it rules out is a reject with its reason,
    however many there are (the checks list violations per batch, not just the first few)."""
    from dataset_tools.config import load_settings

    schema_file = next((project / "schemas").glob("*.schema.json"))
    spec = json.loads(schema_file.read_text())
    field = next(f for f in spec["fields"] if f["name"] == "word_count")
    field["constraints"]["minimum"] = 40
    schema_file.write_text(json.dumps(spec, indent=2))
    raw = project / "raw"
    short = [f"{n:03d}_short.txt" for n in range(45)]
    for n, name in enumerate(short):
        write_raw(raw, name, _article(n, lead=f"Story {n} in a few words.", paragraphs=(), article_body=""))
    for n in range(45, 50):
        write_raw(raw, f"{n:03d}_long.txt", _article(n))

    result = build_dataset(load_settings(project), workers=1)
    report = json.loads((project / "dist" / "report.json").read_text())
    assert report["counts"]["rows"] == result.rows == 5
    assert report["rejects_by_reason"] == {"schema-violation": 45}
    by_path = read_outcomes(project / "dist")
    assert all(by_path[name]["reason"] == "schema-violation" and "word_count is below 40" in by_path[name]["detail"] for name in short)
    table = pq.read_table(project / "dist" / "data")
    assert min(table.column("word_count").to_pylist()) >= 40
    assert sorted(table.column("source_file").to_pylist()) == [f"{n:03d}_long.txt" for n in range(45, 50)]


def test_rows_are_in_month_shards_ordered_by_time_then_id_and_a_parallel_build_is_identical(settings, project, tmp_path):
    raw = project / "raw"
    for n in range(90):
        month, day = 1 + n % 3, 1 + (n * 7) % 27
        stamp = f"2026-{month:02d}-{day:02d}T08:{n % 4:02d}+0000"  # times shared by several stories: the id decides
        write_raw(raw, f"{n:03d}_{n:016x}.txt", _article(n, timestamps=(stamp,)))
    settings = dataclasses.replace(settings, shard_rows=20)
    build_dataset(settings, out=tmp_path / "one", workers=1)
    build_dataset(settings, out=tmp_path / "two", workers=2)
    shards = sorted(p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one" / "data").rglob("*.parquet"))
    assert shards == [f"data/2026/{m:02d}/train-{p:04d}.parquet" for m in (1, 2, 3) for p in range(2)]  # 30 rows a month: 20 + 10
    rows = [row for shard in shards for row in pq.read_table(tmp_path / "one" / shard).to_pylist()]
    keys = [(row["published_at"], row["id"]) for row in rows]
    assert keys == sorted(keys) and len({row["id"] for row in rows}) == 90
    assert all(shard[5:12] == f"{row['published_at']:%Y/%m}" for shard in shards for row in pq.read_table(tmp_path / "one" / shard).to_pylist())
    assert _tree_digest(tmp_path / "one") == _tree_digest(tmp_path / "two")


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_builds_are_byte_identical(settings, project, tmp_path):
    shutil.copy(SEED, project / "raw" / SEED.name)
    for n in range(5):
        write_raw(project / "raw", f"{n + 1:03d}_{n:016x}.txt", _article(n))
    build_dataset(settings, out=tmp_path / "first")
    build_dataset(settings, out=tmp_path / "second")
    first, second = _tree_digest(tmp_path / "first"), _tree_digest(tmp_path / "second")
    assert first == second
    assert any(path.endswith(".parquet") for path in first)
    assert "README.md" in first and "manifest.json" in first
    for name in ("README.md", "manifest.json", "report.json"):
        text = (tmp_path / "first" / name).read_text()
        assert str(tmp_path) not in text  # no absolute paths


def test_killed_build_leaves_previous_output_loadable(settings, project, tmp_path):
    raw = project / "raw"
    shutil.copy(SEED, raw / SEED.name)
    build_dataset(settings, workers=1)
    before = _tree_digest(project / "dist")

    # A much bigger corpus, so the build is still running when it is killed.
    for n in range(1500):
        write_raw(raw, f"{n + 1:05d}_{n:016x}.txt", _article(n))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataset_tools", "build", "--workers", "2", "--project", str(project)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    staging = list(project.glob(".dist.tmp-*"))
    deadline = time.monotonic() + 60
    while not staging and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        staging = list(project.glob(".dist.tmp-*"))
    assert proc.poll() is None, "the build finished before it could be interrupted"
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    assert _tree_digest(project / "dist") == before
    loaded = _load_train(project / "dist", tmp_path)
    assert len(loaded["rows"]) == 1

    # The next build cleans up what the killed one left and succeeds.
    result = build_dataset(settings)
    assert result.rows == 1501
    assert not list(project.glob(".dist.*"))


def test_no_shard_is_empty_and_all_load(settings, project, tmp_path):
    import dataclasses

    for n in range(5):
        write_raw(project / "raw", f"{n:03d}_{n:016x}.txt", _article(n))
    result = build_dataset(dataclasses.replace(settings, shard_rows=2), workers=1)
    assert len(result.shards) >= 2
    assert all(shard["rows"] > 0 for shard in result.shards)
    assert sum(shard["rows"] for shard in result.shards) == 5
    assert len(_load_train(project / "dist", tmp_path)["rows"]) == 5


def test_workers_get_the_callers_setup_and_the_library_leaves_the_process_alone(settings, project, tmp_path):
    """The `build` command passes its process settings to the workers it starts; a library
    caller (a notebook) gets none of them, in its workers or in its own process."""
    import gc

    from dataset_tools import runtime
    from dataset_tools.build.engines import LocalEngine

    engine = LocalEngine(2, worker_setup=runtime.collect_less)
    try:
        seen = list(engine.map_ordered(gc.get_threshold, [() for _ in range(4)]))
    finally:
        engine.close()
    assert {threshold[0] for threshold in seen} == {runtime.GC_YOUNG_THRESHOLD}

    before = (gc.get_threshold(), gc.get_freeze_count(), list(sys.meta_path), dict(os.environ))
    for n in range(70):  # more than a process pool's worth of files
        write_raw(project / "raw", f"{n:03d}_{n:016x}.txt", _article(n))
    engine = LocalEngine(2)
    try:
        assert {threshold[0] for threshold in engine.map_ordered(gc.get_threshold, [() for _ in range(4)])} == {before[0][0]}
    finally:
        engine.close()
    assert build_dataset(settings, workers=2).rows == 70
    assert (gc.get_threshold(), gc.get_freeze_count(), list(sys.meta_path), dict(os.environ)) == before


def test_an_empty_raw_folder_builds_nothing_and_keeps_the_previous_output(settings, project):
    import pytest

    from dataset_tools.errors import NothingToBuild

    shutil.copy(SEED, project / "raw" / SEED.name)
    build_dataset(settings, workers=1)
    before = {p.relative_to(project / "dist"): p.read_bytes() for p in (project / "dist").rglob("*") if p.is_file()}
    (project / "raw" / SEED.name).unlink()
    with pytest.raises(NothingToBuild) as caught:
        build_dataset(settings, workers=1)
    assert str(caught.value) == f"the raw folder {project / 'raw'} has no files: nothing to build"
    assert caught.value.exit_code == 1
    after = {p.relative_to(project / "dist"): p.read_bytes() for p in (project / "dist").rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in project.iterdir()) == [".dataset-tools-cache", "CHANGELOG.md", "card.md", "dist", "pyproject.toml", "raw", "schemas"]


def test_a_build_where_every_input_is_rejected_says_why_and_writes_nothing(settings, project):
    import pytest

    from dataset_tools.errors import NothingToBuild

    write_raw(project / "raw", "001_0000000000000001.txt", b"")
    write_raw(project / "raw", "002_0000000000000002.txt", "not a page\n")
    write_raw(project / "raw", "003_0000000000000003.txt", b"")
    with pytest.raises(NothingToBuild) as caught:
        build_dataset(settings, workers=1)
    assert str(caught.value) == f"no rows: all 3 input file(s) in {project / 'raw'} were rejected (empty-file: 2, not-a-url: 1)"
    assert caught.value.rejects_by_reason == {"empty-file": 2, "not-a-url": 1}
    assert not (project / "dist").exists()
