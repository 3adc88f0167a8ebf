"""Shared fixtures: a throw-away project folder with the repository's settings and schema, and
the Hub emulator (see conftest_hub.py)."""

from __future__ import annotations

# First import of the test session: starts the Hub emulator and sets HF_* before any test
# module imports huggingface_hub or datasets (they read the environment at import).
from conftest_hub import datasets_cache, fast_retries, hub, hub_env, hub_server  # noqa: F401

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "raw" / "000_a41de3af212dcb41.txt"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: the repo's pyproject.toml, schemas/ and card.md, its CHANGELOG.md as of
    the first release (`first_release_changelog`), and an empty raw/."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "CHANGELOG.md").write_text(first_release_changelog(), encoding="utf-8")
    shutil.copy(REPO / "card.md", root / "card.md")
    (root / "raw").mkdir()
    return root


def first_release_changelog() -> str:
    """The repo's CHANGELOG.md without the releases after the first: tests build and release
    from version 1.0.0, whatever the dataset's version is now."""
    import re

    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = list(re.finditer(r"(?m)^## \[?\d+\.\d+\.\d+", text))
    head = re.search(r"(?m)^## ", text)
    return text[: head.start()] + text[releases[-1].start() :] if releases else text


@pytest.fixture
def settings(project: Path):
    from dataset_tools.config import load_settings

    return load_settings(project)


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files under tests/golden/ from the current output instead of comparing.",
    )


@pytest.fixture
def update_golden(request) -> bool:
    """True when pytest was run with --update-golden."""
    return bool(request.config.getoption("--update-golden"))
