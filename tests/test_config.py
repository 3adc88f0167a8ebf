"""Project settings: what a project must say, what it may leave out, and one schema for all."""

from __future__ import annotations

import pytest

from conftest import REPO
from dataset_tools.config import PACKAGED_SCHEMA, load_settings
from dataset_tools.errors import MissingSettings, ProjectNotFound


def test_the_repository_schema_is_the_packaged_schema():
    # One source of truth: the package ships dataset_tools/schemas/article.schema.json (what
    # `init` copies and what a project without a schema uses); this repository's own project
    # keeps a copy under schemas/, which must never drift from it.
    assert (REPO / "schemas" / "article.schema.json").read_bytes() == PACKAGED_SCHEMA.read_bytes(), (
        "schemas/article.schema.json differs from dataset_tools/schemas/article.schema.json: "
        "change the packaged file, then copy it to schemas/"
    )


def test_the_packaged_schema_is_package_data():
    import tomllib

    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["dataset_tools"]
    assert "schemas/*.json" in package_data and "templates/project/*" in package_data  # the files init writes
    assert PACKAGED_SCHEMA.relative_to(REPO / "dataset_tools").as_posix() == "schemas/article.schema.json"


def _write_settings(root, **table) -> None:
    lines = ["[tool.dataset-tools]"] + [f"{key} = {value!r}".replace("'", '"') for key, value in table.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")


REQUIRED = dict(name="river-news", pretty_name="River News", repo_id="someone/river-news", license="cc-by-4.0", description="News about rivers.")


def test_a_project_without_a_schema_uses_the_packaged_one(tmp_path):
    _write_settings(tmp_path, **REQUIRED)
    settings = load_settings(tmp_path)
    assert settings.schema == PACKAGED_SCHEMA
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "article.schema.json").write_bytes(PACKAGED_SCHEMA.read_bytes())
    assert load_settings(tmp_path).schema == tmp_path / "schemas" / "article.schema.json"


def test_a_schema_setting_is_kept_even_when_its_file_is_missing(tmp_path):
    _write_settings(tmp_path, **REQUIRED, schema="my/schema.json")
    assert load_settings(tmp_path).schema == tmp_path / "my" / "schema.json"  # reported by whoever loads it


def test_missing_settings_are_named_all_at_once(tmp_path):
    _write_settings(tmp_path, name="river-news")
    with pytest.raises(MissingSettings) as caught:
        load_settings(tmp_path)
    assert caught.value.keys == ("pretty_name", "repo_id", "license", "description")
    assert str(caught.value) == (
        f"missing setting(s) in [tool.dataset-tools] of {tmp_path / 'pyproject.toml'}: pretty_name, repo_id, license, description"
    )
    assert caught.value.exit_code == 2


def test_no_project_says_init_makes_one(tmp_path):
    with pytest.raises(ProjectNotFound) as caught:
        load_settings(tmp_path)
    assert "dataset-tools init" in caught.value.hint
