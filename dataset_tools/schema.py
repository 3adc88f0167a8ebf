"""`schemas/*.schema.json` (Frictionless Table Schema) -> Arrow schema, `datasets.Features`, checks.

The table schema is the single source of truth. The Arrow schema that Parquet is written with
and the `datasets.Features` in the card are derived from it here and nowhere else.

Type mapping (Table Schema -> Arrow -> datasets):

    string                    -> string                 -> Value("string")
    integer                   -> int32                  -> Value("int32")
    number                    -> float64                -> Value("float64")
    boolean                   -> bool                   -> Value("bool")
    date                      -> date32                 -> Value("date32")
    datetime                  -> timestamp[us, UTC]     -> Value("timestamp[us, tz=UTC]")
    array (arrayItem: string) -> list<string>           -> List(Value("string"))

A field is non-nullable exactly when `constraints.required` is true.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.errors import SchemaError, SchemaNotFound
from dataset_tools.iso639 import ISO_639_1, UNDETERMINED

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int32(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}

# Timestamps outside this window are data errors, not news (the web's first news sites to
# the end of the century); fixed so that validation never depends on the clock.
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FieldSpec:
    """One column as the table schema describes it."""

    name: str
    type: str
    description: str
    arrow_type: pa.DataType
    required: bool
    unique: bool
    pattern: str | None
    min_length: int | None
    minimum: float | None
    maximum: float | None
    enum: tuple | None


@dataclass(frozen=True)
class TableSchema:
    """A loaded table schema: its fields, its descriptor and the SHA-256 of its file's bytes."""

    path: Path
    descriptor: dict
    fields: tuple[FieldSpec, ...]
    sha256: str

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @cached_property
    def hf_features(self) -> dict:
        """The row's `datasets.Features` in their dict form (`Features.to_dict()`), built without
        importing `datasets` (a second of start-up the build does not need to pay);
        tests/test_schema.py proves it equals what `datasets` derives from the Arrow types."""
        return {f.name: _hf_feature(f.arrow_type) for f in self.fields}

    @cached_property
    def features(self):
        """The `datasets.Features` of a row."""
        from datasets import Features

        return Features.from_dict(self.hf_features)

    @cached_property
    def features_yaml(self) -> list[dict]:
        """`dataset_info.features` as a Hub card states them (the form `DatasetInfo` writes)."""
        out = []
        for name, feature in self.hf_features.items():
            if feature["_type"] == "List":
                out.append({"name": name, "list": feature["feature"]["dtype"]})
            else:
                out.append({"name": name, "dtype": feature["dtype"]})
        return out

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema Parquet files are written with: types, nullability and the
        `huggingface` metadata key that `datasets` reads its features from."""
        hf_meta = json.dumps({"info": {"features": self.hf_features}}, sort_keys=True)
        return pa.schema(
            [pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields],
            metadata={"huggingface": hf_meta},
        )


_HF_DTYPES = {
    pa.string(): "string",
    pa.int32(): "int32",
    pa.float64(): "float64",
    pa.bool_(): "bool",
    pa.date32(): "date32",
    pa.timestamp("us", tz="UTC"): "timestamp[us, tz=UTC]",
}


def _hf_feature(arrow_type: pa.DataType) -> dict:
    if pa.types.is_list(arrow_type):
        return {"feature": _hf_feature(arrow_type.value_type), "_type": "List"}
    return {"dtype": _HF_DTYPES[arrow_type], "_type": "Value"}


def load_table_schema(path: Path, *, frictionless: bool = True) -> TableSchema:
    """Load and check a Frictionless Table Schema file.

    With `frictionless=False` the descriptor is not run through frictionless' own metadata
    validation (the build skips it: importing frictionless and pandas costs every build and
    every worker a second; `validate` and the tests run it). The checks the tool itself needs
    (known types, names, descriptions) always run.

    Raises:
        SchemaError: the file is missing, not valid Table Schema, or uses an unmapped type.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaNotFound(path) from None
    except OSError as exc:  # a folder, no permission
        raise SchemaError(f"cannot read schema file {path}: {exc.strerror}", path=path) from None
    try:
        descriptor = json.loads(raw)
    except ValueError as exc:
        raise SchemaError(f"schema file {path} is not valid JSON: {exc}", path=path) from None
    if frictionless:
        _check_with_frictionless(descriptor, path)
    specs = []
    for item in descriptor.get("fields", []):
        constraints = item.get("constraints", {})
        specs.append(
            FieldSpec(
                name=item["name"],
                type=item["type"],
                description=item.get("description", ""),
                arrow_type=_arrow_type(item, path),
                required=bool(constraints.get("required", False)),
                unique=bool(constraints.get("unique", False)),
                pattern=constraints.get("pattern"),
                min_length=constraints.get("minLength"),
                minimum=constraints.get("minimum"),
                maximum=constraints.get("maximum"),
                enum=tuple(constraints["enum"]) if "enum" in constraints else None,
            )
        )
    if not specs:
        raise SchemaError(f"schema file {path} has no fields", path=path)
    missing = [spec.name for spec in specs if not spec.description]
    if missing:
        raise SchemaError(f"schema file {path}: field(s) without a description: {', '.join(missing)}", path=path)
    return TableSchema(path=path, descriptor=descriptor, fields=tuple(specs), sha256=hashlib.sha256(raw).hexdigest())


_LOADED: dict[str, TableSchema] = {}


def worker_table_schema(path: str | Path) -> TableSchema:
    """`load_table_schema(path, frictionless=False)`, loaded once per process: a build's tasks
    each name the schema by path, and a worker runs many of them."""
    key = str(path)
    if key not in _LOADED:
        _LOADED[key] = load_table_schema(Path(path), frictionless=False)
    return _LOADED[key]


def _check_with_frictionless(descriptor: dict, path: Path) -> None:
    from frictionless import Schema
    from frictionless.exception import FrictionlessException

    try:
        Schema.from_descriptor(descriptor)
    except FrictionlessException as exc:
        errors = "; ".join(error.message for error in exc.reasons) or str(exc.error.message)
        raise SchemaError(f"schema file {path} is not a valid Table Schema: {errors}", path=path) from None


def _arrow_type(item: dict, path: Path) -> pa.DataType:
    kind = item.get("type", "any")
    if kind == "array":
        inner = item.get("arrayItem", {}).get("type", "string")
        if inner not in _SCALARS:
            raise SchemaError(f"schema file {path}: field {item['name']!r}: unsupported arrayItem type {inner!r}", path=path)
        return pa.list_(_SCALARS[inner])
    if kind not in _SCALARS:
        raise SchemaError(f"schema file {path}: field {item['name']!r}: unsupported type {kind!r}", path=path)
    return _SCALARS[kind]


@dataclass(frozen=True, slots=True)
class Violation:
    """A row that breaks a constraint: row index within the checked batch, field, code, message."""

    row: int
    field: str
    code: str
    message: str


def check_batch(batch: pa.RecordBatch | pa.Table, schema: TableSchema, *, limit_per_check: int = 20) -> list[Violation]:
    """Check a batch's values against the schema's field constraints, column-wise.

    Uniqueness across batches is the caller's business (it needs state across batches); this
    checks required, pattern, minLength, minimum/maximum and enum, plus the table rules the
    schema implies for articles: a required text is not blank (whitespace only), `language` is
    an ISO 639-1 code or `und`, timestamps are in a sane range and `modified_at >= published_at`.
    At most `limit_per_check` violations are listed per (field, check), so a broken file of a
    million rows does not make a million messages.
    """
    out: list[Violation] = []
    names = set(batch.schema.names)

    def report(mask: pa.Array, spec_name: str, code: str, message: str) -> None:
        indices = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
        for row in indices[:limit_per_check]:
            out.append(Violation(row, spec_name, code, message))

    for spec in schema.fields:
        if spec.name not in names:
            continue
        column = batch.column(spec.name)
        if spec.required and column.null_count:
            report(pc.is_null(column), spec.name, "required", f"{spec.name} is null but required")
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if spec.pattern:
                ok = pc.match_substring_regex(column, f"^(?:{spec.pattern})$")
                report(pc.invert(ok), spec.name, "pattern", f"{spec.name} does not match the pattern {spec.pattern!r}")
            if spec.min_length is not None:
                short = pc.less(pc.utf8_length(column), spec.min_length)
                report(short, spec.name, "min-length", f"{spec.name} is shorter than {spec.min_length} characters")
            if spec.required and spec.min_length:
                report(pc.utf8_is_space(column), spec.name, "blank", f"{spec.name} is blank (whitespace only)")
            if spec.name == "language":
                known = pc.is_in(column, pa.array(sorted(ISO_639_1 | {UNDETERMINED})))
                report(pc.invert(known), spec.name, "language-code", "language is not an ISO 639-1 code or 'und'")
            if spec.enum is not None:
                report(pc.invert(pc.is_in(column, pa.array(spec.enum))), spec.name, "enum", f"{spec.name} is not one of {list(spec.enum)}")
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            if spec.minimum is not None:
                report(pc.less(column, spec.minimum), spec.name, "minimum", f"{spec.name} is below {spec.minimum}")
            if spec.maximum is not None:
                report(pc.greater(column, spec.maximum), spec.name, "maximum", f"{spec.name} is above {spec.maximum}")
        if pa.types.is_timestamp(column.type):
            low = pa.scalar(EARLIEST, type=column.type)
            high = pa.scalar(LATEST, type=column.type)
            outside = pc.or_(pc.less(column, low), pc.greater_equal(column, high))
            report(outside, spec.name, "timestamp-range", f"{spec.name} is outside {EARLIEST:%Y}-{LATEST:%Y}")
    if {"published_at", "modified_at"} <= names:
        earlier = pc.less(batch.column("modified_at"), batch.column("published_at"))
        report(earlier, "modified_at", "modified-before-published", "modified_at is earlier than published_at")
    out.sort(key=lambda v: (v.row, v.field))
    return out
