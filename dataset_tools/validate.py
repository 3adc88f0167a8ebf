"""A built folder or a Hub revision -> `Report`: every kind of schema drift, as data.

`validate_dataset(folder, schema)` checks a dataset folder as a user would load it:

- each Parquet file's Arrow schema against the table schema (names, order, types,
  nullability, the `huggingface` features metadata) and every shard against the others;
- the table constraints of the schema (`schema.check_batch`, column-wise with pyarrow compute
  over record batches) and `id` unique across all shards;
- `manifest.json`: the schema hash it was built with, every listed file present with its
  SHA-256 and row count, no Parquet file that it does not list;
- `report.json`: its counts account for every input, and its row count is the data's;
- the card (`README.md`): YAML parsed by `huggingface_hub`, required metadata, features,
  split sizes and languages against the data, `configs` paths matching files;
- `croissant.json` (mlcroissant's own validation) and `datapackage.json` (frictionless)
  when present.

The folder is untrusted (see untrusted.py): every entry is listed by lstat first, and only
regular files inside it are opened, never through a link; a path named in its files must be
relative and stay inside; nothing is fetched (no Data Package profile, no JSON-LD context: the
only network access is the Hub download of a revision); JSON is read with bounded size and
depth; a Parquet file's row groups and pages are sized from its footer and page headers before
anything is decompressed (see parquet_limits.py). Each of these is an error entry.

A broken dataset never raises: a corrupt file is an error entry. Memory is bounded by a few
row groups plus 15 bytes per row for the uniqueness check (ids kept as uint64 in numpy).
`validate_target(target, settings)` accepts a folder or `namespace/name[@revision]` on the
Hub (downloaded with `huggingface_hub.snapshot_download`, which honours HF_ENDPOINT and
HF_TOKEN) and runs the same checks on the downloaded files.

Row numbers in errors are 0-based row indices within the named Parquet file.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools import parquet_limits
from dataset_tools.errors import (
    ExternalReference,
    FileTooLarge,
    InputNotFound,
    JsonTooDeep,
    NotRegularFile,
    ParquetTooLarge,
    UnsafePath,
)
from dataset_tools.fileio import sha256_stream
from dataset_tools.iso639 import UNDETERMINED
from dataset_tools.layout import CARD_FILE, CARD_FILES, CROISSANT_FILE, DATA_DIR, DATAPACKAGE_FILE, INPUTS_DIR, INPUTS_GLOB, MANIFEST_FILE, REPORT_FILE
from dataset_tools.schema import TableSchema, check_batch
from dataset_tools.untrusted import Inventory, load_json, open_regular, path_matches, read_bounded, read_json, relative_path

# At most this many errors of one type are listed per (file, field); the rest are counted.
MAX_ERRORS_PER_KEY = 20
BATCH_ROWS = 8192

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

_CONSTRAINT_TYPES = {"required": "required-null"}


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


class _Errors:
    """Collects errors, keeping at most MAX_ERRORS_PER_KEY per (type, file, field)."""

    def __init__(self) -> None:
        self.items: list[ValidationError] = []
        self.counts: Counter = Counter()

    def add(self, type_: str, message: str, file: str | None = None, row: int | None = None, field: str | None = None) -> None:
        key = (type_, file, field)
        self.counts[key] += 1
        if self.counts[key] <= MAX_ERRORS_PER_KEY:
            self.items.append(ValidationError(type_, message, file, row, field))

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


# -- targets ---------------------------------------------------------------------------------


def validate_target(target: str | Path, schema: TableSchema) -> Report:
    """Validate a local folder, or a Hub revision (`namespace/name[@revision]`) after
    downloading it to a temporary folder (see sources.py).

    Raises:
        InputNotFound: the folder, repository or revision does not exist (a usage error).
        HubDownloadFailed: the Hub could not be reached or the download failed.
    """
    from dataset_tools.sources import open_dataset, parse_location

    with open_dataset(target) as folder:
        return validate_dataset(folder, schema, source=str(target), repo_id=parse_location(str(target)).repo_id)


# -- the checks ------------------------------------------------------------------------------


def validate_dataset(folder: Path, schema: TableSchema, *, source: str | None = None, repo_id: str | None = None) -> Report:
    """Check a built dataset folder against the table schema, its manifest and its card.

    Args:
        folder: the dataset folder (as `build` writes it, or a downloaded Hub revision).
        schema: the table schema to validate against (the project's `schemas/`).
        source: how to name the dataset in the report (default: the folder).
        repo_id: the Hub repo the dataset is published as, which its card files must name
            (default: the repo manifest.json names, when it names one).

    Returns:
        A report; `report.valid` is False when any error was found. Never raises on a broken
        dataset.

    Raises:
        InputNotFound: `folder` does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFound(f"dataset folder {folder} does not exist", hint="Run `dataset-tools build` first, or pass the folder.")
    errors = _Errors()
    inventory = Inventory.of(folder)
    for rel, kind in sorted(inventory.others.items()):
        errors.add("not-regular-file", str(NotRegularFile(rel, kind)), rel)
    manifest = _check_manifest(folder, inventory, schema, errors)
    parquet = _data_files_present(inventory)
    listed = [entry["path"] for entry in manifest["data_files"]] if manifest else []
    for rel in sorted(parquet | {p for p in inventory.files if p.startswith(DATA_DIR + "/")}):
        if manifest is not None and rel not in listed:
            errors.add("unlisted-file", f"{rel} is a data file that manifest.json does not list", rel)

    scan = _Scan(schema, errors)
    for rel in sorted(parquet | {p for p in listed if p in inventory.files}):
        scan.check_file(folder, rel)
    scan.check_shards()
    scan.check_unique()
    if manifest is not None:
        for entry in manifest["data_files"]:
            rows = scan.rows_by_file.get(entry["path"])
            if rows is not None and "rows" in entry and rows != entry["rows"]:
                errors.add("row-count-mismatch", f"{entry['path']} has {rows} rows, manifest.json says {entry['rows']}", entry["path"])
    counts = _check_report(folder, inventory, sum(scan.rows_by_file.values()), bool(scan.corrupt), errors)
    if counts is not None:
        _check_inputs(folder, inventory, counts, errors)
    _check_card(folder, inventory, schema, scan, manifest, errors)
    _check_croissant(folder, inventory, errors)
    _check_datapackage(folder, inventory, schema, errors)
    _check_repo_names(folder, inventory, repo_id or _manifest_repo(manifest), errors)
    listed_errors = errors.finish()
    stats = {"files": len(scan.rows_by_file) + len(scan.corrupt), "rows": sum(scan.rows_by_file.values()), "errors": errors.total}
    return Report(source or str(folder), not listed_errors, stats, listed_errors)


def _data_files_present(inventory: Inventory) -> set[str]:
    """Every Parquet file in the folder but the input listings, hidden folders (.cache of a Hub
    download) excepted."""
    return {rel for rel in inventory.files
            if rel.endswith(".parquet") and not rel.startswith(INPUTS_DIR + "/")
            and not any(part.startswith(".") for part in rel.split("/"))}


def _read_metadata(folder: Path, inventory: Inventory, rel: str, errors: _Errors, invalid: str, *,
                   listing: str | None = None) -> object | None:
    """The JSON document `rel` (see untrusted.read_json), or None with the reason reported as an
    error of type `invalid` (or of the bound it broke). A missing or irregular file gives None
    silently: the manifest and the inventory report those."""
    if rel not in inventory.files:
        return None
    try:
        return read_json(folder, rel, listing=listing)
    except JsonTooDeep as exc:
        errors.add("json-too-deep", str(exc), rel)
    except FileTooLarge as exc:
        errors.add("file-too-large", str(exc), rel)
    except NotRegularFile as exc:  # replaced by a link or FIFO since the inventory
        errors.add("not-regular-file", str(exc), rel)
    except (OSError, ValueError) as exc:
        errors.add(invalid, f"{rel} cannot be read: {_reason(exc)}", rel)
    return None


def _reason(exc: BaseException) -> str:
    """An exception as one line that names no path of the machine."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_report(folder: Path, inventory: Inventory, rows: int, corrupt: bool, errors: _Errors) -> dict | None:
    """report.json accounts for every input: its counts add up to the inputs, and its row count
    is the number of rows in the Parquet files. (Only its head is read, not the list of
    rejects.) Returns its counts, or None when they cannot be read."""
    # A build always writes it; manifest.json lists it, so its absence is reported there.
    report = _read_metadata(folder, inventory, REPORT_FILE, errors, "report-mismatch", listing="rejected")
    if report is None:
        return None
    try:
        counts = {key: int((report.get("counts") or {})[key]) for key in ("inputs", "rows", "duplicates", "superseded", "rejected")}
        inputs, rows_said = counts["inputs"], counts["rows"]
        lost = sum(counts[key] for key in ("duplicates", "superseded", "rejected"))
    except (AttributeError, ValueError, KeyError, TypeError) as exc:
        errors.add("report-mismatch", f"report.json has no readable counts: {type(exc).__name__} {exc}", REPORT_FILE)
        return None
    if rows_said + lost != inputs:
        errors.add(
            "report-mismatch",
            f"report.json accounts for {rows_said + lost} of its {inputs} inputs (rows + duplicates + superseded + rejected)",
            REPORT_FILE,
        )
    if not corrupt and rows_said != rows:
        errors.add("report-mismatch", f"report.json says {rows_said} rows, the Parquet files hold {rows}", REPORT_FILE)
    return counts


def _check_inputs(folder: Path, inventory: Inventory, counts: dict, errors: _Errors) -> None:
    """The input listings hold one line per input that became a row, a duplicate or a
    superseded version, as many of each as report.json counts (read as untrusted Parquet: its
    sizes checked before anything is decompressed, one column read)."""
    found: Counter = Counter()
    for rel in inventory.glob(INPUTS_GLOB):
        try:
            with open_regular(folder, rel) as handle:
                parquet_limits.check_footer_size(handle, rel)
                parquet = pq.ParquetFile(handle, pre_buffer=False)
                parquet_limits.check_sizes(handle, parquet.metadata, rel)
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=["outcome"]):
                    if parquet_limits.decoded_bytes(batch) > parquet_limits.MAX_BATCH_BYTES:
                        raise ParquetTooLarge(rel, "a batch of outcomes", parquet_limits.decoded_bytes(batch), parquet_limits.MAX_BATCH_BYTES)
                    found.update(_value_counts(batch.column("outcome")))
        except ParquetTooLarge as exc:
            errors.add("parquet-too-large", str(exc), rel)
            return
        except NotRegularFile as exc:
            errors.add("not-regular-file", str(exc), rel)
            return
        except Exception as exc:  # any reader failure is the file's fault
            errors.add("inputs-mismatch", f"{rel} cannot be read as an input listing: {_reason(exc)}", rel)
            return
    for outcome, key in (("row", "rows"), ("duplicate", "duplicates"), ("superseded", "superseded")):
        if found[outcome] != counts[key]:
            errors.add("inputs-mismatch", f"the input listings name {found[outcome]} input(s) as {outcome}, report.json counts {counts[key]} {key}", INPUTS_DIR)
    others = sum(n for outcome, n in found.items() if outcome not in ("row", "duplicate", "superseded"))
    if others:
        errors.add("inputs-mismatch", f"the input listings hold {others} line(s) with an unknown outcome", INPUTS_DIR)


def _value_counts(values: pa.Array) -> Counter:
    counts = pc.value_counts(values)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())))


def _check_manifest(folder: Path, inventory: Inventory, schema: TableSchema, errors: _Errors) -> dict | None:
    """Read manifest.json and check its hashes; None when it is missing or unreadable. Entries
    whose path is not a plain relative path inside the folder are reported and left out of the
    manifest returned, so nothing downstream opens them."""
    if MANIFEST_FILE not in inventory.files:
        if MANIFEST_FILE not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", "manifest.json is missing: the files cannot be checked against it", MANIFEST_FILE)
        return None
    # Only its head is read: the list of inputs last in it names raw files, never opened here.
    manifest = _read_metadata(folder, inventory, MANIFEST_FILE, errors, "manifest-invalid", listing="inputs")
    if manifest is None:
        return None
    problem = _manifest_problem(manifest)
    if problem:
        errors.add("manifest-invalid", f"manifest.json cannot be read: {problem}", MANIFEST_FILE)
        return None
    built_with = manifest.get("schema")
    recorded = built_with.get("sha256") if isinstance(built_with, dict) else None
    if recorded != schema.sha256:
        errors.add(
            "schema-hash",
            f"the dataset was built with schema sha256 {recorded}, but {schema.path.name} has sha256 {schema.sha256}",
            MANIFEST_FILE,
        )
    for key in ("data_files", "files"):
        safe = []
        for entry in manifest[key]:
            try:
                safe.append(dict(entry, path=relative_path(entry["path"])))
            except UnsafePath as exc:
                errors.add("unsafe-path", f"manifest.json {key}: the path {exc}; it is not opened", MANIFEST_FILE)
        manifest[key] = safe
        for entry in safe:
            _check_listed_file(folder, inventory, entry, errors)
    return manifest


def _manifest_problem(manifest: object) -> str | None:
    if not isinstance(manifest, dict):
        return "not a JSON object"
    for key in ("data_files", "files"):
        entries = manifest.get(key)
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str) for e in entries):
            return f"'{key}' is not a list of entries with a path"
    return None


def _check_listed_file(folder: Path, inventory: Inventory, entry: dict, errors: _Errors) -> None:
    """A file manifest.json lists is a regular file of the folder with the SHA-256 it records."""
    rel = entry["path"]
    if rel not in inventory.files:
        if rel not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", f"{rel} is listed in manifest.json but missing", rel)
        return
    if "sha256" not in entry:
        return
    try:
        with open_regular(folder, rel) as handle:
            actual = sha256_stream(handle)
    except NotRegularFile as exc:
        errors.add("not-regular-file", str(exc), rel)
        return
    except OSError as exc:
        errors.add("missing-file", f"{rel} is listed in manifest.json but cannot be read: {_reason(exc)}", rel)
        return
    if actual != entry["sha256"] and rel in CARD_FILES:
        errors.add(
            "card-edited",
            f"{rel} changed after the build wrote it (edited by hand?): run `dataset-tools card` to render it again; lasting text belongs in card.md",
            rel,
        )
    elif actual != entry["sha256"]:
        errors.add("hash-mismatch", f"{rel} has sha256 {actual}, manifest.json says {entry['sha256']}", rel)


def _schema_differences(actual: pa.Schema, expected: pa.Schema) -> list[tuple[str, str | None, str]]:
    """(type, field, message) for each way `actual` differs from `expected`."""
    out: list[tuple[str, str | None, str]] = []
    want = {f.name: f for f in expected}
    have = {f.name: f for f in actual}
    for name in want:
        if name not in have:
            out.append(("missing-column", name, f"column {name!r} is missing"))
    for name in have:
        if name not in want:
            out.append(("extra-column", name, f"column {name!r} ({have[name].type}) is not in the schema"))
    for name, spec in want.items():
        if name not in have:
            continue
        got = have[name]
        if got.type != spec.type:
            out.append(("type-mismatch", name, f"column {name!r} is {got.type}, the schema says {spec.type}"))
        if got.nullable != spec.nullable:
            state = "nullable" if got.nullable else "not nullable"
            rule = "requires it" if not spec.nullable else "allows nulls"
            out.append(("schema-mismatch", name, f"column {name!r} is {state}, the schema {rule}"))
    common_have = [n for n in actual.names if n in want]
    common_want = [n for n in expected.names if n in have]
    if common_have != common_want:
        out.append(("schema-mismatch", None, f"columns are in the order {common_have}, the schema's order is {common_want}"))
    return out


class _Scan:
    """One pass over the Parquet files: schemas, constraints, ids, languages, row counts."""

    def __init__(self, schema: TableSchema, errors: _Errors) -> None:
        self.schema = schema
        self.errors = errors
        self.expected = schema.arrow_schema
        self.rows_by_file: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.schemas: dict[str, pa.Schema] = {}
        self.languages: set[str] = set()
        self.unique_fields = [f.name for f in schema.fields if f.unique]
        self.keys: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]] = {n: [] for n in self.unique_fields}
        self.files: list[str] = []
        self.sizes: dict[str, tuple[int, int, int]] = {}  # rows, bytes on disk, bytes uncompressed (footer)

    def check_file(self, folder: Path, rel: str) -> None:
        try:
            handle = open_regular(folder, rel)
        except NotRegularFile as exc:  # replaced by a link or FIFO since the inventory
            self._not_read(rel, "not-regular-file", str(exc))
            return
        except OSError as exc:
            self._not_read(rel, "corrupt-file", f"{rel} cannot be opened: {_reason(exc)}")
            return
        with handle:
            self._check_open_file(handle, rel)

    def _not_read(self, rel: str, type_: str, message: str) -> None:
        self.corrupt.add(rel)
        self.errors.add(type_, message, rel)

    def _check_open_file(self, handle, rel: str) -> None:
        try:
            parquet_limits.check_footer_size(handle, rel)
            # No pre-buffering: one column chunk in memory at a time, not a whole row group's.
            parquet = pq.ParquetFile(handle, pre_buffer=False)
            actual = parquet.schema_arrow
        except ParquetTooLarge as exc:
            self._not_read(rel, "parquet-too-large", str(exc))
            return
        except Exception as exc:  # any reader failure is the file's fault, not ours
            self._not_read(rel, "corrupt-file", f"{rel} cannot be read as Parquet: {exc}")
            return
        self.schemas[rel] = actual
        differences = _schema_differences(actual, self.expected)
        for type_, name, message in differences:
            self.errors.add(type_, f"{rel}: {message}", rel, field=name)
        if not differences:
            self._check_features_metadata(rel, actual)
        metadata = parquet.metadata
        try:
            parquet_limits.check_sizes(handle, metadata, rel)
        except ParquetTooLarge as exc:
            self._not_read(rel, "parquet-too-large", str(exc))
            return
        except (ValueError, OSError) as exc:
            self._not_read(rel, "corrupt-file", f"{rel} cannot be read as Parquet: {exc}")
            return
        data_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        self.sizes[rel] = (metadata.num_rows, os.fstat(handle.fileno()).st_size, data_bytes)
        file_index = len(self.files)
        self.files.append(rel)
        # Only columns of the schema's type are read: another type is reported above, and its
        # values could cost anything to read (a fixed-size binary of a gigabyte per row).
        columns = [n for n in self.schema.names if n in actual.names and actual.field(n).type == self.expected.field(n).type]
        # Strings stored with a dictionary are read as dictionary and indices, and decoded only
        # once the batch is known to fit (parquet_limits.decoded_bytes).
        dictionaries = parquet_limits.dictionary_columns(metadata, columns)
        reader = pq.ParquetFile(handle, pre_buffer=False, metadata=metadata, read_dictionary=dictionaries)
        offset = 0
        try:
            for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                size = parquet_limits.decoded_bytes(batch)
                if size > parquet_limits.MAX_BATCH_BYTES:
                    raise ParquetTooLarge(rel, f"rows {offset}-{offset + batch.num_rows - 1}", size, parquet_limits.MAX_BATCH_BYTES)
                if dictionaries:
                    batch = batch.cast(pa.schema([actual.field(n) for n in batch.schema.names]))
                self._check_batch(rel, file_index, batch, offset)
                offset += batch.num_rows
        except ParquetTooLarge as exc:
            self._not_read(rel, "parquet-too-large", str(exc))
            return
        except Exception as exc:
            self._not_read(rel, "corrupt-file", f"{rel} cannot be read after row {offset}: {exc}")
            return
        self.rows_by_file[rel] = offset

    def _check_features_metadata(self, rel: str, actual: pa.Schema) -> None:
        raw = (actual.metadata or {}).get(b"huggingface")
        expected = self.schema.features.to_dict()
        try:
            features = load_json(raw, rel)["info"]["features"] if raw else None
        except (ValueError, KeyError, TypeError):
            features = None
        if features != expected:
            what = "has no" if raw is None else "has different"
            self.errors.add("schema-mismatch", f"{rel}: the Parquet 'huggingface' metadata {what} features than the schema", rel)

    def _check_batch(self, rel: str, file_index: int, batch: pa.RecordBatch, offset: int) -> None:
        for violation in check_batch(batch, self.schema, limit_per_check=MAX_ERRORS_PER_KEY):
            type_ = _CONSTRAINT_TYPES.get(violation.code, "constraint")
            message = violation.message if type_ != "constraint" else f"{violation.message} ({violation.code})"
            self.errors.add(type_, f"{rel} row {offset + violation.row}: {message}", rel, offset + violation.row, violation.field)
        if "language" in batch.schema.names:
            self.languages.update(v for v in pc.unique(batch.column("language")).to_pylist() if v is not None)
        for name in self.unique_fields:
            if name in batch.schema.names:
                keys, hashed, rows = _unique_keys(batch.column(name))
                self.keys[name].append((keys, hashed, rows + offset, file_index))

    def check_shards(self) -> None:
        """Every shard has the schema most shards have; the odd ones are named."""
        if len(self.schemas) < 2:
            return
        plain = {rel: s.remove_metadata() for rel, s in self.schemas.items()}
        tally = Counter(s.to_string() for s in plain.values())
        majority_text = tally.most_common(1)[0][0]
        majority = next(s for s in plain.values() if s.to_string() == majority_text)
        reference = next(rel for rel, s in plain.items() if s.to_string() == majority_text)
        for rel, actual in plain.items():
            if actual.to_string() == majority_text:
                continue
            parts = [message for _, _, message in _schema_differences(actual, majority)]
            self.errors.add("shard-mismatch", f"{rel} differs from the other shards (e.g. {reference}): {'; '.join(parts)}", rel)

    def check_unique(self) -> None:
        for name, parts in self.keys.items():
            if not parts:
                continue
            keys = np.concatenate([p[0] for p in parts])
            hashed = np.concatenate([p[1] for p in parts])
            rows = np.concatenate([p[2] for p in parts])
            files = np.concatenate([np.full(len(p[0]), p[3], np.uint32) for p in parts])
            order = np.lexsort((rows, files, keys, hashed))
            keys, hashed, rows, files = keys[order], hashed[order], rows[order], files[order]
            same = (keys[1:] == keys[:-1]) & (hashed[1:] == hashed[:-1])
            type_ = "duplicate-id" if name == "id" else "duplicate-value"
            starts = np.concatenate([[True], ~same])
            first_of = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
            for j in np.nonzero(~starts)[0]:
                first = first_of[j]
                value = f"{name} {int(keys[j]):016x}" if not hashed[j] else f"a {name} value"
                rel, row = self.files[int(files[j])], int(rows[j])
                where = f"{self.files[int(files[first])]} row {int(rows[first])}"
                self.errors.add(type_, f"{rel} row {row}: {value} also appears in {where}", rel, row, name)


_HEX = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i


def _unique_keys(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit keys for a column's non-null values, without a Python loop for 16-hex ids.

    A 16-hex id is its own value as uint64 (exact). Any other value (rare: it already breaks
    the id pattern) is keyed by an 8-byte BLAKE2b digest and flagged `hashed`, so the two key
    spaces never mix. Returns (keys, hashed, row indices within the column).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    lengths = pc.fill_null(pc.binary_length(column), -1).to_numpy(zero_copy_only=False)
    rows_all = np.arange(len(column), dtype=np.int64)
    fixed = lengths == 16
    keyed = np.zeros(len(column), bool)
    keys = np.zeros(0, np.uint64)
    key_rows = np.zeros(0, np.int64)
    if fixed.any():
        sub = column.filter(pa.array(fixed))
        width = np.int64 if pa.types.is_large_string(sub.type) else np.int32
        offsets = np.frombuffer(sub.buffers()[1], width)[sub.offset : sub.offset + len(sub) + 1]
        data = np.frombuffer(sub.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 16)
        nibbles = _HEX[data]
        good = (nibbles != 255).all(axis=1)
        keys = np.zeros(len(nibbles), np.uint64)
        for i in range(16):
            keys = (keys << np.uint64(4)) | nibbles[:, i].astype(np.uint64)
        keys, key_rows = keys[good], rows_all[fixed][good]
        keyed[key_rows] = True
    other = rows_all[(lengths >= 0) & ~keyed]
    other_keys = np.array(
        [int.from_bytes(hashlib.blake2b(column[int(r)].as_py().encode(), digest_size=8).digest(), "big") for r in other],
        np.uint64,
    )
    all_keys = np.concatenate([keys, other_keys])
    hashed = np.concatenate([np.zeros(len(keys), bool), np.ones(len(other_keys), bool)])
    return all_keys, hashed, np.concatenate([key_rows, other])


# -- card, croissant, data package -----------------------------------------------------------


def _card_dataset_info(data: dict) -> dict | None:
    info = data.get("dataset_info")
    if isinstance(info, list):
        info = next((i for i in info if isinstance(i, dict) and i.get("config_name", "default") == "default"), info[0] if info else None)
    return info if isinstance(info, dict) else None


def _check_card(folder: Path, inventory: Inventory, schema: TableSchema, scan: _Scan, manifest: dict | None,
                errors: _Errors) -> None:
    if CARD_FILE not in inventory.files:
        if CARD_FILE not in inventory.others:  # a link or FIFO is already reported as such
            errors.add("missing-file", "README.md (the data card) is missing", CARD_FILE)
        return
    from huggingface_hub import DatasetCard

    try:
        with open_regular(folder, CARD_FILE) as handle:
            text = read_bounded(handle, CARD_FILE).decode("utf-8", errors="replace")
    except FileTooLarge as exc:
        errors.add("file-too-large", str(exc), CARD_FILE)
        return
    except NotRegularFile as exc:
        errors.add("not-regular-file", str(exc), CARD_FILE)
        return
    except OSError as exc:
        errors.add("card-yaml", f"README.md cannot be read: {_reason(exc)}", CARD_FILE)
        return
    if not re.match(r"^\s*---\s*\n.*?\n---\s*(\n|$)", text, re.DOTALL):
        errors.add("card-yaml", "README.md has no YAML metadata header between '---' lines", CARD_FILE)
        return
    try:
        data = DatasetCard(text).data.to_dict()
    except Exception as exc:  # yaml.YAMLError, ValueError, RecursionError: the header is the dataset's fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errors.add("card-yaml", f"README.md's YAML header does not parse: {first}", CARD_FILE)
        return

    for key in ("license", "language", "pretty_name"):
        if not data.get(key):
            errors.add("card-metadata", f"README.md has no {key!r} in its metadata", CARD_FILE, field=key)
    card_languages = data.get("language")
    card_languages = sorted(map(str, card_languages if isinstance(card_languages, list) else [card_languages]))
    data_languages = sorted(scan.languages - {UNDETERMINED})
    if data.get("language") and not scan.corrupt and card_languages != data_languages:
        errors.add("card-metadata", f"README.md lists languages {card_languages}, the data has {data_languages}", CARD_FILE, field="language")
    if manifest is not None and data.get("version") and manifest.get("dataset_version") and str(data["version"]) != str(manifest["dataset_version"]):
        errors.add("card-metadata", f"README.md says version {data['version']}, manifest.json says {manifest['dataset_version']}", CARD_FILE, field="version")

    info = _card_dataset_info(data)
    if info is None:
        errors.add("card-features", "README.md has no dataset_info", CARD_FILE)
    else:
        _check_card_features(info.get("features"), schema, errors)
        _check_card_splits(info, scan, errors)
    _check_card_configs(inventory, data.get("configs"), manifest, errors)


def _check_card_features(features, schema: TableSchema, errors: _Errors) -> None:
    from dataset_tools.card.readme import _features_yaml

    expected = _features_yaml(schema)
    if features == expected:
        return
    if not isinstance(features, list):
        errors.add("card-features", "README.md's dataset_info.features is missing or not a list", CARD_FILE)
        return
    want = {f["name"]: f for f in expected}
    have = {f.get("name"): f for f in features if isinstance(f, dict)}
    for name, spec in want.items():
        if name not in have:
            errors.add("card-features", f"README.md's features lack {name!r}", CARD_FILE, field=name)
        elif have[name] != spec:
            shown = {k: v for k, v in have[name].items() if k != "name"}
            wanted = {k: v for k, v in spec.items() if k != "name"}
            errors.add("card-features", f"README.md's feature {name!r} is {shown}, the data has {wanted}", CARD_FILE, field=name)
    for name in have:
        if name not in want:
            errors.add("card-features", f"README.md's features have {name!r}, which the data does not", CARD_FILE, field=name)
    if [f.get("name") for f in features if isinstance(f, dict)] != list(want) and set(have) == set(want):
        errors.add("card-features", "README.md's features are not in the data's column order", CARD_FILE)


def _check_card_splits(info: dict, scan: _Scan, errors: _Errors) -> None:
    from dataset_tools.layout import DATA_GLOB

    if scan.corrupt:
        return  # sizes of an unreadable file are unknown; the corrupt file is already reported
    # The sizes `card.stats.split_sizes` gives, from the footers the scan read.
    shards = [sizes for rel, sizes in scan.sizes.items() if path_matches(rel, DATA_GLOB)]
    sizes = {"num_examples": sum(s[0] for s in shards), "num_bytes": sum(s[2] for s in shards),
             "download_size": sum(s[1] for s in shards)}
    splits = info.get("splits") or []
    by_name = {s.get("name"): s for s in splits if isinstance(s, dict)} if isinstance(splits, list) else {}
    train = by_name.get("train")
    if train is None:
        errors.add("card-splits", "README.md's dataset_info has no 'train' split", CARD_FILE)
    else:
        for key in ("num_examples", "num_bytes"):
            if train.get(key) != sizes[key]:
                errors.add("card-splits", f"README.md says train has {key}={train.get(key)}, the Parquet files have {sizes[key]}", CARD_FILE, field=key)
    for name in by_name:
        if name != "train":
            errors.add("card-splits", f"README.md lists a split {name!r} that has no data files", CARD_FILE)
    for key, actual in (("download_size", sizes["download_size"]), ("dataset_size", sizes["num_bytes"])):
        if key in info and info[key] != actual:
            errors.add("card-splits", f"README.md says {key}={info[key]}, the Parquet files have {actual}", CARD_FILE, field=key)


def _check_card_configs(inventory: Inventory, configs, manifest: dict | None, errors: _Errors) -> None:
    if not configs:
        errors.add("card-config", "README.md has no 'configs': the Hub cannot tell which files to load", CARD_FILE)
        return
    covered: set[str] = set()
    for config in configs if isinstance(configs, list) else []:
        name = config.get("config_name", "default") if isinstance(config, dict) else "?"
        entries = config.get("data_files") if isinstance(config, dict) else None
        if isinstance(entries, (str, dict)):
            entries = [entries]
        if not entries or not isinstance(entries, list):
            errors.add("card-config", f"README.md config {name!r} has no data_files", CARD_FILE)
            continue
        for entry in entries:
            patterns = entry.get("path") if isinstance(entry, dict) else entry
            split = entry.get("split", "train") if isinstance(entry, dict) else "train"
            for pattern in patterns if isinstance(patterns, list) else [patterns]:
                try:
                    matches = inventory.glob(relative_path(pattern))
                except UnsafePath as exc:
                    errors.add("unsafe-path", f"README.md config {name!r} split {split!r}: the path {exc}; it is not matched", CARD_FILE)
                    continue
                if not matches:
                    errors.add("card-config", f"README.md config {name!r} split {split!r} path {pattern!r} matches no file", CARD_FILE)
                covered.update(matches)
    for entry in (manifest or {}).get("data_files", []):
        if entry["path"] in inventory.files and entry["path"] not in covered:
            errors.add("card-config", f"{entry['path']} is not matched by any config in README.md", CARD_FILE)


def _manifest_repo(manifest: dict | None) -> str | None:
    named = (manifest or {}).get("dataset")
    repo = named.get("repo_id") if isinstance(named, dict) else None
    return repo if isinstance(repo, str) else None


def _check_repo_names(folder: Path, inventory: Inventory, repo_id: str | None, errors: _Errors) -> None:
    """The card files name `repo_id` and no other repo (see card/repo_names.py). A file that
    cannot be read is reported by its own check, not again here."""
    from dataset_tools.card.repo_names import card_repo_names, croissant_repo_names, other_repos

    if repo_id is None:
        return
    for rel in (CARD_FILE, CROISSANT_FILE):
        if rel not in inventory.files:
            continue
        try:
            with open_regular(folder, rel) as handle:
                data = read_bounded(handle, rel)
            named = (card_repo_names(data.decode("utf-8", errors="replace")) if rel == CARD_FILE
                     else croissant_repo_names(document) if isinstance(document := load_json(data, rel), dict) else [])
        except (OSError, ValueError):
            continue
        for where, other in other_repos(named, repo_id):
            errors.add("repo-mismatch", f"{rel}'s {where} names {other}, but the dataset is {repo_id}", rel, field=where)


def _check_croissant(folder: Path, inventory: Inventory, errors: _Errors) -> None:
    document = _read_metadata(folder, inventory, CROISSANT_FILE, errors, "croissant-invalid")
    if document is None:
        return
    if not isinstance(document, dict):
        errors.add("croissant-invalid", "croissant.json: not a JSON object", CROISSANT_FILE)
        return
    references = _jsonld_references(document)
    for where, reference in references:
        errors.add("external-reference", str(ExternalReference(CROISSANT_FILE, where, reference)), CROISSANT_FILE)
    _check_croissant_files(document, inventory, errors)
    if references:
        return  # mlcroissant's JSON-LD parser (rdflib) would fetch them
    import mlcroissant as mlc

    try:
        mlc.Dataset(jsonld=document)  # the document, not the path: mlcroissant would open it by path again
    except mlc.ValidationError as exc:
        for line in _issue_lines(str(exc)):
            errors.add("croissant-invalid", f"croissant.json: {line}", CROISSANT_FILE)
    except Exception as exc:  # mlcroissant fails on malformed metadata
        errors.add("croissant-invalid", f"croissant.json: {type(exc).__name__}: {_reason(exc)}", CROISSANT_FILE)


def _jsonld_references(document: dict) -> list[tuple[str, object]]:
    """Every JSON-LD context the document loads from elsewhere: an `@context` (at any level,
    term definitions included) that is or lists a string, and every `@import`. rdflib fetches
    those by URL or opens them as local paths."""
    found = []
    stack: list = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        context = item.get("@context")
        for value in context if isinstance(context, list) else [context]:
            if isinstance(value, str):
                found.append(("the JSON-LD @context", value))
        if "@import" in item:
            found.append(("the JSON-LD @import", item["@import"]))
        stack.extend(item.values())
    return found


def _check_croissant_files(document: dict, inventory: Inventory, errors: _Errors) -> None:
    """The distribution's FileObject `contentUrl`s and FileSet `includes` are paths inside the folder."""
    distribution = document.get("distribution")
    for item in distribution if isinstance(distribution, list) else []:
        if not isinstance(item, dict):
            continue
        for key in ("contentUrl", "includes"):
            values = item.get(key)
            for value in values if isinstance(values, list) else [] if values is None else [values]:
                try:
                    matches = inventory.glob(relative_path(value))
                except UnsafePath as exc:
                    errors.add("unsafe-path", f"croissant.json {key}: the path {exc}; it is not opened", CROISSANT_FILE)
                    continue
                if not matches:
                    errors.add("croissant-invalid", f"croissant.json: {key} {value!r} names no file in the folder", CROISSANT_FILE)


def _issue_lines(text: str) -> list[str]:
    """mlcroissant's error text as one line per issue (it lists them after a header)."""
    lines = [line.strip().lstrip("-").strip() for line in text.splitlines()]
    issues = [line for line in lines if line and not line.lower().startswith(("found the following", "errors", "warnings"))]
    return issues or [text.strip()]


# The profiles frictionless knows without fetching anything; any other is a URL or path it would
# fetch or open (even "fiscal-data-package" stands for a URL).
_PACKAGE_PROFILES = frozenset({"data-package", "tabular-data-package"})
_RESOURCE_PROFILES = frozenset({"data-resource", "tabular-data-resource"})


def _check_datapackage(folder: Path, inventory: Inventory, schema: TableSchema, errors: _Errors) -> None:
    """The descriptor by frictionless' own metadata validation, its resource schema against
    schemas/, and its resource paths. The rows are not re-read through frictionless: its
    cell-by-cell reader rejects Parquet list columns and is slow; the column-wise scan above
    already checks every row against the same Table Schema."""
    descriptor = _read_metadata(folder, inventory, DATAPACKAGE_FILE, errors, "datapackage-invalid")
    if descriptor is None:
        return
    if not isinstance(descriptor, dict):
        errors.add("datapackage-invalid", "datapackage.json is not a JSON object", DATAPACKAGE_FILE)
        return
    offline = copy.deepcopy(descriptor)
    for where, reference in _remove_profiles(offline):
        errors.add("external-reference", str(ExternalReference(DATAPACKAGE_FILE, where, reference)), DATAPACKAGE_FILE)
    for message in _frictionless_messages(offline):
        errors.add("datapackage-invalid", f"datapackage.json: {message}", DATAPACKAGE_FILE)
    from dataset_tools.card.datapackage import resource_schema

    # Compared with the schema as the Data Package must declare it (list fields as `any`).
    want = [(f["name"], f["type"]) for f in resource_schema(schema).get("fields", [])]
    resources = descriptor.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        table_schema = resource.get("schema")
        if isinstance(table_schema, dict) and isinstance(table_schema.get("fields", []), list):
            have = [(f.get("name"), f.get("type")) for f in table_schema.get("fields", []) if isinstance(f, dict)]
            for problem in _field_list_differences(have, want):
                errors.add("datapackage-invalid", f"datapackage.json resource {resource.get('name', '?')!r}: {problem}", DATAPACKAGE_FILE)
        paths = resource.get("path")
        for rel in paths if isinstance(paths, list) else [paths] if paths is not None else []:
            try:
                relative_path(rel)
            except UnsafePath as exc:
                errors.add("unsafe-path", f"datapackage.json resource path: the path {exc}; it is not opened", DATAPACKAGE_FILE)
                continue
            if rel not in inventory.files:
                errors.add("datapackage-invalid", f"datapackage.json resource path {rel!r} does not exist", DATAPACKAGE_FILE)


def _remove_profiles(descriptor: dict) -> list[tuple[str, object]]:
    """Take out of `descriptor` every profile frictionless would fetch by URL or open as a
    local path (resolved against the working directory, not the folder); return them."""
    found = []
    if "profile" in descriptor and descriptor["profile"] not in _PACKAGE_PROFILES:
        found.append(("the package profile", descriptor.pop("profile")))
    resources = descriptor.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and "profile" in resource and resource["profile"] not in _RESOURCE_PROFILES:
            found.append((f"resource {resource.get('name', '?')!r} profile", resource.pop("profile")))
    return found


def _frictionless_messages(descriptor: dict) -> list[str]:
    """frictionless' metadata errors for the descriptor, with an HTTP session that sends
    nothing, so no URL a check missed can be fetched either."""
    import requests
    from frictionless import FrictionlessException, Package, system

    class Offline(requests.Session):
        def request(self, method, url, *args, **kwargs):
            raise ConnectionRefusedError("validate fetches nothing")

    # use_context restores the session only when its block ends normally: nothing may escape it.
    with system.use_context(trusted=False, http_session=Offline()):
        try:
            return [error.message for error in Package.metadata_validate(descriptor)]
        except FrictionlessException as exc:
            return [exc.error.message]
        except Exception as exc:  # frictionless trips over some malformed descriptors
            return [f"frictionless cannot check it: {type(exc).__name__}"]


def _field_list_differences(have: list[tuple], want: list[tuple]) -> list[str]:
    have_types, want_types = dict(have), dict(want)
    out = [f"field {name!r} of schemas/ is missing" for name in want_types if name not in have_types]
    out += [f"field {name!r} is not in schemas/" for name in have_types if name not in want_types]
    out += [
        f"field {name!r} is {have_types[name]}, schemas/ says {kind}"
        for name, kind in want_types.items()
        if name in have_types and have_types[name] != kind
    ]
    if not out and [n for n, _ in have] != [n for n, _ in want]:
        out.append("fields are not in the order of schemas/")
    return out
