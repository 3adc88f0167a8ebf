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
    """A project folder: the repo's pyproject.toml, schemas/, CHANGELOG.md and card.md, and an empty raw/."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schemas", root / "schemas")
    shutil.copy(REPO / "CHANGELOG.md", root / "CHANGELOG.md")
    shutil.copy(REPO / "card.md", root / "card.md")
    (root / "raw").mkdir()
    return root


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
