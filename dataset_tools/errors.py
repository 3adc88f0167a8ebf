"""Every error the library raises. Bad input is never one of them: it becomes a `Reject`.

Each class inherits a builtin (so `except FileNotFoundError` catches a missing folder) and
carries the fields its message is made of. The CLI prints any of them the same way, in one
place: `str(error)` on one line, then its `hint`, and exits with its `exit_code` (2 for usage
errors, 1 for a job that failed); a traceback only when DATASET_TOOLS_DEBUG=1.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class DatasetToolsError(Exception):
    """Something went wrong in dataset-tools."""

    hint: str | None = None
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(DatasetToolsError):
    """The command was given something it cannot use: a bad option, a missing folder or setting."""

    exit_code = 2


class ConfigError(UsageError, ValueError):
    """The project settings ([tool.dataset-tools] in pyproject.toml) or CHANGELOG.md are invalid."""

    hint = "Check the [tool.dataset-tools] table in pyproject.toml and the top heading of CHANGELOG.md."


class SchemaError(UsageError, ValueError):
    """The table schema in schemas/ is invalid or uses a type the tool cannot map to Arrow."""

    hint = "Fix schemas/article.schema.json; `frictionless validate --type schema` checks it."


class InputNotFound(UsageError, FileNotFoundError):
    """A raw folder, a built dataset folder or a Hub revision does not exist; `path` names it."""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class UnknownEngine(UsageError, ValueError):
    """`--engine` names no engine this tool has."""

    def __init__(self, name: str, choices: Iterable[str]) -> None:
        self.name, self.choices = name, tuple(choices)
        super().__init__(f"unknown engine {name!r}", hint=f"Use one of: {', '.join(self.choices)}.")


class EngineUnavailable(DatasetToolsError, ImportError):
    """The chosen execution engine cannot be used in this environment."""

    def __init__(self, engine: str, reason: str, *, extra: str | None = None) -> None:
        self.engine, self.reason, self.extra = engine, reason, extra
        hint = f"pip install 'dataset-tools[{extra}]'" if extra else None
        super().__init__(f"the {engine} engine cannot be used: {reason}", hint=hint)


class CacheBusy(DatasetToolsError, RuntimeError):
    """Another build is using the same cache folder."""

    hint = "Wait for the other build to finish, or pass --cache DIR / --no-cache."

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        super().__init__(f"the build cache {folder} is in use by another build")


class BuildFailed(DatasetToolsError, RuntimeError):
    """The build could not write a complete dataset; the previous output was left untouched."""


class StrictModeFailure(DatasetToolsError):
    """--strict was given and the build rejected at least one input."""

    hint = "See report.json in the build folder for each reject and its reason."

    def __init__(self, rejected: int) -> None:
        self.rejected = rejected
        super().__init__(f"{rejected} input(s) rejected and --strict was given")
