"""The few errors the library raises. Bad input is never one of them: it becomes a `Reject`.

Each class's docstring is its message's gist; the CLI prints `str(error)` on one line plus
the `hint`, and a traceback only when DATASET_TOOLS_DEBUG=1.
"""

from __future__ import annotations


class DatasetToolsError(Exception):
    """Something went wrong in dataset-tools."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(DatasetToolsError, ValueError):
    """The project settings ([tool.dataset-tools] in pyproject.toml) or CHANGELOG.md are invalid."""

    hint = "Check the [tool.dataset-tools] table in pyproject.toml and the top heading of CHANGELOG.md."


class SchemaError(DatasetToolsError, ValueError):
    """The table schema in schemas/ is invalid or uses a type the tool cannot map to Arrow."""

    hint = "Fix schemas/article.schema.json; `frictionless validate --type schema` checks it."


class InputNotFound(DatasetToolsError, FileNotFoundError):
    """The raw folder or built dataset folder does not exist."""


class BuildFailed(DatasetToolsError, RuntimeError):
    """The build could not write a complete dataset; the previous output was left untouched."""


class StrictModeFailure(DatasetToolsError):
    """--strict was given and the build rejected at least one input."""

    hint = "See report.json in the build folder for each reject and its reason."
