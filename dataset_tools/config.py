"""Dataset settings from `[tool.dataset-tools]` in pyproject.toml, and the dataset version.

The version has one source of truth: the top release heading of CHANGELOG.md
(`## [1.2.0] - 2026-11-27`). Nothing else stores it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from dataset_tools.errors import ConfigError

_RELEASE_HEADING = re.compile(
    r"^##\s+\[?v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.\-]+)?)\]?(?:\s*[-–]\s*(?P<date>\d{4}-\d{2}-\d{2}))?",
    re.MULTILINE,
)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*$")


@dataclass(frozen=True, slots=True)
class Settings:
    """The dataset's settings. Paths are absolute, resolved against the project root."""

    root: Path
    name: str
    pretty_name: str
    repo_id: str
    license: str
    description: str
    license_name: str | None = None
    license_details: str | None = None
    homepage: str | None = None
    source: str | None = None
    creator: str | None = None
    citation: str | None = None
    task_categories: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source_datasets: tuple[str, ...] = ()
    schema: Path = field(default=Path("schemas/article.schema.json"))
    changelog: Path = field(default=Path("CHANGELOG.md"))
    raw: Path = field(default=Path("raw"))
    out: Path = field(default=Path("dist"))
    max_file_bytes: int = 5_000_000
    shard_rows: int = 10_000
    # Near-duplicates (build/neardup*.py): "mark" fills `near_duplicate_of`, "drop" drops the
    # copies (counted in report.json), "off" leaves the column null; linked at or above this
    # word 5-gram Jaccard similarity.
    near_duplicates: str = "mark"
    near_duplicate_threshold: float = 0.8

    @property
    def version(self) -> str:
        """The dataset version: the top release heading of CHANGELOG.md."""
        return read_changelog_version(self.changelog)


_REQUIRED = ("name", "pretty_name", "repo_id", "license", "description")
_PATHS = ("schema", "changelog", "raw", "out")


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) whose pyproject.toml has [tool.dataset-tools]."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if "dataset-tools" in data.get("tool", {}):
                return folder
    raise ConfigError(
        f"no pyproject.toml with a [tool.dataset-tools] table in {here} or its parents",
        hint="Run dataset-tools inside the dataset's project folder, or pass --project DIR.",
    )


def load_settings(root: Path | None = None) -> Settings:
    """Read `[tool.dataset-tools]` from `root/pyproject.toml` (root found from cwd when None).

    Raises:
        ConfigError: the table is missing, has unknown keys, or lacks a required key.
    """
    root = find_project_root(root)
    try:
        table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dataset-tools"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"cannot read [tool.dataset-tools] from {root / 'pyproject.toml'}: {exc}") from None
    known = {f.name for f in fields(Settings)} - {"root"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in [tool.dataset-tools]: {', '.join(unknown)}")
    missing = [key for key in _REQUIRED if not table.get(key)]
    if missing:
        raise ConfigError(f"missing setting(s) in [tool.dataset-tools]: {', '.join(missing)}")
    if not _REPO_ID.match(table["repo_id"]):
        raise ConfigError(f"repo_id {table['repo_id']!r} is not of the form 'namespace/name'")
    values: dict = {"root": root}
    for key, value in table.items():
        if key in _PATHS:
            value = (root / value).resolve()
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    for key in _PATHS:
        values.setdefault(key, (root / _default_path(key)).resolve())
    _check_near_duplicates(values)
    return Settings(**values)


def _check_near_duplicates(values: dict) -> None:
    from dataset_tools.build.neardup import MODES

    mode = values.get("near_duplicates", "mark")
    if mode not in MODES:
        raise ConfigError(f"near_duplicates = {mode!r} in [tool.dataset-tools] is not one of {', '.join(MODES)}")
    threshold = values.get("near_duplicate_threshold", 0.8)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.5 <= threshold <= 1:
        raise ConfigError(f"near_duplicate_threshold = {threshold!r} in [tool.dataset-tools] is not a number from 0.5 to 1")
    values["near_duplicate_threshold"] = float(threshold)


def default_cache_dir(settings: Settings) -> Path:
    """The incremental-build cache when no `--cache` is given: `.dataset-tools-cache/` in the project."""
    return settings.root / ".dataset-tools-cache"


def _default_path(key: str) -> Path:
    return {f.name: f.default for f in fields(Settings)}[key]


def read_changelog_version(path: Path) -> str:
    """The version in the top release heading of a CHANGELOG (an `Unreleased` heading is skipped).

    Raises:
        ConfigError: the file is missing or has no release heading.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: it holds the dataset version") from None
    match = _RELEASE_HEADING.search(text)
    if not match:
        raise ConfigError(
            f"{path} has no release heading like '## [1.0.0] - 2026-01-31'",
            hint="Add a release heading, or run `dataset-tools release`.",
        )
    return match.group("version")
