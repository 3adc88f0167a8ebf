"""Validation results as data: the error codes, one `ValidationError` per problem, the `Report`.

Errors are collected (never raised) by `Errors`, which keeps at most MAX_ERRORS_PER_KEY of one
type per (file, field) and counts the rest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dataset_tools.errors import FileTooLarge, JsonTooDeep, NotRegularFile, ParquetTooLarge, UnsafePath
from dataset_tools.untrusted import relative_path

# At most this many errors of one type are listed per (file, field); the rest are counted.
MAX_ERRORS_PER_KEY = 20

# The stable error codes and what each means.
ERROR_TYPES: dict[str, str] = {
    "schema-mismatch": "a Parquet file's schema differs from schemas/ (order, nullability, features metadata)",
    "schema-hash": "the dataset was built with a different schemas/ file than the one validated against",
    "missing-column": "a column of the schema is missing from a Parquet file",
    "extra-column": "a Parquet file has a column the schema does not define",
    "type-mismatch": "a column's Arrow type differs from the schema's",
    "shard-mismatch": "a shard's schema differs from the other shards'",
    "required-null": "a required field is null",
    "duplicate-id": "an id appears more than once across the shards",
    "duplicate-value": "a value of a unique field appears more than once across the shards",
    "constraint": "a value breaks a constraint of the schema (pattern, length, range, language code...)",
    "corrupt-file": "a Parquet file cannot be read",
    "hash-mismatch": "a file's SHA-256 differs from the one in manifest.json",
    "card-edited": "a card file (README.md, croissant.json, datapackage.json, the plot) changed after the build wrote it: `dataset-tools card` renders it again",
    "row-count-mismatch": "a Parquet file's row count differs from the one in manifest.json",
    "unlisted-file": "a data file that manifest.json does not list",
    "missing-file": "a file that should be there is missing",
    "manifest-invalid": "manifest.json cannot be read or lacks its lists",
    "report-mismatch": "report.json's counts do not add up, or its row count differs from the Parquet files'",
    "inputs-mismatch": "the input listings (inputs/) do not hold one line per input that report.json counts, or cannot be read",
    "card-yaml": "the card's YAML header is missing or does not parse",
    "card-features": "the card's dataset_info.features differ from the schema's features",
    "card-splits": "the card's split sizes differ from the Parquet files",
    "card-config": "the card's configs point at no file, or miss a data file",
    "card-metadata": "required card metadata (license, language, pretty_name) is missing or wrong",
    "croissant-invalid": "croissant.json fails mlcroissant's validation",
    "datapackage-invalid": "datapackage.json fails frictionless' validation",
    "near-duplicate-target": "a near_duplicate_of names no row of the dataset",
    "unsafe-path": "a path in manifest.json, datapackage.json, croissant.json or the card's configs is absolute, "
                   "a URL, or leaves the folder; it is not opened",
    "not-regular-file": "an entry of the folder is a symbolic link, FIFO, socket or device (or cannot be read); "
                        "it is never opened or followed",
    "external-reference": "datapackage.json or croissant.json refers to a profile or JSON-LD context outside the "
                          "folder; it is not fetched",
    "json-too-deep": "a JSON document nests arrays or objects too deeply to be read safely",
    "file-too-large": "a metadata file (manifest, report, card, Croissant, Data Package) is too large to be read",
    "parquet-too-large": "a Parquet file's footer, row group, page or batch would take too much memory once read "
                         "(a compression or dictionary bomb); it is not read",
    "repo-mismatch": "the card (its load line or citation) or croissant.json (url, citeAs) names another Hub repo "
                     "than the dataset's own (REPO of REPO@REV, else the repo manifest.json names)",
}


@dataclass(frozen=True, slots=True)
class ValidationError:
    """One problem: a stable `type` code, the file, the row and field where there is one, a message."""

    type: str
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def to_dict(self) -> dict:
        return {"type": self.type, "file": self.file, "row": self.row, "field": self.field, "message": self.message}


@dataclass
class Report:
    """The outcome of a validation: `valid`, `stats` (files, rows, errors) and the errors as data."""

    source: str
    valid: bool
    stats: dict
    errors: list[ValidationError] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "valid": self.valid,
            "stats": dict(self.stats),
            "errors": [error.to_dict() for error in self.errors],
        }

    def types(self) -> set[str]:
        """The distinct error types in the report."""
        return {error.type for error in self.errors}


class Errors:
    """Collects errors, keeping at most MAX_ERRORS_PER_KEY per (type, file, field)."""

    def __init__(self) -> None:
        self.items: list[ValidationError] = []
        self.counts: Counter = Counter()

    def add(self, type_: str, message: str, file: str | None = None, row: int | None = None, field: str | None = None) -> None:
        key = (type_, file, field)
        self.counts[key] += 1
        if self.counts[key] <= MAX_ERRORS_PER_KEY:
            self.items.append(ValidationError(type_, message, file, row, field))

    def inside(self, path: object, where: str, file: str, refused: str = "it is not opened") -> str | None:
        """`path` as a relative path inside the folder (`untrusted.relative_path`); None, with an
        `unsafe-path` error saying `where` it was named, when it is not one."""
        try:
            return relative_path(path)
        except UnsafePath as exc:
            self.add("unsafe-path", f"{where}: the path {exc}; {refused}", file)
            return None

    def unread(self, file: str, exc: BaseException, type_: str, what: str) -> None:
        """Report that `file` was not read, or not to the end: a refusal by its own type (a link
        or FIFO, a file or Parquet data over validate's bounds, JSON nested too deep), any
        other failure as `type_`, "`what`: <the failure in one line>"."""
        for refusal, refused_type in _REFUSALS.items():
            if isinstance(exc, refusal):
                self.add(refused_type, str(exc), file)
                return
        self.add(type_, f"{what}: {one_line(exc)}", file)

    def finish(self) -> list[ValidationError]:
        out = list(self.items)
        for (type_, file, field_), count in self.counts.items():
            if count > MAX_ERRORS_PER_KEY:
                more = count - MAX_ERRORS_PER_KEY
                out.append(ValidationError(type_, f"... and {more} more {type_} error(s) not listed", file, None, field_))
        return out

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# What validate refuses to open or read on, by the error type reported.
_REFUSALS = {NotRegularFile: "not-regular-file", FileTooLarge: "file-too-large", JsonTooDeep: "json-too-deep", ParquetTooLarge: "parquet-too-large"}


def one_line(exc: BaseException) -> str:
    """An exception as one line that names no path of the machine."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
