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

A broken dataset never raises: a corrupt file is an error entry. Memory is bounded by a few
row groups plus 15 bytes per row for the uniqueness check (ids kept as uint64 in numpy).
`validate_target(target, settings)` accepts a folder or `namespace/name[@revision]` on the
Hub (downloaded with `huggingface_hub.snapshot_download`, which honours HF_ENDPOINT and
HF_TOKEN) and runs the same checks on the downloaded files.

Row numbers in errors are 0-based row indices within the named Parquet file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_tools.errors import InputNotFound
from dataset_tools.fileio import read_json_listing_head, sha256_file
from dataset_tools.iso639 import UNDETERMINED
from dataset_tools.schema import TableSchema, check_batch

MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.json"
CARD_FILE = "README.md"
CROISSANT_FILE = "croissant.json"
DATAPACKAGE_FILE = "datapackage.json"
DATA_DIR = "data"
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
    "row-count-mismatch": "a Parquet file's row count differs from the one in manifest.json",
    "unlisted-file": "a data file that manifest.json does not list",
    "missing-file": "a file that should be there is missing",
    "manifest-invalid": "manifest.json cannot be read or lacks its lists",
    "report-mismatch": "report.json's counts do not add up, or its row count differs from the Parquet files'",
    "card-yaml": "the card's YAML header is missing or does not parse",
    "card-features": "the card's dataset_info.features differ from the schema's features",
    "card-splits": "the card's split sizes differ from the Parquet files",
    "card-config": "the card's configs point at no file, or miss a data file",
    "card-metadata": "required card metadata (license, language, pretty_name) is missing or wrong",
    "croissant-invalid": "croissant.json fails mlcroissant's validation",
    "datapackage-invalid": "datapackage.json fails frictionless' validation",
    "near-duplicate-target": "a near_duplicate_of names no row of the dataset",
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
    from dataset_tools.sources import open_dataset

    with open_dataset(target) as folder:
        return validate_dataset(folder, schema, source=str(target))


# -- the checks ------------------------------------------------------------------------------


def validate_dataset(folder: Path, schema: TableSchema, *, source: str | None = None) -> Report:
    """Check a built dataset folder against the table schema, its manifest and its card.

    Args:
        folder: the dataset folder (as `build` writes it, or a downloaded Hub revision).
        schema: the table schema to validate against (the project's `schemas/`).
        source: how to name the dataset in the report (default: the folder).

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
    manifest = _check_manifest(folder, schema, errors)
    parquet = _data_files_present(folder)
    listed = [entry["path"] for entry in manifest["data_files"]] if manifest else []
    for rel in parquet | {p for p in _present(folder, DATA_DIR)}:
        if manifest is not None and rel not in listed:
            errors.add("unlisted-file", f"{rel} is a data file that manifest.json does not list", rel)

    scan = _Scan(schema, errors)
    for rel in sorted(parquet | {p for p in listed if (folder / p).is_file()}):
        scan.check_file(folder, rel)
    scan.check_shards()
    scan.check_unique()
    _check_near_duplicate_targets(folder, [rel for rel in scan.files if rel not in scan.corrupt], errors)
    if manifest is not None:
        for entry in manifest["data_files"]:
            rows = scan.rows_by_file.get(entry["path"])
            if rows is not None and "rows" in entry and rows != entry["rows"]:
                errors.add("row-count-mismatch", f"{entry['path']} has {rows} rows, manifest.json says {entry['rows']}", entry["path"])
    _check_report(folder, sum(scan.rows_by_file.values()), bool(scan.corrupt), errors)
    _check_card(folder, schema, scan, manifest, errors)
    _check_croissant(folder, errors)
    _check_datapackage(folder, schema, errors)
    listed_errors = errors.finish()
    stats = {"files": len(scan.rows_by_file) + len(scan.corrupt), "rows": sum(scan.rows_by_file.values()), "errors": errors.total}
    return Report(source or str(folder), not listed_errors, stats, listed_errors)


def _present(folder: Path, sub: str) -> set[str]:
    base = folder / sub
    if not base.is_dir():
        return set()
    return {p.relative_to(folder).as_posix() for p in base.rglob("*") if p.is_file()}


def _data_files_present(folder: Path) -> set[str]:
    """Every Parquet file in the folder, hidden folders (.cache of a Hub download) excepted."""
    found = set()
    for path in folder.rglob("*.parquet"):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.add(rel.as_posix())
    return found


def _check_report(folder: Path, rows: int, corrupt: bool, errors: _Errors) -> None:
    """report.json accounts for every input: its counts add up to the inputs, and its row count
    is the number of rows in the Parquet files. (Only its head is read, not the list of files.)"""
    path = folder / REPORT_FILE
    if not path.is_file():
        return  # a build always writes it; manifest.json lists it, so its absence is reported there
    try:
        counts = read_json_listing_head(path, "files").get("counts") or {}
        inputs, rows_said = int(counts["inputs"]), int(counts["rows"])
        lost = sum(int(counts[key]) for key in ("duplicates", "superseded", "rejected")) + int(counts.get("near_duplicates", 0))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        errors.add("report-mismatch", f"report.json has no readable counts: {exc}", REPORT_FILE)
        return
    if rows_said + lost != inputs:
        errors.add(
            "report-mismatch",
            f"report.json accounts for {rows_said + lost} of its {inputs} inputs (rows + duplicates + superseded + rejected + near-duplicates)",
            REPORT_FILE,
        )
    if not corrupt and rows_said != rows:
        errors.add("report-mismatch", f"report.json says {rows_said} rows, the Parquet files hold {rows}", REPORT_FILE)


def _check_manifest(folder: Path, schema: TableSchema, errors: _Errors) -> dict | None:
    """Read manifest.json and check its hashes; None when it is missing or unreadable."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        errors.add("missing-file", "manifest.json is missing: the files cannot be checked against it", MANIFEST_FILE)
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        for key in ("data_files", "files"):
            entries = manifest.get(key)
            if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str) for e in entries):
                raise ValueError(f"'{key}' is not a list of entries with a path")
    except (ValueError, UnicodeDecodeError) as exc:
        errors.add("manifest-invalid", f"manifest.json cannot be read: {exc}", MANIFEST_FILE)
        return None
    recorded = (manifest.get("schema") or {}).get("sha256")
    if recorded != schema.sha256:
        errors.add(
            "schema-hash",
            f"the dataset was built with schema sha256 {recorded}, but {schema.path.name} has sha256 {schema.sha256}",
            MANIFEST_FILE,
        )
    for key in ("data_files", "files"):
        for entry in manifest[key]:
            rel = entry["path"]
            target = folder / rel
            if not target.is_file():
                errors.add("missing-file", f"{rel} is listed in manifest.json but missing", rel)
                continue
            if "sha256" in entry:
                actual = sha256_file(target)
                if actual != entry["sha256"]:
                    errors.add("hash-mismatch", f"{rel} has sha256 {actual}, manifest.json says {entry['sha256']}", rel)
    return manifest


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

    def check_file(self, folder: Path, rel: str) -> None:
        try:
            # No pre-buffering: one column chunk in memory at a time, not a whole row group's.
            handle = pq.ParquetFile(folder / rel, pre_buffer=False)
            actual = handle.schema_arrow
        except Exception as exc:  # any reader failure is the file's fault, not ours
            self.corrupt.add(rel)
            self.errors.add("corrupt-file", f"{rel} cannot be read as Parquet: {exc}", rel)
            return
        self.schemas[rel] = actual
        differences = _schema_differences(actual, self.expected)
        for type_, name, message in differences:
            self.errors.add(type_, f"{rel}: {message}", rel, field=name)
        if not differences:
            self._check_features_metadata(rel, actual)
        file_index = len(self.files)
        self.files.append(rel)
        columns = [n for n in self.schema.names if n in actual.names]
        offset = 0
        try:
            with handle:
                for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                    self._check_batch(rel, file_index, batch, offset)
                    offset += batch.num_rows
        except Exception as exc:
            self.corrupt.add(rel)
            self.errors.add("corrupt-file", f"{rel} cannot be read after row {offset}: {exc}", rel)
            return
        self.rows_by_file[rel] = offset

    def _check_features_metadata(self, rel: str, actual: pa.Schema) -> None:
        raw = (actual.metadata or {}).get(b"huggingface")
        expected = self.schema.features.to_dict()
        try:
            features = json.loads(raw)["info"]["features"] if raw else None
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


def _check_near_duplicate_targets(folder: Path, files: list[str], errors: _Errors) -> None:
    """Every `near_duplicate_of` names the id of a row of the dataset. Memory: 8 bytes per row
    and 16 per link (ids as uint64, see `_unique_keys`)."""
    ids, links = [], []  # links: (file, rows, target keys)
    for rel in files:
        parquet = pq.ParquetFile(folder / rel)
        if "near_duplicate_of" not in parquet.schema_arrow.names:
            return  # the missing column is reported by the schema checks
        offset = 0
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=["id", "near_duplicate_of"]):
            ids.append(_unique_keys(batch.column(0))[0])
            keys, hashed, rows = _unique_keys(batch.column(1))
            links.append((rel, rows[~hashed] + offset, keys[~hashed]))
            links.append((rel, rows[hashed] + offset, None))  # not an id at all (also a constraint error)
            offset += batch.num_rows
    known = np.sort(np.concatenate(ids)) if ids else np.zeros(0, np.uint64)
    for rel, rows, keys in links:
        if keys is not None and len(known):
            at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
            rows, keys = rows[known[at] != keys], keys[known[at] != keys]
        for i, row in enumerate(rows.tolist()):
            shown = f"{int(keys[i]):016x}" if keys is not None else "(not an id)"
            errors.add("near-duplicate-target", f"{rel} row {row}: near_duplicate_of {shown} is the id of no row", rel, row, "near_duplicate_of")


# -- card, croissant, data package -----------------------------------------------------------


def _card_dataset_info(data: dict) -> dict | None:
    info = data.get("dataset_info")
    if isinstance(info, list):
        info = next((i for i in info if isinstance(i, dict) and i.get("config_name", "default") == "default"), info[0] if info else None)
    return info if isinstance(info, dict) else None


def _check_card(folder: Path, schema: TableSchema, scan: _Scan, manifest: dict | None, errors: _Errors) -> None:
    path = folder / CARD_FILE
    if not path.is_file():
        errors.add("missing-file", "README.md (the data card) is missing", CARD_FILE)
        return
    from huggingface_hub import DatasetCard

    text = path.read_text(encoding="utf-8", errors="replace")
    if not re.match(r"^\s*---\s*\n.*?\n---\s*(\n|$)", text, re.DOTALL):
        errors.add("card-yaml", "README.md has no YAML metadata header between '---' lines", CARD_FILE)
        return
    try:
        data = DatasetCard(text).data.to_dict()
    except Exception as exc:  # yaml.YAMLError or ValueError: the header is the dataset's fault
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errors.add("card-yaml", f"README.md's YAML header does not parse: {first}", CARD_FILE)
        return

    for key in ("license", "language", "pretty_name"):
        if not data.get(key):
            errors.add("card-metadata", f"README.md has no {key!r} in its metadata", CARD_FILE, field=key)
    card_languages = data.get("language")
    card_languages = [card_languages] if isinstance(card_languages, str) else card_languages
    data_languages = sorted(scan.languages - {UNDETERMINED})
    if card_languages and not scan.corrupt and sorted(card_languages) != data_languages:
        errors.add("card-metadata", f"README.md lists languages {sorted(card_languages)}, the data has {data_languages}", CARD_FILE, field="language")
    if manifest is not None and data.get("version") and manifest.get("dataset_version") and str(data["version"]) != str(manifest["dataset_version"]):
        errors.add("card-metadata", f"README.md says version {data['version']}, manifest.json says {manifest['dataset_version']}", CARD_FILE, field="version")

    info = _card_dataset_info(data)
    if info is None:
        errors.add("card-features", "README.md has no dataset_info", CARD_FILE)
    else:
        _check_card_features(info.get("features"), schema, errors)
        _check_card_splits(folder, info, scan, errors)
    _check_card_configs(folder, data.get("configs"), manifest, errors)


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


def _check_card_splits(folder: Path, info: dict, scan: _Scan, errors: _Errors) -> None:
    from dataset_tools.card.stats import split_sizes

    if scan.corrupt:
        return  # sizes of an unreadable file are unknown; the corrupt file is already reported
    try:
        sizes = split_sizes(folder)
    except Exception:
        return
    splits = info.get("splits") or []
    by_name = {s.get("name"): s for s in splits if isinstance(s, dict)}
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


def _check_card_configs(folder: Path, configs, manifest: dict | None, errors: _Errors) -> None:
    if not configs:
        errors.add("card-config", "README.md has no 'configs': the Hub cannot tell which files to load", CARD_FILE)
        return
    covered: set[str] = set()
    for config in configs if isinstance(configs, list) else []:
        name = config.get("config_name", "default") if isinstance(config, dict) else "?"
        entries = config.get("data_files") if isinstance(config, dict) else None
        if isinstance(entries, (str, dict)):
            entries = [entries]
        if not entries:
            errors.add("card-config", f"README.md config {name!r} has no data_files", CARD_FILE)
            continue
        for entry in entries:
            patterns = entry.get("path") if isinstance(entry, dict) else entry
            split = entry.get("split", "train") if isinstance(entry, dict) else "train"
            for pattern in [patterns] if isinstance(patterns, str) else (patterns or []):
                matches = [p for p in folder.glob(pattern) if p.is_file()] if not Path(pattern).is_absolute() and ".." not in pattern else []
                if not matches:
                    errors.add("card-config", f"README.md config {name!r} split {split!r} path {pattern!r} matches no file", CARD_FILE)
                covered.update(p.relative_to(folder).as_posix() for p in matches)
    for entry in (manifest or {}).get("data_files", []):
        if (folder / entry["path"]).is_file() and entry["path"] not in covered:
            errors.add("card-config", f"{entry['path']} is not matched by any config in README.md", CARD_FILE)


def _check_croissant(folder: Path, errors: _Errors) -> None:
    path = folder / CROISSANT_FILE
    if not path.is_file():
        return
    import mlcroissant as mlc

    try:
        json.loads(path.read_text(encoding="utf-8"))
        mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        for line in _issue_lines(str(exc)):
            errors.add("croissant-invalid", f"croissant.json: {line}", CROISSANT_FILE)
    except Exception as exc:  # not JSON, or mlcroissant fails on malformed metadata
        errors.add("croissant-invalid", f"croissant.json: {type(exc).__name__}: {exc}", CROISSANT_FILE)


def _issue_lines(text: str) -> list[str]:
    """mlcroissant's error text as one line per issue (it lists them after a header)."""
    lines = [line.strip().lstrip("-").strip() for line in text.splitlines()]
    issues = [line for line in lines if line and not line.lower().startswith(("found the following", "errors", "warnings"))]
    return issues or [text.strip()]


def _check_datapackage(folder: Path, schema: TableSchema, errors: _Errors) -> None:
    """The descriptor by frictionless' own metadata validation, its resource schema against
    schemas/, and its resource paths. The rows are not re-read through frictionless: its
    cell-by-cell reader rejects Parquet list columns and is slow; the column-wise scan above
    already checks every row against the same Table Schema."""
    path = folder / DATAPACKAGE_FILE
    if not path.is_file():
        return
    from frictionless import FrictionlessException, Package

    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        errors.add("datapackage-invalid", f"datapackage.json is not valid JSON: {exc}", DATAPACKAGE_FILE)
        return
    if not isinstance(descriptor, dict):
        errors.add("datapackage-invalid", "datapackage.json is not a JSON object", DATAPACKAGE_FILE)
        return
    try:
        for error in Package.metadata_validate(descriptor):
            errors.add("datapackage-invalid", f"datapackage.json: {error.message}", DATAPACKAGE_FILE)
    except FrictionlessException as exc:
        errors.add("datapackage-invalid", f"datapackage.json: {exc.error.message}", DATAPACKAGE_FILE)
    from dataset_tools.card.datapackage import resource_schema

    # Compared with the schema as the Data Package must declare it (list fields as `any`).
    want = [(f["name"], f["type"]) for f in resource_schema(schema).get("fields", [])]
    for resource in descriptor.get("resources") or []:
        table_schema = resource.get("schema") if isinstance(resource, dict) else None
        if isinstance(table_schema, dict):
            have = [(f.get("name"), f.get("type")) for f in table_schema.get("fields", []) if isinstance(f, dict)]
            for problem in _field_list_differences(have, want):
                errors.add("datapackage-invalid", f"datapackage.json resource {resource.get('name', '?')!r}: {problem}", DATAPACKAGE_FILE)
        paths = resource.get("path") if isinstance(resource, dict) else None
        for rel in [paths] if isinstance(paths, str) else (paths or []):
            if isinstance(rel, str) and not rel.startswith(("http://", "https://")) and not (folder / rel).is_file():
                errors.add("datapackage-invalid", f"datapackage.json resource path {rel!r} does not exist", DATAPACKAGE_FILE)


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
