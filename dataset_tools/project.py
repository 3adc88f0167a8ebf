"""A new dataset project: what `dataset-tools init` writes, after which `build` works as is.

    <folder>/
      pyproject.toml                  [tool.dataset-tools]: the answers, and where things are
      schemas/article.schema.json     a copy of the packaged schema, the project's own from now on
      card.md                         the card's own words (card/texts.py): neutral, to rewrite
      CHANGELOG.md                    the dataset's changelog; its top heading is the version
      raw/                            the collected pages (a raw/ already there is kept as is)
      .gitignore                      dist/ and the build cache (lines added to one already there)
      .github/workflows/validate.yml  GitHub Actions: install dataset-tools, build, validate

The files come from `templates/project/`. Nothing is overwritten unless asked (`force`).

The workflow installs dataset-tools from a pip requirement (`install`), by default the one
this dataset-tools was installed from when a CI runner can reach it: a git commit, an http(s)
URL, or the pushed commit of the clone installed with `pip install -e .`
(`ci_install_source`). Never `pip install dataset-tools` from PyPI: that name there is
another project's. Where the source is another local folder or file, the workflow's install
step fails with a message saying what to write there.
"""

from __future__ import annotations

import getpass
import json
import re
import shlex
import shutil
from dataclasses import asdict, dataclass
from datetime import date as Date
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from dataset_tools import __version__
from dataset_tools.config import CACHE_FOLDER, PACKAGED_SCHEMA, PROJECT_SCHEMA, REPO_ID, settings_from_table
from dataset_tools.errors import ConfigError, ProjectExists, UsageError

TEMPLATES = Path(__file__).parent / "templates" / "project"
DEFAULT_LICENSE = "unknown"  # the Hub's own identifier for "not stated yet": honest until the user says
DEFAULT_DESCRIPTION = "News articles collected from online outlets, with their metadata and per-row provenance back to the exact collected pages."

# The files rendered from templates/project/: path in the project -> template.
RENDERED = {
    "pyproject.toml": "pyproject.toml.j2",
    "card.md": "card.md.j2",
    "CHANGELOG.md": "CHANGELOG.md.j2",
    ".github/workflows/validate.yml": "validate.yml.j2",
}
RAW_FOLDER = "raw"
OUT_FOLDER = "dist"
GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class ProjectAnswers:
    """What `init` asks: the required settings, and the optional creator."""

    name: str
    pretty_name: str
    repo_id: str
    license: str
    description: str
    creator: str | None = None


@dataclass(frozen=True)
class InitResult:
    """The folder made, and what was done there: each path written, and each kept or extended;
    `install`, what the CI workflow installs dataset-tools from (None: the user must say)."""

    folder: Path
    written: list[str]
    kept: list[str]
    install: str | None = None


# The questions, in the order asked: answer field -> prompt. Each default depends on the
# answers before it (`suggest`).
QUESTIONS = {
    "name": "Dataset name (a short id, e.g. my-news)",
    "pretty_name": "Pretty name (the card's title)",
    "repo_id": "Hub repo id (namespace/name)",
    "license": "License (a Hub license id, e.g. cc-by-4.0; 'other' with license_name)",
    "description": "One-sentence description",
}


def suggest(field: str, folder: Path, answers: dict[str, str]) -> str:
    """The default answer to question `field` for a project in `folder`, given the answers so far."""
    name = answers.get("name") or _slug(Path(folder).resolve().name) or "news-articles"
    if field == "name":
        return name
    if field == "pretty_name":
        return " ".join(word.capitalize() for word in re.split(r"[-_.\s]+", name) if word)
    if field == "repo_id":
        return f"{_user() or 'namespace'}/{name}"
    if field == "license":
        return DEFAULT_LICENSE
    if field == "description":
        return DEFAULT_DESCRIPTION
    raise KeyError(field)


def check_answer(field: str, value: str) -> str:
    """`value`, stripped, if it can be the answer to question `field`.

    Raises:
        ConfigError: it is empty, or a repo_id not of the form namespace/name.
    """
    value = value.strip()
    if not value:
        raise ConfigError(f"{field} cannot be empty")
    if field == "repo_id" and not REPO_ID.match(value):
        raise ConfigError(f"repo_id {value!r} is not of the form 'namespace/name'")
    return value


def check_new_project(folder: Path, *, force: bool = False) -> None:
    """Check that `init_project` may write into `folder`.

    Raises:
        ProjectExists: a file init writes is there and `force` is False.
        UsageError: `folder` is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder", hint="Pass a new or existing folder to `dataset-tools init`.")
    existing = [rel for rel in (*RENDERED, PROJECT_SCHEMA.as_posix()) if (folder / rel).exists()]
    if existing and not force:
        raise ProjectExists(folder.resolve(), existing)


def init_project(
    folder: Path, answers: ProjectAnswers, *, force: bool = False, today: Date | None = None, install: str | None = None,
) -> InitResult:
    """Write a new dataset project into `folder` (made if missing).

    Args:
        folder: the project folder.
        answers: the settings to write into pyproject.toml.
        force: overwrite the files of an existing project (the raw folder is never touched).
        today: the date of the first release heading in CHANGELOG.md (default: today).
        install: the pip requirement the CI workflow installs dataset-tools from (default:
            `ci_install_source()`).

    Returns:
        What was written and kept.

    Raises:
        ProjectExists: a file init writes is already there and `force` is False.
        ConfigError: the answers do not make valid settings (a missing value, a malformed repo_id).
        UsageError: `folder` is a file, or `install` is not one printable line.
    """
    folder = Path(folder)
    check_new_project(folder, force=force)
    install = (install or "").strip() or ci_install_source()
    if install is not None and not install.isprintable():
        raise UsageError("--install must be one line of printable characters", hint="Pass a pip requirement such as 'dataset-tools @ git+URL@TAG'.")
    table = {key: value for key, value in asdict(answers).items() if value}
    settings_from_table(folder.resolve(), table, folder / "pyproject.toml")  # the same checks as every later command

    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True, autoescape=False, undefined=jinja2.StrictUndefined
    )
    environment.filters["toml"] = _toml_string
    environment.filters["shell"] = shlex.quote
    values = {
        **asdict(answers),
        "tool_version": __version__,
        "install": install,
        "date": (today or Date.today()).isoformat(),
        "out": OUT_FOLDER,
        "cache": CACHE_FOLDER,
    }
    written, kept = [], []
    for rel, template in RENDERED.items():
        _write(folder / rel, environment.get_template(template).render(values))
        written.append(rel)
    (folder / PROJECT_SCHEMA).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PACKAGED_SCHEMA, folder / PROJECT_SCHEMA)
    written.append(PROJECT_SCHEMA.as_posix())
    raw = folder / RAW_FOLDER
    (kept if raw.is_dir() else written).append(RAW_FOLDER + "/")
    raw.mkdir(exist_ok=True)
    ignore = environment.get_template("gitignore.j2").render(values)
    (kept if (folder / GITIGNORE).exists() else written).append(GITIGNORE)
    _add_lines(folder / GITIGNORE, ignore)
    return InitResult(folder, written, kept, install)


def ci_install_source() -> str | None:
    """The pip requirement a CI runner can install this dataset-tools from (`install_source`
    of its PEP 610 direct_url.json); None when it was installed from a package index or its
    origin is not recorded."""
    from importlib import metadata

    try:
        text = metadata.distribution("dataset-tools").read_text("direct_url.json")
        return install_source(json.loads(text)) if text else None
    except (metadata.PackageNotFoundError, ValueError):
        return None


def install_source(direct_url: dict) -> str | None:
    """The pip requirement for what a PEP 610 `direct_url.json` records: the git (or other
    VCS) commit, or the http(s) URL of the archive. A local folder (`pip install -e .` in a
    clone) gives its commit on its `origin` remote when that is an http(s) URL and the commit
    was pushed there (`_pushed_commit`); any other local folder or file gives None: a CI
    runner cannot reach it."""
    url = direct_url.get("url", "") if isinstance(direct_url, dict) else ""
    vcs = direct_url.get("vcs_info") if isinstance(direct_url, dict) else None
    if url.startswith("file://") and isinstance(direct_url.get("dir_info"), dict):
        return _pushed_commit(Path(url2pathname(urlparse(url).path)))
    if url.startswith("file:"):
        return None
    if isinstance(vcs, dict) and vcs.get("vcs"):
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"dataset-tools @ {vcs['vcs']}+{url}" + (f"@{commit}" if commit else "")
    if url.startswith(("https://", "http://")):
        return f"dataset-tools @ {url}"
    return None


def _pushed_commit(folder: Path) -> str | None:
    """`dataset-tools @ git+<origin>@<commit>` for a git clone at `folder` whose checked-out
    commit, with no uncommitted change, is on a branch of its http(s) `origin` (as far as the
    clone knows); None otherwise, or without git."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    origin = git("remote", "get-url", "origin")
    if not origin or not origin.startswith(("https://", "http://")) or "@" in urlparse(origin).netloc:
        return None  # (a URL with a user name or token in it is not written into a workflow)
    commit = git("rev-parse", "--verify", "HEAD")
    if not commit or git("status", "--porcelain", "--untracked-files=no") != "" or not git("branch", "-r", "--contains", commit):
        return None
    return f"dataset-tools @ git+{origin}@{commit}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _add_lines(path: Path, text: str) -> None:
    """Append to `path` the lines of `text` it lacks (all of them to a new file)."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in current.splitlines()}
    missing = [line for line in text.splitlines() if line.strip() not in have]
    if not any(line.strip() and not line.startswith("#") for line in missing):
        return
    prefix = "" if not current or current.endswith("\n") else "\n"
    if current:
        prefix += "\n"
    _write(path, current + prefix + "\n".join(missing) + "\n")


def _user() -> str:
    """The login name as a Hub namespace guess (no network: the Hub's own name is not asked for)."""
    try:
        return _slug(getpass.getuser())
    except Exception:  # no user name in the environment or the password database
        return ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's, but for DEL)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
