"""diff and release: what changed between two builds, and the CHANGELOG entry that says so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date

import pyarrow.parquet as pq
import pytest

from dataset_tools import layout
from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
from dataset_tools.diff import diff_datasets
from dataset_tools.release import bump_version, insert_entry, make_release, propose_bump
from rawfiles import collected_article, write_raw


def _story(n: int, **overrides) -> str:
    parts = dict(url=f"https://news.example.org/2026/story-{n}.html", title=f"Harbour story number {n}")
    parts.update(overrides)
    return collected_article(**parts)


@pytest.fixture
def two_builds(project, tmp_path):
    raw = project / "raw"
    for n in range(1, 5):
        write_raw(raw, f"00{n}_{n:016x}.txt", _story(n))
    settings = load_settings(project)
    build_dataset(settings, out=tmp_path / "v1", workers=1)
    # v2: story 4 removed, story 2 corrected, stories 5 and 6 added
    (raw / "004_0000000000000004.txt").unlink()
    write_raw(raw, "002_0000000000000002.txt", _story(2, title="Harbour story number 2, corrected",
                                                     timestamps=("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-01-07T10:00+0000")))
    write_raw(raw, "005_0000000000000005.txt", _story(5, url="https://www.other-paper.example.com/a/story-5"))
    write_raw(raw, "006_0000000000000006.txt", _story(6))
    build_dataset(settings, out=tmp_path / "v2", workers=1)
    return settings, tmp_path / "v1", tmp_path / "v2"


def test_diff_reports_added_removed_updated_with_fields(two_builds):
    _, v1, v2 = two_builds
    result = diff_datasets(v1, v2)
    counts = result.to_dict()["counts"]
    assert counts == {"old_rows": 4, "new_rows": 5, "added": 2, "removed": 1, "updated": 1, "unchanged": 2, "reparsed": 0}
    assert sorted(a["url"] for a in result.added) == [
        "https://news.example.org/2026/story-6.html",
        "https://www.other-paper.example.com/a/story-5",
    ]
    assert result.removed[0]["url"] == "https://news.example.org/2026/story-4.html"
    assert result.updated[0]["url"] == "https://news.example.org/2026/story-2.html"
    assert result.updated[0]["fields"] == ["title", "modified_at"]
    assert result.schema_changes == []
    assert propose_bump(result) == "minor"


def test_a_release_in_the_flat_layout_of_earlier_versions_is_diffed_all_the_same(two_builds, tmp_path):
    # Releases before the months layout hold data/train-NNNNN-of-NNNNN.parquet: the first
    # release after it is diffed against one of those.
    _, v1, v2 = two_builds
    flat = tmp_path / "flat-v1"
    shutil.copytree(v1, flat)
    shards = layout.data_files(flat)
    for i, path in enumerate(shards):
        path.rename(flat / layout.DATA_DIR / f"train-{i:05d}-of-{len(shards):05d}.parquet")
    assert not layout.data_files(flat)
    assert diff_datasets(flat, v2).to_dict()["counts"] == diff_datasets(v1, v2).to_dict()["counts"]


def test_identical_builds_have_no_diff_and_nothing_to_release(two_builds, tmp_path):
    settings, _, v2 = two_builds
    result = diff_datasets(v2, v2)
    assert not result.changed
    assert propose_bump(result) is None
    from dataset_tools.errors import NothingToRelease

    with pytest.raises(NothingToRelease):
        make_release(settings.changelog, "1.0.0", result, v2, v2)


def test_schema_change_is_major(two_builds, tmp_path):
    _, v1, v2 = two_builds
    changed = tmp_path / "v3"
    shutil.copytree(v2, changed)
    for path in layout.data_files(changed):
        table = pq.read_table(path).drop_columns(["word_count"])
        pq.write_table(table, path)
    result = diff_datasets(v1, changed)
    assert result.schema_changes == [{"column": "word_count", "change": "removed", "old": "int32", "new": None}]
    assert propose_bump(result) == "major"


def test_bump_version():
    assert bump_version("1.2.3", "major") == "2.0.0"
    assert bump_version("1.2.3", "minor") == "1.3.0"
    assert bump_version("1.2.3", "patch") == "1.2.4"


def test_release_writes_changelog_entry_and_version(two_builds, project):
    settings, v1, v2 = two_builds
    result = diff_datasets(v1, v2)
    made = make_release(settings.changelog, settings.version, result, v1, v2, day=date(2026, 11, 27))
    assert made.version == "1.1.0" and made.part == "minor"
    text = settings.changelog.read_text()
    assert text.index("## [1.1.0] - 2026-11-27") < text.index("## [1.0.0]")
    assert "- Articles: 2 added, 1 updated, 1 removed (5 in all, was 4)." in text
    assert "- Schema: unchanged." in text
    assert "`title` (1)" in text and "`modified_at` (1)" in text
    assert "other-paper.example.com (1)" in text
    assert load_settings(project).version == "1.1.0"


def test_unreleased_notes_move_into_the_release():
    changelog = "# Changelog\n\n## [Unreleased]\n\n- Fixed the Arabic outlet's dates.\n\n## [1.0.0] - 2026-01-01\n\nFirst.\n"
    entry = "## [1.1.0] - 2026-02-01\n\n- Articles: 1 added.\n"
    out = insert_entry(changelog, entry)
    assert out.startswith("# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2026-02-01\n")
    assert out.index("## [1.1.0]") < out.index("## [1.0.0]")


def test_cli_diff_json_and_release_dry_run(two_builds, project):
    _, v1, v2 = two_builds
    done = subprocess.run([sys.executable, "-m", "dataset_tools", "diff", str(v1), str(v2), "--json"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["counts"]["added"] == 2 and payload["counts"]["removed"] == 1

    table = subprocess.run([sys.executable, "-m", "dataset_tools", "diff", str(v1), str(v2)],
                           cwd=project, capture_output=True, text=True)
    assert "story-6.html" in table.stdout and "[title, modified_at]" in table.stdout

    before = (project / "CHANGELOG.md").read_text()
    dry = subprocess.run(
        [sys.executable, "-m", "dataset_tools", "release", "--against", str(v1), "--build", str(v2), "--dry-run"],
        cwd=project, capture_output=True, text=True,
    )
    assert dry.returncode == 0, dry.stderr
    assert "## [1.1.0]" in dry.stdout
    assert (project / "CHANGELOG.md").read_text() == before


def test_diff_of_missing_folder_is_usage_error(project):
    done = subprocess.run([sys.executable, "-m", "dataset_tools", "diff", "./nope", "./nope2"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ./nope is neither a folder nor a Hub dataset id")
