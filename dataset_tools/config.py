"""Dataset settings from `[tool.dataset-tools]` in pyproject.toml, and the dataset version.

The version has one source of truth: the top release heading of CHANGELOG.md
(`## [1.2.0] - 2026-11-27`). Nothing else stores it.

The article schema has one source too: `PACKAGED_SCHEMA`, shipped in the package. A project
uses its own copy (`schemas/article.schema.json`, which `dataset-tools init` writes) or, when it
has none and no `schema` setting, the packaged file itself.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from dataset_tools.errors import ConfigError, MissingSettings, ProjectNotFound

_RELEASE_HEADING = re.compile(
    r"^##\s+\[?v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.\-]+)?)\]?(?:\s*[-–]\s*(?P<date>\d{4}-\d{2}-\d{2}))?",
    re.MULTILINE,
)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*$")
PACKAGED_SCHEMA = Path(__file__).parent / "schemas" / "article.schema.json"
PROJECT_SCHEMA = Path("schemas/article.schema.json")
CACHE_FOLDER = ".dataset-tools-cache"


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
    schema: Path = field(default=PROJECT_SCHEMA)  # or PACKAGED_SCHEMA: see load_settings
    changelog: Path = field(default=Path("CHANGELOG.md"))
    card_text: Path | None = field(default=Path("card.md"))  # None: the project has no card text file
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
_PATHS = ("schema", "changelog", "card_text", "raw", "out")


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) whose pyproject.toml has [tool.dataset-tools].

    Raises:
        ProjectNotFound: there is none.
    """
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
    raise ProjectNotFound(here)


def load_settings(root: Path | None = None) -> Settings:
    """Read `[tool.dataset-tools]` from `root/pyproject.toml` (root found from cwd when None).

    Raises:
        ProjectNotFound: no pyproject.toml with the table in `root` (or cwd) or its parents.
        ConfigError: the table has unknown keys, lacks required keys (`MissingSettings`, which
            names all of them), or has a malformed repo_id.
    """
    root = find_project_root(root)
    path = root / "pyproject.toml"
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))["tool"]["dataset-tools"]
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"cannot read [tool.dataset-tools] from {path}: {exc}") from None
    return settings_from_table(root, table, path)


def settings_from_table(root: Path, table: dict, path: Path) -> Settings:
    """Settings from a `[tool.dataset-tools]` table (`path` names where it is, for messages).

    Raises:
        ConfigError: as `load_settings`.
    """
    known = {f.name for f in fields(Settings)} - {"root"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in [tool.dataset-tools] of {path}: {', '.join(unknown)}")
    missing = [key for key in _REQUIRED if not table.get(key)]
    if missing:
        raise MissingSettings(missing, path)
    if not REPO_ID.match(table["repo_id"]):
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
    # Files a project may lack when it does not name them: the packaged schema stands in for
    # the first, the Hub's "[More Information Needed]" for the card's texts (see card/texts.py).
    if "schema" not in table and not values["schema"].is_file():
        values["schema"] = PACKAGED_SCHEMA
    if "card_text" not in table and not values["card_text"].is_file():
        values["card_text"] = None
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
    return settings.root / CACHE_FOLDER


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
        raise ConfigError(
            f"{path} not found: it holds the dataset version",
            hint="Create it with a release heading like '## [1.0.0] - 2026-01-31' (`dataset-tools init` writes one).",
        ) from None
    match = _RELEASE_HEADING.search(text)
    if not match:
        raise ConfigError(
            f"{path} has no release heading like '## [1.0.0] - 2026-01-31'",
            hint="Add a release heading, or run `dataset-tools release`.",
        )
    return match.group("version")
