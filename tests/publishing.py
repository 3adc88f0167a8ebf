"""What the publish tests share: the CLI run in a fresh process (`cli`) or in this one (`run`),
a project built as v1.0.0 (`v1`), and the steps to the next version. Every run is checked for
the tokens. Import the fixtures into a test module by name (`from publishing import run, v1`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest_hub import HUB_TOKEN
from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
from dataset_tools.publish import publish_dataset
from dataset_tools.schema import load_table_schema
from rawfiles import collected_article, write_raw

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO = "dataset-tools/news-articles"  # the repo id in the project's settings
BAD_TOKEN = "hf_DistinctiveRejectedToken0123456789abcdefXYZ"


def story(n: int, **overrides) -> str:
    """Story `n`, published in January 2026; story 3 in December 2025 (a month of its own)."""
    parts = dict(url=f"https://news.example.org/2026/story-{n}.html", title=f"Harbour story number {n}")
    if n == 3:
        parts["timestamps"] = ("2025-12-15T09:15+0000", "2025-12-15T09:15+0000", "2025-12-15T11:40+0000")
    parts.update(overrides)
    return collected_article(**parts)


def cli(*args: str, cwd: Path, env: dict, extra: dict | None = None, **options) -> subprocess.CompletedProcess:
    """Run `dataset-tools ARGS` in a fresh process; fail if any token shows in its output."""
    full = {**env, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]),
            "DATASET_TOOLS_RETRY_BASE": "0.01", "COLUMNS": "200"}
    full.pop("DATASET_TOOLS_DEBUG", None)
    full.update(extra or {})
    for name in [name for name, value in full.items() if value is None]:
        del full[name]
    done = subprocess.run([sys.executable, "-m", "dataset_tools", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=300, **options)
    for secret in (HUB_TOKEN, BAD_TOKEN):
        assert secret not in done.stdout + done.stderr, f"a token was printed by {args}"
    return done


@pytest.fixture
def run(capsys, monkeypatch):
    """Run `dataset-tools ARGS` in this process (fast: no re-import), through `main()` as the
    console script does; fail if any token shows in its output."""
    from dataset_tools.cli import main

    def invoke(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            patch.setenv("DATASET_TOOLS_RETRY_BASE", "0.01")
            patch.delenv("DATASET_TOOLS_DEBUG", raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value) if value is not None else patch.delenv(name, raising=False)
            patch.setattr(sys, "argv", ["dataset-tools", *args])
            capsys.readouterr()
            with pytest.raises(SystemExit) as exited:
                main()
            out, err = capsys.readouterr()
        for secret in (HUB_TOKEN, BAD_TOKEN):
            assert secret not in out + err, f"a token was printed by {args}"
        return subprocess.CompletedProcess(args, exited.value.code or 0, out, err)

    return invoke


def set_shard_rows(project: Path, rows: int) -> None:
    path = project / "pyproject.toml"
    text, count = re.subn(r"(?m)^shard_rows = \d+$", f"shard_rows = {rows}", path.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")


def set_setting(project: Path, key: str, value: str) -> None:
    """Set a string setting of [tool.dataset-tools] in the project's pyproject.toml."""
    path = project / "pyproject.toml"
    head, table = path.read_text(encoding="utf-8").split("[tool.dataset-tools]\n", 1)
    table, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', table)
    assert count == 1
    path.write_text(head + "[tool.dataset-tools]\n" + table, encoding="utf-8")


@pytest.fixture
def v1(project):
    """The project built as v1.0.0 from three stories in two months, three rows per shard (January
    2026 has two stories, one shard; two shards once it has four)."""
    set_shard_rows(project, 3)
    for n in (1, 2, 3):
        write_raw(project / "raw", f"00{n}_{n:016x}.txt", story(n))
    settings = load_settings(project)
    build_dataset(settings, workers=1)
    return settings


def release_by_hand(project: Path, version: str, date: str = "2026-12-01") -> None:
    """Put `version` on top of CHANGELOG.md, as `dataset-tools release` would."""
    changelog = project / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(re.sub(r"(?m)^## \[", f"## [{version}] - {date}\n\n- Next.\n\n## [", text, count=1), encoding="utf-8")


def next_version(project: Path, version: str = "1.1.0") -> None:
    """Add two stories, correct one, retract story 3 (December's shard and listing go), and put
    `version` on top of CHANGELOG.md by hand."""
    write_raw(project / "raw", "002_0000000000000002.txt", story(2, title="Harbour story number 2, corrected"))
    (project / "raw" / f"003_{3:016x}.txt").unlink()
    for n in (4, 5):
        write_raw(project / "raw", f"00{n}_{n:016x}.txt", story(n))
    release_by_hand(project, version)


def publish(settings, repo: str = REPO, **kwargs):
    """publish_dataset of the settings' build folder, no retry delays."""
    return publish_dataset(settings.out, repo, load_table_schema(settings.schema),
                           expected_version=settings.version, retry_base=0, **kwargs)
