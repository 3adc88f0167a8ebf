"""What a reader is: a name, a version, which files it claims, and `parse(bytes, path)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dataset_tools.records import Article, Reject


@dataclass(frozen=True, slots=True)
class Reader:
    """One raw layout's reader.

    `parse(data, path)` turns one file's exact bytes into an `Article` or a `Reject` (never
    raises, never touches the file system: `path` is provenance only). `claims(path)` says
    whether this reader reads the file at `path` (relative, '/'-separated); the registry asks
    the readers in order and the first that claims a file reads it. `version` changes whenever
    the reader's output for some input changes: it is stamped into every row
    (`parser_version` = `name/version`) and keys the build cache.
    """

    name: str
    version: str
    parse: Callable[[bytes, str], Article | Reject]
    claims: Callable[[str], bool]
    fallbacks: dict[str, str] = field(default_factory=dict)  # the codes of `Article.fallbacks` it gives, and what each means

    @property
    def id(self) -> str:
        """`name/version`, as rows and the report carry it."""
        return f"{self.name}/{self.version}"
